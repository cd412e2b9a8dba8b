"""Segments as Ray actors across a cluster (``loadgen run PROFILE --ray auto|ADDRESS``).

Each actor runs one segment's ``Engine`` on the actor's own event loop (Ray's async actors
run uvloop when it is installed). The driver measures every actor's clock against its own by
round trips, gives each actor the agreed start time in that actor's clock, polls the actors
for their interval records (merged live, abort rules judged on the merged view), stops them
all when the run must end early, and gathers the results to merge them on its own clock.

Ray is optional (``pip install 'loadgen[ray]'``): this module imports it only when a run
starts, and says how to install it when it is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from loadgen.core.errors import StartError
from loadgen.core.live import Aborts, LiveMerge, split_thresholds
from loadgen.core.profile import Profile
from loadgen.core.result import Result
from loadgen.engine.distributed.parts import MergedRun, finish, start_target

__all__ = ["RayOptions", "RayRun", "SegmentActor", "measure_offset"]

_POLL = 0.5  # how often actors are polled (s)
_PINGS = 5  # round trips per actor for the clock offset
INSTALL_HINT = "install it with: pip install 'loadgen[ray]'"


@dataclass(frozen=True, kw_only=True)
class RayOptions:
    address: str  # "auto": a cluster on this machine if one runs, else a new local one
    seed: int
    actors: int | None = None  # default: one per CPU of the cluster
    out: Path | None = None
    users: int | None = None
    duration: float | None = None
    rate: float | None = None
    truth: str | None = None
    start_delay: float = 2.0  # after the actors answered their first ping
    connect_timeout: float = 60.0  # for actors to be placed and answer
    export: Any = None  # an ExportOptions (loadgen.engine.export): actor i serves on port + i - 1


class SegmentActor:
    """One segment's engine inside a Ray actor (made remote by ``RayRun``)."""

    def __init__(self, profile: Profile, segment: tuple[int, int], options: RayOptions) -> None:
        self.profile = profile
        self.segment = segment
        self.options = options
        self._records: list[dict[str, Any]] = []
        self._engine: Any = None
        self._task: asyncio.Task[dict[str, Any]] | None = None
        self._started: float | None = None
        self._stop_request: tuple[str, bool] | None = None
        self._steps: Any = None  # a QueueSteps for breakpoint profiles, made on the loop

    def clock(self) -> float:
        return time.time()

    async def start(self, start_at: float) -> None:
        """Start the engine in the background; ``start_at`` is in this actor's clock."""
        self._task = asyncio.create_task(self._run(start_at))

    async def _run(self, start_at: float) -> dict[str, Any]:
        from loadgen.core import collector
        from loadgen.engine.steps import QueueSteps

        if self.profile.breakpoint is not None and self._steps is None:
            self._steps = QueueSteps()
        with collector.tuned():  # the actor's process is the run's, as a worker's is
            return await self._engine_run(start_at)

    async def _engine_run(self, start_at: float) -> dict[str, Any]:
        from loadgen.engine.run import Engine

        opts = self.options
        async with Engine(
            self.profile,
            users=opts.users,
            rate=opts.rate,
            duration=opts.duration,
            seed=opts.seed,
            segment=self.segment,
            start_at=start_at,
            steps=self._steps,
        ) as engine:
            self._engine = engine
            if self._stop_request is not None:
                engine.stop(self._stop_request[0], interrupted=self._stop_request[1])
            pump = asyncio.create_task(self._pump(engine))
            try:
                async with self._exported(engine):
                    result = await engine.run()
            finally:
                await asyncio.wait([pump], timeout=1.0)
                pump.cancel()
        return result.data

    def _exported(self, engine: Any) -> contextlib.AbstractAsyncContextManager[Any]:
        """The live Prometheus export of this actor's part, when the run asked for one."""
        export = self.options.export
        if export is None or not export.wanted:
            return contextlib.nullcontext()
        from loadgen.engine.export import Exporter

        if export.metrics_port is not None:
            export = replace(export, metrics_port=export.metrics_port + self.segment[0] - 1)
        return Exporter(engine, export)

    async def _pump(self, engine: Any) -> None:
        async for record in engine.snapshots():
            if self._started is None and engine.recorder is not None:
                # The engine's wall-clock start, from its monotonic start (same process).
                self._started = time.time() - (time.monotonic() - engine.recorder.start)
            self._records.append(record)

    async def poll(self) -> dict[str, Any]:
        """Interval records since the last poll; ``done`` once the engine has finished."""
        records, self._records = self._records, []
        done = self._task is not None and self._task.done()
        return {"records": records, "started": self._started, "done": done}

    async def step(self, command: dict[str, Any]) -> None:
        """A breakpoint step command from the driver (see loadgen.engine.steps)."""
        if self._steps is None:
            from loadgen.engine.steps import QueueSteps

            self._steps = QueueSteps()
        self._steps.put(command)

    async def stop(self, reason: str, interrupted: bool) -> None:
        self._stop_request = (reason, interrupted)  # for an engine not yet entered
        if self._engine is not None:
            self._engine.stop(reason, interrupted=interrupted)

    async def result(self) -> dict[str, Any]:
        if self._task is None:
            raise RuntimeError("start() was not called")
        return await self._task


