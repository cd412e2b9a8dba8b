"""The engine: follow a profile's load plan with coroutine VUs and record every request.

``Engine`` is an async context manager (it owns the built-in target, the clients and the
result writer); ``run()`` returns a ``Result``. Embedders may iterate ``snapshots()`` for
live interval records and call ``stop()`` from any other task. The engine never prints,
never installs signal handlers and never touches the event-loop policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import random
import secrets
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, replace
from pathlib import Path
from time import monotonic
from types import TracebackType
from typing import Any

from loadgen._version import __version__
from loadgen.arrivals import ArrivalSchedule, RateStage
from loadgen.auth.aws import aws_factory
from loadgen.auth.base import NoAuth, VUAuth
from loadgen.auth.login import LoginAuth
from loadgen.auth.simple import StaticAuth
from loadgen.breakpoint import Search, judge
from loadgen.breakpoint import summary as bp_summary
from loadgen.errors import StartError
from loadgen.health import assess
from loadgen.phases import phase_summaries
from loadgen.profile.model import Profile, Task
from loadgen.profile.overrides import scale_load
from loadgen.result import SCHEMA, Result
from loadgen.sample import Sample
from loadgen.shapes import ClassAssigner, WeightedChoice, level_at, plan
from loadgen.slo import overall_values
from loadgen.stats import Recorder
from loadgen.thresholds import evaluate
from loadgen.tokens import token_counter
from loadgen.transport import ClientFactory
from loadgen.vu import VU, VUContext
from loadgen.writer import ResultWriter

__all__ = ["Engine"]

_TICK = 0.1  # controller and loop-lag sampling period (s)
_INTERVAL = 1.0  # statistics interval (s)


class Engine:
    """Runs one profile once. Use as ``async with Engine(profile) as e: result = await e.run()``."""

    def __init__(
        self,
        profile: Profile,
        *,
        users: int | None = None,
        rate: float | None = None,
        duration: float | None = None,
        seed: int | None = None,
        out: str | Path | None = None,
        truth: str | Path | None = None,
        scale: float | None = None,
        segment: tuple[int, int] = (1, 1),
        start_at: float | None = None,
    ) -> None:
        """``segment=(i, n)`` runs the i-th of n exact parts of the load (1-based), as one of
        n processes or machines; ``start_at`` (epoch seconds) makes them start together."""
        if not 1 <= segment[0] <= segment[1]:
            raise ValueError(f"segment {segment[0]}/{segment[1]}: write i/n with 1 <= i <= n")
        self.segment = (segment[0] - 1, segment[1])
        self.start_at = start_at
        load = profile.load
        if users is not None or duration is not None:
            load = scale_load(load, level=users, duration=duration)
        if rate is not None:
            if load.model != "open":
                raise ValueError("rate applies to open-model profiles; use users")
            load = scale_load(load, level=rate)
        if scale is not None:
            peak = max([load.start, *(s.target for s in load.stages)], default=0.0)
            level = peak * scale
            load = scale_load(load, level=max(1, round(level)) if load.model == "closed" else level)
        self.profile = replace(profile, load=load, seed=seed if seed is not None else profile.seed)
        self.seed = self.profile.seed if self.profile.seed is not None else secrets.randbits(32)
        self.out_dir = Path(out) if out is not None else None
        self.truth = truth
        self.base_url = profile.target.base_url
        self._target: Any = None
        self._stop = asyncio.Event()
        self._stop_reason = ""
        self._interrupted = False
        self._subscribers: list[asyncio.Queue[dict[str, Any] | None]] = []
        self._vus: dict[asyncio.Task[None], VU] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._open_state: _OpenState | None = None
        self._interval_start = 0.0
        self._cpu_mark = time.process_time()
        self._aborted_by: dict[str, Any] | None = None
        self._search: Search | None = None
        self._bp_level = 0.0
        self._errors_in_vus: list[str] = []
        self._users_by_class: Counter[str] = Counter()
        self._aws_factories: dict[int, Any] = {}
        self._aws_clients: Any = None
        self.writer: ResultWriter | None = None
        self.recorder: Recorder | None = None

    async def __aenter__(self) -> Engine:
        tokenizer = self.profile.target.tokenizer
        self._count_tokens = token_counter(tokenizer) if tokenizer else None
        if self.profile.target.is_builtin:
            from loadgen.target import BuiltinTarget, TargetConfig

            try:
                config = TargetConfig.from_mapping(self.profile.target.builtin)
            except ValueError as exc:
                raise StartError(
                    f"target.builtin: {exc}", "see docs/target.md for its keys"
                ) from None
            self._target = BuiltinTarget(config, truth=self.truth)
            try:
                await self._target.__aenter__()
            except Exception as exc:
                raise StartError(
                    f"the built-in target failed to start: {exc}",
                    "run `loadgen serve --port 0` to see why",
                ) from exc
            self.base_url = self._target.url
        else:
            await _preflight(self.base_url, self.profile.target.connect_timeout)
        _warm_up()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._target is not None:
            await self._target.__aexit__(None, None, None)
            self._target = None

    def stop(self, reason: str = "stopped", *, interrupted: bool = True) -> None:
        """Stop the run from outside (Ctrl-C, an abort rule, an embedder); results are kept."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._interrupted = interrupted
            self._stop.set()

    async def snapshots(self) -> AsyncIterator[dict[str, Any]]:
        """Live interval records, one a second, until the run ends."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._subscribers.append(queue)
        try:
            while (item := await queue.get()) is not None:
                yield item
        finally:
            self._subscribers.remove(queue)

    @property
    def active_users(self) -> int:
        """Closed model: running VUs; open model: requests in flight."""
        if self.profile.load.model == "open":
            return len(self._inflight)
        return sum(1 for vu in self._vus.values() if not vu.stopping)

    async def run(self) -> Result:
        profile = self.profile
        if self.start_at is not None:
            await asyncio.sleep(max(0.0, self.start_at - time.time()))
        start = monotonic()
        started_wall = time.time()
        self._cpu_mark = time.process_time()
        slo = profile.slo
        self.recorder = recorder = Recorder(start, good=slo.good if slo.declared else None)
        self.writer = writer = ResultWriter(self.out_dir) if self.out_dir is not None else None
        header = self._header(started_wall)
        record: Callable[[Sample], None] = recorder.add
        if writer is not None:
            writer.start(header, raw=profile.report.raw)
            if profile.report.raw:
                raw_writer = writer

                def record_raw(sample: Sample) -> None:
                    recorder.add(sample)
                    raw_writer.sample(sample)

                record = record_raw
        ctx = self.vu_context(
            record, count=recorder.count, check=recorder.check, observe=recorder.observe
        )
        self._intervals: list[dict[str, Any]] = []
        ticker = asyncio.create_task(self._tick(start), name="loadgen-ticker")
        try:
            if profile.breakpoint is not None:
                await self._drive_breakpoint(ctx, start)
            elif profile.load.model == "open":
                await self._drive_open(ctx, start)
            else:
                await self._drive_closed(ctx, start)
            if not self._stop_reason:
                self._stop_reason = "completed"
            await self._drain(profile.load.graceful_stop)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            end = monotonic()
            if (
                end - self._interval_start > 0.05
                or not self._intervals
                or recorder.interval_pending
            ):
                self._close_interval(end)
            for q in self._subscribers:
                q.put_nowait(None)
            data = self._result_data(header, self._intervals, start, end, started_wall)
            data["thresholds"] = evaluate(list(profile.thresholds), data)
            if self._search is not None:
                unit = "users" if profile.load.model == "closed" else "rate"
                data["breakpoint"] = bp_summary(self._search, unit)
            result = Result(data, writer.result_path if writer else None)
            if writer is not None:
                writer.finish(result)
        if profile.aws is not None and (profile.aws.cloudwatch or profile.aws.cost):
            await self._aws_after_run(result)
        return result

    async def _aws_after_run(self, result: Result) -> None:
        """CloudWatch's view of the test window and the cost estimate (loadgen.aws.post).

        After the results are safe on disk: AWS being slow or refusing cannot cost the run;
        what it refused is recorded in the section instead."""
        from loadgen.aws.post import after_run

        aws = self.profile.aws
        assert aws is not None
        mau = sum(getattr(f, "active_users", 0) for f in self._aws_factories.values())
        data = result.data
        try:
            data["aws"] = await asyncio.wait_for(
                after_run(aws, {**data, "ended": data["run"]["ended"]}, cognito_mau=mau), 300
            )
        except Exception as exc:  # the run's own numbers stand
            data["aws"] = {"region": aws.region, "error": f"{type(exc).__name__}: {exc}"[:300]}
        if result.path is not None:
            result.save(result.path)

    def vu_context(
        self,
        record: Callable[[Sample], None],
        *,
        count: Callable[[str, int], None] | None = None,
        check: Callable[[str, bool], None] | None = None,
        observe: Callable[[str, float], None] | None = None,
        on_response: Callable[[Sample, Any], None] | None = None,
    ) -> VUContext:
        """What the VUs of this run share: clients, pools, auth, limits, and where samples go."""
        profile = self.profile
        factory = ClientFactory(
            self.base_url,
            timeout=profile.target.timeout,
            connect_timeout=profile.target.connect_timeout,
            verify=profile.target.verify,
            headers=profile.target.headers,
            fast=profile.target.transport == "fast",
        )
        return VUContext(
            pools=profile.data,
            record=record,
            new_client=factory.client,
            timeout=profile.target.timeout,
            run_tag=f"{self.seed:x}",
            base_url=self.base_url,
            count_tokens=self._count_tokens,
            count=count or (lambda name, n: None),
            check=check or (lambda name, ok: None),
            observe=observe or (lambda name, value: None),
            make_auth=self._make_auth,
            connect_timeout=profile.target.connect_timeout,
            honor_retry_after=profile.target.honor_retry_after,
            max_retry_after=profile.target.max_retry_after,
            on_response=on_response,
            bedrock=self._bedrock if profile.aws is not None else None,
        )

    async def _bedrock(self) -> Any:
        """One bedrock-runtime client for the run (pool sized for the VUs, one attempt)."""
        if self._aws_clients is None:
            from loadgen.aws.clients import AwsClients

            aws = self.profile.aws
            assert aws is not None
            self._aws_clients = AwsClients(region=aws.region, endpoint_url=aws.endpoint_url)
        return await self._aws_clients.get("bedrock-runtime")

    async def _wait(self, deadline: float) -> bool:
        """Sleep until ``deadline`` (monotonic) or a stop; True if the run was stopped."""
        delay = deadline - monotonic()
        if delay > _TICK:  # long waits wake on stop; short ones skip wait_for's task
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
        elif delay > 0:
            await asyncio.sleep(delay)
        return self._stop.is_set()

    async def _tick(self, start: float) -> None:
        """Close an interval every second and sample event-loop lag every tick, until cancelled."""
        assert self.recorder is not None
        self._interval_start = start
        next_interval = start + _INTERVAL
        loop = asyncio.get_running_loop()
        while True:
            due = min(monotonic() + _TICK, next_interval)
            await asyncio.sleep(max(0.0, due - loop.time()))
            now = monotonic()
            self.recorder.add_loop_lag(max(0.0, now - due))
            while now >= next_interval:
                self._close_interval(next_interval)
                next_interval += _INTERVAL

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
            if len(self._inflight) >= state.max_in_flight and not load.queue:
                assert self.recorder is not None
                self.recorder.add_dropped()
                continue
            task = asyncio.create_task(self._arrival(runner, task_def, t0, state, ctx))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _drive_breakpoint(self, ctx: VUContext, start: float) -> None:
        """Step the load up until the SLOs break (loadgen.breakpoint decides each next level).

        Each step holds its level for ``step_duration``; its verdict is judged on the interval
        records after the warm-up. Closed model: the VU driver follows the current level;
        open model: each step is a constant-rate schedule of its own."""
        spec = self.profile.breakpoint
        assert spec is not None
        search = self._search = Search(spec)
        closed = self.profile.load.model == "closed"
        self._bp_level = 0.0
        driver = (
            asyncio.create_task(
                self._drive_closed(
                    ctx, start, level=lambda _: self._bp_level, duration=float("inf")
                )
            )
            if closed
            else None
        )
        try:
            while (level := search.next_level()) is not None:
                step_start = monotonic() - start
                # Steps start on whole seconds, so their windows are whole intervals.
                step_start = float(int(step_start + 0.999))
                if await self._wait(start + step_start):
                    return
                self._bp_level = level
                step_end = step_start + spec.step_duration
                if closed:
                    stopped = await self._wait(start + step_end)
                else:
                    await self._drive_open(
                        ctx, start, [RateStage(spec.step_duration, level)], level, offset=step_start
                    )
                    stopped = await self._wait(start + step_end)
                await self._wait(monotonic() + 0.05)  # let the last interval close
                if stopped:
                    return
                window = [
                    r
                    for r in self._intervals
                    if r["t"] >= step_start + spec.warmup - 1e-6
                    and r["t"] + r["length"] <= step_end + 0.05
                ]
                limited = assess(window)["warnings"]
                step = judge(window, self.profile.slo, limited=[w["what"] for w in limited])
                step.update(start=step_start, end=step_end, warmup=spec.warmup)
                search.record(level, step)
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

    def _vu_done(self, task: asyncio.Task[None]) -> None:
        self._vus.pop(task, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # A bug in loadgen, not the target: the run goes on, but it is never hidden.
            self._errors_in_vus.append(f"{type(exc).__name__}: {exc}")

    async def _drain(self, grace: float) -> None:
        """Let in-flight requests finish for ``grace`` seconds, then cancel (→ interrupted)."""
        for vu in self._vus.values():
            vu.stop()
        tasks = [*self._vus, *self._inflight]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5.0)
        if self._open_state is not None:
            for client in self._open_state.clients:
                await client.aclose()
            self._open_state.clients.clear()
        for factory in self._aws_factories.values():
            await factory.aclose()
        if self._aws_clients is not None:
            await self._aws_clients.aclose()
            self._aws_clients = None

    def _close_interval(self, at: float) -> dict[str, Any]:
        assert self.recorder is not None
        load = self.profile.load
        planned = (
            self._bp_level
            if self.profile.breakpoint is not None
            else level_at(load, at - self.recorder.start)
        )
        record = self.recorder.close_interval(at, self.active_users)
        cpu_now = time.process_time()
        length = record["length"]
        record["cpu"] = round((cpu_now - self._cpu_mark) / length, 4) if length > 0 else 0.0
        self._cpu_mark = cpu_now
        record["planned"] = {load.unit: round(planned, 3)}
        self._interval_start = at
        self._intervals.append(record)
        self._check_aborts(at)
        if self.writer is not None:
            self.writer.interval(record)
        for q in self._subscribers:
            q.put_nowait(record)
        return record

    def _make_auth(self, vu: VU) -> VUAuth:
        """The auth state of one VU: its class's auth, else the profile's."""
        spec = vu.user_class.auth or self.profile.auth
        kind = spec.kind
        if kind in ("bearer", "api_key"):
            return StaticAuth(spec)
        if kind == "login":
            return LoginAuth(
                spec,
                send=vu.send_auth_request,
                record=vu.ctx.record,
                user_class=vu.user_class.name,
                variables=vu.vars,
            )
        if kind in ("cognito", "sigv4"):
            factory = self._aws_factories.get(id(spec))
            if factory is None:
                factory = self._aws_factories[id(spec)] = aws_factory(kind, spec.extra)
            return factory.for_vu(vu.id, vu.ctx.record)
        return NoAuth()

    def _check_aborts(self, now: float) -> None:
        """Stop early when an ``abort_on_fail`` threshold fails past its ``after`` delay."""
        rec = self.recorder
        assert rec is not None
        elapsed = now - rec.start
        due = [t for t in self.profile.thresholds if t.abort_on_fail and elapsed >= t.after]
        if not due or self._stop.is_set():
            return
        scopes: dict[str, Any] = {
            "overall": rec.overall.to_dict(elapsed, with_hdr=False),
            "by_name": {},
            "by_class": {},
            "by_category": {},
        }
        live = {"scopes": scopes, "load": {"dropped": rec.dropped}}
        tables = {"name": rec.by_name, "class": rec.by_class, "category": rec.by_category}
        for t in due:
            if t.scope is not None and t.scope[1] in tables[t.scope[0]]:
                scope = tables[t.scope[0]][t.scope[1]].to_dict(elapsed, with_hdr=False)
                scopes[f"by_{t.scope[0]}"][t.scope[1]] = scope
        for verdict in evaluate(due, live):
            if not verdict["ok"] and verdict["value"] is not None:
                self._aborted_by = verdict
                self.stop(
                    f"aborted: threshold {verdict['expr']} failed at "
                    f"{elapsed:.0f}s (abort_on_fail)",
                    interrupted=False,
                )
                return

    def _header(self, started_wall: float) -> dict[str, Any]:
        p = self.profile
        return {
            "schema": SCHEMA,
            "loadgen_version": __version__,
            "profile": {
                "name": p.name,
                "path": str(p.path) if p.path else None,
                "raw": _redact(p.raw, p.secrets),
            },
            "target": {"base_url": self.base_url, "builtin": p.target.is_builtin},
            "seed": self.seed,
            "started": started_wall,
            "segment": {"index": self.segment[0] + 1, "count": self.segment[1]},
            "plan": [asdict(step) for step in plan(p.load)],
            "environment": {
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "event_loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
                "cpu_count": os.cpu_count(),
            },
        }

    def _result_data(
        self,
        header: dict[str, Any],
        intervals: list[dict[str, Any]],
        start: float,
        end: float,
        started_wall: float,
    ) -> dict[str, Any]:
        rec = self.recorder
        assert rec is not None
        duration = end - start
        scopes = {
            "overall": rec.overall.to_dict(duration)
            | {"good": rec.good, "goodput": rec.good / duration if duration > 0 else 0.0},
            "by_name": {k: v.to_dict(duration) for k, v in sorted(rec.by_name.items())},
            "by_class": {k: v.to_dict(duration) for k, v in sorted(rec.by_class.items())},
            "by_category": {k: v.to_dict(duration) for k, v in sorted(rec.by_category.items())},
        }
        return {
            **header,
            "run": {
                "duration": duration,
                "ended": started_wall + duration,
                "stop_reason": self._stop_reason or "completed",
                "interrupted": self._interrupted,
                "complete": True,
                "internal_errors": list(self._errors_in_vus),
            },
            "scopes": scopes,
            "schedule_lag": rec.schedule_lag.summary() | {"hdr": rec.schedule_lag.encode()},
            "loop_lag": rec.loop_lag.summary() | {"hdr": rec.loop_lag.encode()},
            "errors": rec.errors_table(),
            "load": {"model": self.profile.load.model, "dropped": rec.dropped},
            "users_by_class": dict(self._users_by_class),
            "custom": {
                "counters": dict(sorted(rec.counters.items())),
                "checks": {
                    k: {"passes": v[0], "fails": v[1]} for k, v in sorted(rec.checks.items())
                },
                "histograms": {
                    k: h.summary() | {"hdr": h.encode(), "scale": h.scale}
                    for k, h in sorted(rec.observed.items())
                },
            },
            "intervals": intervals,
            "health": assess(intervals),
            "phases": phase_summaries(plan(self.profile.load), intervals),
            "slo": self.profile.slo.records(overall_values(scopes["overall"])),
            "thresholds": [],
            "aborted_by": self._aborted_by,
        }


def _redact(value: Any, secrets_: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: ("***" if _secret_key(str(k)) and v else _redact(v, secrets_))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact(v, secrets_) for v in value]
    if isinstance(value, str):
        for s in secrets_:
            if s:
                value = value.replace(s, "***")
    return value


def _secret_key(key: str) -> bool:
    k = key.lower()
    return any(
        w in k for w in ("password", "secret", "token", "api_key", "apikey", "authorization")
    )


async def _preflight(base_url: str, timeout: float) -> None:
    """Refuse to start against a target that does not accept connections (exit 2)."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise StartError(
            f"cannot reach {parts.scheme}://{host}:{port}: {reason}",
            "check target.base_url (or CHATBOT_URL) and that the server is up",
        ) from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def _warm_up() -> None:
    """Pay httpx's first-use costs before the clock starts, not inside the first requests'
    latency: httpx imports httpcore (and with it trio and anyio, when installed) on its first
    client's first request, 50-100 ms measured."""
    import anyio._backends._asyncio  # noqa: F401
    import h11  # noqa: F401
    import httpcore  # noqa: F401


class _OpenState:
    """What the open model keeps across arrivals (and across breakpoint steps)."""

    def __init__(self, engine: Engine, ctx: VUContext) -> None:
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
