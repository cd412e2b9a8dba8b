"""The open model: arrivals at the arrival schedule's due times, whatever the server does."""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from loadgen.core.arrivals import ArrivalSchedule, RateStage
from loadgen.core.profile.model import Load, Task
from loadgen.core.shapes import ClassAssigner, WeightedChoice
from loadgen.core.steering import remaining
from loadgen.edge.transport import VUClient
from loadgen.engine.control import RunControl
from loadgen.engine.crowd import Crowd
from loadgen.engine.vu import VU, VUContext

__all__ = ["Arrivals", "OpenDriver", "OpenUsers", "Tally"]

Arrival = Callable[[float], Coroutine[Any, Any, None]]
"""One arrival drawn: call it with its intended start ``t0`` to serve it."""


class Arrivals(Protocol):
    """Who serves the arrivals (``OpenUsers``); kept across a breakpoint search's steps."""

    rng: random.Random  # seeds each schedule
    arrival: int  # arrivals drawn so far, minus one (every segment draws every one)
    max_in_flight: int  # this segment's share of ``load.max_in_flight``

    def draw(self) -> Arrival: ...


class Tally(Protocol):
    """Where arrivals are counted (``loadgen.core.stats.Recorder``)."""

    def add_sent(self) -> None: ...

    def add_dropped(self) -> None: ...


class OpenDriver:
    """Start each arrival at its scheduled time; never delay one silently (SPEC §1).

    An arrival that finds ``max_in_flight`` requests running is counted as dropped, or with
    ``queue: true`` starts anyway and waits for a slot (``OpenUsers``) with its latency still
    measured from ``t0``.
    """

    def __init__(
        self,
        *,
        load: Load,
        segment: tuple[int, int],
        arrivals: Arrivals,
        tally: Tally,
        crowd: Crowd,
        control: RunControl,
    ) -> None:
        self.load = load
        self.segment = segment
        self.arrivals = arrivals
        self.tally = tally
        self.crowd = crowd
        self.control = control

    async def drive(self, start: float) -> None:
        stages = [RateStage(s.duration, s.target) for s in self.load.stages]
        start_rate, offset, control = self.load.start, 0.0, self.control
        while True:  # once, unless the live page changes the rate: then a new schedule
            changes = control.changes
            await self.run_stages(start, stages, start_rate, offset, changes=changes)
            end = start + self.load.duration  # a schedule done early (held at 0/s) idles
            while (
                control.steering is not None
                and control.changes == changes
                and not control.stopping
                and control.run_clock.now() < end
            ):
                await control.wait(end)
            offset = control.run_clock.now() - start
            if control.stopping or control.changes == changes or offset >= self.load.duration:
                return
            start_rate, stages = remaining(self.load, offset)
            if control.steering is not None and control.steering.held is not None:
                held = control.steering.held
                start_rate, stages = held, [RateStage(self.load.duration - offset, held)]

    async def run_stages(
        self,
        start: float,
        stages: list[RateStage],
        start_rate: float,
        offset: float = 0.0,
        *,
        changes: int | None = None,
    ) -> None:
        """Follow ``stages`` from ``start + offset`` (a breakpoint step runs one stage);
        with ``changes``, return early once the live page changed the rate."""
        load, arrivals = self.load, self.arrivals
        schedule = ArrivalSchedule(
            stages,
            start_rate=start_rate,
            process=load.arrival,
            burstiness=load.burstiness,
            rng=random.Random(arrivals.rng.getrandbits(64)),
        )
        seg, count = self.segment
        while (due := schedule.next_due()) is not None:
            arrivals.arrival += 1
            # Class and task are drawn for every arrival, so that segments agree with the
            # whole test; a segment then sends only its own arrivals (every count-th).
            arrival = arrivals.draw()
            if arrivals.arrival % count != seg:
                continue
            t0 = start + offset + due
            if await self.control.wait(t0) or changes not in (None, self.control.changes):
                return
            if len(self.crowd.arrivals) >= arrivals.max_in_flight and not load.queue:
                self.tally.add_dropped()
                continue
            self.tally.add_sent()
            self.crowd.start_arrival(arrival(t0))


class OpenUsers:
    """One runner VU per class serving the arrivals, over a pool of reused clients."""

    def __init__(
        self,
        classes: Sequence[Any],
        ctx: VUContext,
        *,
        seed: int,
        segment: tuple[int, int],
        max_in_flight: int,
    ) -> None:
        seg, count = segment
        self.ctx = ctx
        self.rng = random.Random(seed)
        self.assigner = ClassAssigner([u.weight for u in classes])
        # Request ids stay unique across segments: RUN-a{class}s{segment}-SEQ.
        self.runners = [
            VU(
                i,
                cls,
                ctx,
                random.Random(self.rng.getrandbits(64)),
                tag=f"a{i}" if count == 1 else f"a{i}s{seg + 1}",
            )
            for i, cls in enumerate(classes)
        ]
        self.choices = [
            WeightedChoice([t.weight for t in cls.tasks]) if cls.tasks else None for cls in classes
        ]
        self.max_in_flight = max(1, (max_in_flight + count - 1 - seg) // count)
        self.slots = asyncio.Semaphore(self.max_in_flight)
        self.clients: list[VUClient] = []
        self.arrival = -1

    def draw(self) -> Arrival:
        index = self.assigner.next()
        runner = self.runners[index]
        choice = self.choices[index]
        task = None if choice is None else runner.user_class.tasks[choice.pick(runner.rng)]
        return functools.partial(self._serve, runner, task)

    async def _serve(self, runner: VU, task: Task | None, t0: float) -> None:
        async with self.slots:
            client = self.clients.pop() if self.clients else self.ctx.new_client()
            try:
                await runner.start_auth(client)
                if task is not None:
                    await runner.do_task(client, task, t0)
                else:  # a journey class: each arrival walks the whole journey
                    for step in runner.user_class.journey:
                        t0 = await runner.run_step(client, step, t0)
            finally:
                self.clients.append(client)

    async def aclose(self) -> None:
        """Close the pooled clients (after the drain)."""
        for client in self.clients:
            await client.aclose()
        self.clients.clear()