async def measure_offset(actor: Any, pings: int = _PINGS) -> tuple[float, float]:
    """(offset, round trip): how far the actor's clock is ahead of ours, from the ping with
    the shortest round trip (its midpoint is where the actor most likely read its clock)."""
    samples = []
    for _ in range(pings):
        sent = time.time()
        remote = await actor.clock.remote()
        back = time.time()
        samples.append((back - sent, remote - (sent + back) / 2))
    rtt, offset = min(samples)
    return offset, rtt


class RayRun(MergedRun):
    """Run a profile's segments as Ray actors and merge them; ``run()`` → merged Result."""

    def __init__(self, profile: Profile, options: RayOptions) -> None:
        self.profile = profile
        self.options = options
        MergedRun.__init__(self, profile)
        self.clock: dict[str, Any] = {}
        self._ray: Any = None
        #: The actor handles, in segment order, once created.
        self.actors: list[Any] = []

    def connect(self) -> None:
        """Join or start the Ray cluster (blocking, a few seconds); ``run()`` does it when not
        done. Front ends call it first: ``ray.init`` replaces the process's SIGTERM handler,
        so theirs must be installed after it."""
        if self._ray is None:
            ray = _import_ray()
            _connect(ray, self.options.address)
            self._ray = ray

    async def run(self) -> Result:
        self.connect()
        ray, opts = self._ray, self.options
        try:
            async with contextlib.AsyncExitStack() as stack:
                profile = self.profile
                url = await start_target(profile, opts.truth, stack)
                if url is not None:
                    profile = replace(profile, target=replace(profile.target, base_url=url))
                driver_rules, worker_rules = split_thresholds(profile.thresholds)
                profile = replace(profile, thresholds=tuple(worker_rules))
                n = opts.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
                remote = ray.remote(num_cpus=1, max_concurrency=64)(SegmentActor)
                actors = [remote.remote(profile, (i, n), opts) for i in range(1, n + 1)]
                self.actors = actors
                stack.callback(lambda: [ray.kill(a) for a in actors])
                offsets = await self._measure(actors)
                start_at = time.time() + opts.start_delay
                await asyncio.gather(
                    *(a.start.remote(start_at + o) for a, o in zip(actors, offsets, strict=True))
                )
                self._begin_steps(start_at, time.time())
                dead: dict[int, str] = {}
                try:
                    await self._watch(actors, offsets, start_at, Aborts(driver_rules), dead)
                finally:
                    self._publish(None)
                parts, failed = await self._gather(actors, dead)
        finally:
            ray.shutdown()
        return self._finish(parts, failed, offsets, n, start_at)

    async def _measure(self, actors: list[Any]) -> list[float]:
        """Each actor's clock offset (and wait for the actors to be placed and up)."""
        timeout = self.options.connect_timeout
        try:
            measured = await asyncio.wait_for(
                asyncio.gather(*(measure_offset(a) for a in actors)), timeout
            )
        except TimeoutError:
            raise StartError(
                f"{len(actors)} Ray actors did not start within {timeout:.0f}s",
                "the cluster needs one free CPU per actor; lower --processes",
            ) from None
        offsets = [o for o, _ in measured]
        self.clock = {
            "offsets": offsets,
            "round_trips": [r for _, r in measured],
            "max_abs_offset": max(abs(o) for o in offsets),
            "median_round_trip": statistics.median(r for _, r in measured),
        }
        return offsets

    async def _gather(
        self, actors: list[Any], dead: dict[int, str]
    ) -> tuple[list[tuple[int, dict[str, Any]]], list[dict[str, Any]]]:
        """(segment index, result) of every actor that finished, and one entry per lost one."""
        alive = [k for k in range(len(actors)) if k not in dead]
        grace = self.profile.load.graceful_stop + 15.0
        results = await asyncio.gather(
            *(asyncio.wait_for(_awaitable(actors[k].result.remote()), grace) for k in alive),
            return_exceptions=True,
        )
        parts = []
        for k, res in zip(alive, results, strict=True):
            if isinstance(res, BaseException):
                dead[k] = f"{type(res).__name__}: {res}"
            else:
                parts.append((k, res))
        failed = [
            {"segment": k + 1, "status": "crashed", "exit_code": None, "error": why[-2000:]}
            for k, why in sorted(dead.items())
        ]
        if not parts:
            raise StartError(f"every Ray actor failed; segment 1: {failed[0]['error']}")
        return parts, failed

    def _finish(
        self,
        parts: list[tuple[int, dict[str, Any]]],
        failed: list[dict[str, Any]],
        offsets: list[float],
        n: int,
        start_at: float,
    ) -> Result:
        opts = self.options
        result = finish(
            self.profile,
            [p for _, p in parts],
            failed,
            out=opts.out,
            mode={"kind": "ray", "actors": n, "start_at": start_at, "address": opts.address},
            stop_reason=self._stop_reason,
            interrupted=self._interrupted,
            aborted_by=self._aborted_by,
            offsets=[offsets[k] for k, _ in parts],
            clock=self.clock,
            conductor=self.conductor,
        )
        if opts.out is not None:  # the parts too, as the process runner leaves them
            for k, part in parts:
                (opts.out / f"part-{k + 1}").mkdir(exist_ok=True)
                Result(part).save(opts.out / f"part-{k + 1}" / "result.json")
        return result

    async def _watch(
        self,
        actors: list[Any],
        offsets: list[float],
        start_at: float,
        aborts: Aborts,
        dead: dict[int, str],
    ) -> None:
        """Until every actor is done or lost: merge live records, judge aborts, pass stops on.
        A lost actor (its process or node died) goes into ``dead``; the others go on."""
        grace = self.profile.load.graceful_stop + 15.0
        live = LiveMerge(len(actors), start_at)
        deadline = self.give_up_at(self.profile, self.options.start_delay)
        stopped_at = 0.0
        while True:
            alive = [k for k in range(len(actors)) if k not in dead]
            done = await self._poll(actors, alive, live, offsets, start_at, dead)
            self._hand_out(live, aborts, time.time(), "actors")
            running = [k for k in alive if k not in done and k not in dead]
            if not running:
                return
            now = time.monotonic()
            self._stop_overrun(now, deadline, "actors")
            if self._stop.is_set() and not stopped_at:
                stopped_at = now
                await asyncio.gather(
                    *(actors[k].stop.remote(self._stop_reason, self._interrupted) for k in running),
                    return_exceptions=True,
                )
            elif stopped_at and now - stopped_at > grace:
                dead.update((k, "did not stop within graceful_stop + 15 s") for k in running)
                return
            elif not stopped_at and done:
                await self._follow_an_abort([actors[k] for k in done])
            await self._next_poll(_POLL, stopping=bool(stopped_at))

    @staticmethod
    async def _poll(
        actors: list[Any],
        alive: list[int],
        live: LiveMerge,
        offsets: list[float],
        start_at: float,
        dead: dict[int, str],
    ) -> list[int]:
        """Add the ``alive`` actors' new interval records to ``live``, on the driver's clock;
        an actor that does not answer goes into ``dead``. Returns the actors now done."""
        polls = await asyncio.gather(
            *(actors[k].poll.remote() for k in alive), return_exceptions=True
        )
        done = []
        for k, poll in zip(alive, polls, strict=True):
            if isinstance(poll, BaseException):
                dead[k] = f"{type(poll).__name__}: {poll}"
                live.ended(k)
                continue
            started = poll["started"]
            for record in poll["records"]:
                live.add(k, (started or start_at + offsets[k]) - offsets[k], record)
            if poll["done"]:
                live.ended(k)
                done.append(k)
        return done

    def _send_step(self, command: dict[str, Any]) -> None:
        for actor in self.actors:  # fire and forget: a lost actor is found by the next poll
            actor.step.remote(command)

    async def _follow_an_abort(self, finished: list[Any]) -> None:
        """An actor that ended early on an abort rule of its own stops the others."""
        for actor in finished:
            data = await actor.result.remote()
            reason = str(data["run"].get("stop_reason", ""))
            if reason.startswith("aborted"):
                self.stop(f"segment {data['segment']['index']} {reason}", interrupted=False)
                return


async def _awaitable(ref: Any) -> Any:
    return await ref


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise StartError("--ray needs Ray, which is not installed", INSTALL_HINT) from None
    return ray


def _connect(ray: Any, address: str) -> None:
    """``auto``: the cluster this machine belongs to if there is one, else a local one."""
    kwargs: dict[str, Any] = {
        "log_to_driver": False,
        "configure_logging": False,
        "namespace": "loadgen",
    }
    if address != "auto":
        ray.init(address=address, **kwargs)
        return
    try:
        ray.init(address="auto", **kwargs)
    except ConnectionError:
        ray.init(include_dashboard=False, **kwargs)
