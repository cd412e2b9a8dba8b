"""How the engine drives load: the closed model's VU slots, the open model's arrivals, and
the breakpoint search's steps. A mixin of ``Engine`` (which owns the state these read), kept
apart so each module stays small; the scheduling maths itself is pure (shapes, arrivals,
breakpoint)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from time import monotonic
from typing import TYPE_CHECKING, Any

from loadgen.core.arrivals import ArrivalSchedule, RateStage
from loadgen.core.breakpoint import Search, judge_step
from loadgen.core.profile.model import Profile, Task
from loadgen.core.shapes import ClassAssigner, WeightedChoice, level_at
from loadgen.core.stats import Recorder
from loadgen.engine.steps import StepSource
from loadgen.engine.vu import VU, VUContext

if TYPE_CHECKING:
    pass

__all__ = ["Drivers"]

_TICK = 0.1  # how often the closed driver re-reads the plan (s)


class Drivers:
    """The load drivers; ``Engine`` provides the attributes annotated here."""

    profile: Profile
    seed: int
    segment: tuple[int, int]
    recorder: Recorder | None
    _vus: dict[asyncio.Task[None], VU]
    _inflight: set[asyncio.Task[None]]
    _users_by_class: Counter[str]
    _open_state: _OpenState | None
    _intervals: list[dict[str, Any]]
    _search: Search | None
    _bp_level: float
    steps: StepSource | None
    _stop: asyncio.Event

    async def _wait(self, deadline: float) -> bool:
        raise NotImplementedError

    def _vu_done(self, task: asyncio.Task[None]) -> None:
        raise NotImplementedError

    async def _drive_closed(
        self,
        ctx: VUContext,
        start: float,
        level: Callable[[float], float] | None = None,
        duration: float | None = None,
    ) -> None:
        """Keep the VUs on the stage plan until it ends or the run stops.

        VU slot k (1, 2, …) runs while the planned level is ≥ k, so ramping down stops the
        newest users first. Slot k's class comes from one global weighted sequence and its
        random choices from a seed of its own, so a segment (``--segment i/n`` runs slots
        with (k - 1) mod n = i - 1) makes exactly the choices the whole test would.
        """
        profile = self.profile
        assigner = ClassAssigner([u.weight for u in profile.users])
        classes: list[int] = []
        generation: Counter[int] = Counter()
        slots: dict[int, asyncio.Task[None]] = {}
        index, count = self.segment
        if duration is None:
            duration = profile.load.duration
        while True:
            elapsed = monotonic() - start
            if elapsed >= duration:
                return
            want = round(level(elapsed) if level is not None else level_at(profile.load, elapsed))
            while len(classes) < want:
                classes.append(assigner.next())
            for k in range(index + 1, want + 1, count):
                task = slots.get(k)
                if task is not None and not task.done() and not self._vus[task].stopping:
                    continue
                cls = profile.users[classes[k - 1]]
                self._users_by_class[cls.name] += 1
                gen = generation[k]
                generation[k] += 1
                vu = VU(
                    k,
                    cls,
                    ctx,
                    random.Random(f"{self.seed}:{k}:{gen}"),
                    tag=str(k) if gen == 0 else f"{k}.{gen}",
                )
                task = asyncio.create_task(vu.run(), name=f"vu-{k}")
                task.add_done_callback(self._vu_done)
                self._vus[task] = vu
                slots[k] = task
            for k in [k for k in slots if k > want]:
                task = slots.pop(k)
                if not task.done():
                    self._vus[task].stop()
            if await self._wait(min(monotonic() + _TICK, start + duration)):
                return

    async def _drive_open(
        self,
        ctx: VUContext,
        start: float,
        stages: list[RateStage] | None = None,
        start_rate: float | None = None,
        offset: float = 0.0,
    ) -> None:
        """Start each arrival at its scheduled time; never delay one silently (SPEC §1).

        An arrival that finds ``max_in_flight`` requests running is counted as dropped, or
        with ``queue: true`` waits for a slot with its latency still measured from ``t0``.
        ``stages``/``offset`` drive one step of a breakpoint search instead of the plan.
        """
        load = self.profile.load
        state = self._open_state or _OpenState(self, ctx)
        self._open_state = state
        if stages is None:
            stages = [RateStage(s.duration, s.target) for s in load.stages]
            start_rate = load.start
        schedule = ArrivalSchedule(
            stages,
            start_rate=start_rate or 0.0,
            process=load.arrival,
            burstiness=load.burstiness,
            rng=random.Random(state.rng.getrandbits(64)),
        )
        seg, count = self.segment
        while (due := schedule.next_due()) is not None:
            state.arrival += 1
            # Class and task are drawn for every arrival, so that segments agree with the
            # whole test; a segment then sends only its own arrivals (every count-th).
            runner, task_def = state.draw()
            if state.arrival % count != seg:
                continue
            t0 = start + offset + due
            if await self._wait(t0):
                return
            assert self.recorder is not None
            if len(self._inflight) >= state.max_in_flight and not load.queue:
                self.recorder.add_dropped()
                continue
            self.recorder.add_sent()
            task = asyncio.create_task(self._arrival(runner, task_def, t0, state, ctx))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _drive_breakpoint(self, ctx: VUContext, start: float) -> None:
        """Step the load up until the SLOs break (loadgen.core.breakpoint decides each next level).

        Each step holds its level for ``step_duration``; its verdict is judged on the interval
        records after the warm-up. Closed model: the VU driver follows the current level;
        open model: each step is a constant-rate schedule of its own."""
        spec = self.profile.breakpoint
        assert spec is not None
        if self.steps is not None:
            await self._follow_steps(ctx, start, self.steps)
            return
        search = self._search = Search(spec)
        closed = self.profile.load.model == "closed"
        async with self._at_breakpoint_level(ctx, start):
            while (level := search.next_level()) is not None:
                step_start = monotonic() - start
                # Steps start on whole seconds, so their windows are whole intervals.
                step_start = float(int(step_start + 0.999))
                if await self._wait(start + step_start):
                    return
                self._bp_level = level
                step_end = step_start + spec.step_duration
                if not closed:
                    await self._drive_open(
                        ctx, start, [RateStage(spec.step_duration, level)], level, offset=step_start
                    )
                stopped = await self._wait(start + step_end)
                await self._wait(monotonic() + 0.05)  # let the last interval close
                if stopped:
                    return
                step = judge_step(self._intervals, self.profile.slo, spec, step_start, step_end)
                search.record(level, step)

    async def _follow_steps(self, ctx: VUContext, start: float, steps: StepSource) -> None:
        """A part of a distributed search: run the levels the driver sends, judge nothing."""
        spec = self.profile.breakpoint
        assert spec is not None
        closed = self.profile.load.model == "closed"
        follow = asyncio.ensure_future(steps.next())
        try:
            async with self._at_breakpoint_level(ctx, start):
                while True:
                    stop = asyncio.ensure_future(self._stop.wait())
                    await asyncio.wait([follow, stop], return_when=asyncio.FIRST_COMPLETED)
                    stop.cancel()
                    if not follow.done():
                        return  # the run was stopped
                    step = follow.result()
                    if step is None:
                        return
                    level, step_start = step
                    follow = asyncio.ensure_future(steps.next())
                    if await self._wait(start + step_start):
                        return
                    self._bp_level = level
                    if not closed:
                        await self._drive_open(
                            ctx,
                            start,
                            [RateStage(spec.step_duration, level)],
                            level,
                            offset=step_start,
                        )
        finally:
            follow.cancel()

    @contextlib.asynccontextmanager
    async def _at_breakpoint_level(self, ctx: VUContext, start: float) -> AsyncIterator[None]:
        """Closed model: the VUs follow ``_bp_level`` until the block ends (open model: each
        step drives its own arrivals, nothing runs between them)."""
        self._bp_level = 0.0
        driver = None
        if self.profile.load.model == "closed":
            driver = asyncio.create_task(
                self._drive_closed(
                    ctx, start, level=lambda _: self._bp_level, duration=float("inf")
                )
            )
        try:
            yield
        finally:
            self._bp_level = 0.0
            if driver is not None:
                driver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await driver

    async def _arrival(
        self, runner: VU, task: Task | None, t0: float, state: _OpenState, ctx: VUContext
    ) -> None:
        async with state.slots:
            client = state.clients.pop() if state.clients else ctx.new_client()
            try:
                await runner.start_auth(client)
                if task is not None:
                    await runner.do_task(client, task, t0)
                else:  # a journey class: each arrival walks the whole journey
                    for step in runner.user_class.journey:
                        t0 = await runner.run_step(client, step, t0)
            finally:
                state.clients.append(client)


class _OpenState:
    """What the open model keeps across arrivals (and across breakpoint steps)."""

    def __init__(self, engine: Drivers, ctx: VUContext) -> None:
        profile = engine.profile
        seg, count = engine.segment
        self.rng = random.Random(engine.seed)
        self.assigner = ClassAssigner([u.weight for u in profile.users])
        # Request ids stay unique across segments: RUN-a{class}s{segment}-SEQ.
        self.runners = [
            VU(
                i,
                cls,
                ctx,
                random.Random(self.rng.getrandbits(64)),
                tag=f"a{i}" if count == 1 else f"a{i}s{seg + 1}",
            )
            for i, cls in enumerate(profile.users)
        ]
        self.choices = [
            WeightedChoice([t.weight for t in cls.tasks]) if cls.tasks else None
            for cls in profile.users
        ]
        self.max_in_flight = max(1, (profile.load.max_in_flight + count - 1 - seg) // count)
        self.slots = asyncio.Semaphore(self.max_in_flight)
        self.clients: list[Any] = []
        self.arrival = -1

    def draw(self) -> tuple[VU, Task | None]:
        index = self.assigner.next()
        runner = self.runners[index]
        choice = self.choices[index]
        if choice is None:
            return runner, None
        return runner, runner.user_class.tasks[choice.pick(runner.rng)]
