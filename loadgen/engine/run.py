"""The engine: follow a profile's load plan with coroutine VUs and record every request.

``Engine`` is an async context manager (it owns the built-in target, the clients and the
result writer); ``run()`` returns a ``Result``. Embedders may iterate ``snapshots()`` for
live interval records and call ``stop()`` (or ``stop_now()``, which skips the graceful stop)
from any other task. The engine never prints, never installs signal handlers and never touches
the event-loop policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from time import monotonic
from types import TracebackType
from typing import Any, cast

from loadgen._version import __version__
from loadgen.core import assemble, units
from loadgen.core.breakpoint import Search
from loadgen.core.breakpoint import summary as bp_summary
from loadgen.core.errors import OutputError, StartError
from loadgen.core.profile.model import Profile, Stage
from loadgen.core.profile.overrides import scale_load
from loadgen.core.redact import Secrets, redact, redact_strings
from loadgen.core.result import Result
from loadgen.core.resultdoc import Header, Interval, Limit, Recorded
from loadgen.core.sample import Sample
from loadgen.core.shapes import level_at, plan
from loadgen.core.stats import Recorder
from loadgen.core.thresholds import evaluate
from loadgen.edge.auth.aws import aws_factory
from loadgen.edge.auth.base import NoAuth, VUAuth
from loadgen.edge.auth.login import LoginAuth
from loadgen.edge.auth.simple import StaticAuth
from loadgen.edge.startup import reach, warm_up
from loadgen.edge.tokens import token_counter
from loadgen.edge.transport import ClientFactory
from loadgen.engine.control import RunControl
from loadgen.engine.drive import Drivers, _OpenState
from loadgen.engine.limits import check_start, connection_kinds, sockets_per_user
from loadgen.engine.steps import StepSource
from loadgen.engine.vu import VU, VUContext
from loadgen.engine.writer import ResultWriter

__all__ = ["Engine"]

_TICK = 0.1  # controller and loop-lag sampling period (s)
_INTERVAL = 1.0  # statistics interval (s)
_ENCODED = frozenset({"hdr"})  # base64 histograms: any three characters may occur by chance


def run_options(
    users: int | str | None, rate: float | str | None, duration: float | str | None
) -> tuple[int | None, float | None, float | None]:
    """Read ``users``, ``rate`` and ``duration`` as the command line does (loadgen.core.units)."""
    try:
        if users is not None:
            if isinstance(users, bool) or not str(users).strip().isdigit() or int(users) <= 0:
                raise ValueError(f"users: {users!r} must be a whole number > 0")
            users = int(users)
        if rate is not None:
            rate = _named("rate", units.parse_rate, rate)
            if rate <= 0:
                raise ValueError(f"rate: {rate!r} is no arrivals: the run would send nothing")
        if duration is not None:
            duration = _named("duration", units.parse_duration, duration)
            if duration <= 0:
                raise ValueError(f"duration: {duration!r} is no time: the run would send nothing")
    except TypeError as exc:
        raise ValueError(str(exc)) from exc
    return users, rate, duration


def _check_scale_and_start(scale: float | None, start_at: float | None) -> None:
    """What the command line refuses, refused for embedders too (``ValueError``)."""
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale: {scale!r} must be a number > 0, such as 0.5 or 2")
    if start_at is not None and not math.isfinite(start_at):
        raise ValueError(f"start_at: {start_at!r} is not a time; give epoch seconds")


def _named(name: str, parse: Callable[[Any], float], value: Any) -> float:
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc


class Engine(RunControl, Drivers):
    """Runs one profile once. Use as ``async with Engine(profile) as e: result = await e.run()``."""

    def __init__(
        self,
        profile: Profile,
        *,
        users: int | str | None = None,
        rate: float | str | None = None,
        duration: float | str | None = None,
        seed: int | None = None,
        out: str | Path | None = None,
        truth: str | Path | None = None,
        scale: float | None = None,
        segment: tuple[int, int] = (1, 1),
        start_at: float | None = None,
        steps: StepSource | None = None,
    ) -> None:
        """``segment=(i, n)`` runs the i-th of n exact parts of the load (1-based), as one of
        n processes or machines; ``start_at`` (epoch seconds) makes them start together.
        ``steps``: in a breakpoint search run by a driver over several parts, where this part
        gets its levels (it then judges nothing; see loadgen.engine.steps).

        ``users``, ``rate`` and ``duration`` take what the command line takes (``50``,
        ``"20/s"``, ``"3s"``) or numbers (users, per second, seconds); a wrong one is a
        ``ValueError`` naming the argument."""
        users, rate, duration = run_options(users, rate, duration)
        _check_scale_and_start(scale, start_at)
        if not 1 <= segment[0] <= segment[1]:
            raise ValueError(f"segment {segment[0]}/{segment[1]}: write i/n with 1 <= i <= n")
        self.segment = (segment[0] - 1, segment[1])
        self.start_at = start_at
        self.steps = steps
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
        # Every value this run knows to be secret: the profile's, then what auth learns.
        self.secrets = Secrets(profile.secrets)
        self._target: Any = None
        RunControl.__init__(self)
        self._vus: dict[asyncio.Task[None], VU] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._open_state: _OpenState | None = None
        self._interval_start = 0.0
        self._draining = False
        self._finishing_peak = 0  # most VUs finishing at once during the graceful stop
        self._cpu_mark = time.process_time()
        self._aborted_by: dict[str, Any] | None = None
        self._search: Search | None = None
        self._bp_level = 0.0
        self._errors_in_vus: list[str] = []
        self._users_by_class: Counter[str] = Counter()
        self._aws_factories: dict[int, Any] = {}
        self._aws_clients: Any = None
        self.limit_warnings: list[str] = []  # set on entering: file-descriptor limit, …
        self.writer: ResultWriter | None = None
        self.recorder: Recorder | None = None

    async def __aenter__(self) -> Engine:
        load = self.profile.load
        bp = self.profile.breakpoint
        if bp is not None and load.model == "closed":  # the search may climb to its max
            load = replace(load, stages=(*load.stages, Stage(duration=0.0, target=bp.max)))
        self.limit_warnings = check_start(load, self.segment[1], sockets_per_user(self.profile))
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
            await reach(self.base_url, self.profile.target.connect_timeout)
        if any("httpx" in connection_kinds(self.profile, c) for c in self.profile.users):
            warm_up()  # a chat-only run over the fast client never imports httpx
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

    @property
    def active_users(self) -> int:
        """Closed model: running VUs; open model: requests in flight."""
        if self.profile.load.model == "open":
            return len(self._inflight)
        return sum(1 for vu in self._vus.values() if not vu.stopping)

    @property
    def finishing_users(self) -> int:
        """Closed model: VUs told to stop (ramp-down, graceful stop) still finishing a request."""
        if self.profile.load.model == "open":
            return 0
        return sum(1 for vu in self._vus.values() if vu.stopping)

    @property
    def in_flight(self) -> int:
        """Requests running now: what a stop waits for (at most ``load.graceful_stop``)."""
        if self.profile.load.model == "open":
            return len(self._inflight)
        return sum(1 for vu in self._vus.values() if vu.in_request)

    async def run(self) -> Result:
        profile = self.profile
        if self.start_at is not None:
            await self._wait_for_start(self.start_at)
            if self._stop.is_set():
                self._stop_reason += " while waiting for the start"
        start = monotonic()
        started_wall = time.time()
        self._cpu_mark = time.process_time()
        slo = profile.slo
        self.recorder = recorder = Recorder(start, good=slo.good if slo.declared else None)
        self.writer = writer = (
            ResultWriter(self.out_dir, self.redacted) if self.out_dir is not None else None
        )
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
            if self._stop.is_set():  # stopped while waiting for --start-at: send nothing
                pass
            elif profile.breakpoint is not None:
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
            self._publish(None)
            data = self._result_data(header, self._intervals, start, end, started_wall)
            data["thresholds"] = evaluate(list(profile.thresholds), data)
            if self._search is not None:
                unit = "users" if profile.load.model == "closed" else "rate"
                data["breakpoint"] = bp_summary(self._search, unit)
            # A server may echo a credential in any text it sends (error bodies above all).
            data = self.redacted(data)
            result = Result(data, writer.result_path if writer else None)
            if writer is not None:
                writer.finish(result)
        if profile.aws is not None and (profile.aws.cloudwatch or profile.aws.cost):
            await self._aws_after_run(result)
        if writer is not None and writer.failure is not None:
            failure = writer.failure
            if failure.path == str(writer.result_path):
                result = replace(result, path=None)
            raise OutputError(failure.path, failure.cause, result=result) from failure
        return result

    async def _wait_for_start(self, start_at: float) -> None:
        """Wait until the wall-clock ``start_at`` or a stop, whichever comes first (a
        SIGTERM while waiting ends the run before any request). Re-read the clock each
        second, so a clock stepped during a long wait still starts on time."""
        while (delay := start_at - time.time()) > 0 and not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), min(delay, 1.0))

    async def _aws_after_run(self, result: Result) -> None:
        """CloudWatch's view of the test window and the cost estimate (loadgen.edge.aws.post).

        After the results are safe on disk: AWS being slow or refusing cannot cost the run;
        what it refused is recorded in the section instead."""
        from loadgen.edge.aws.post import after_run

        aws = self.profile.aws
        assert aws is not None
        mau = sum(getattr(f, "active_users", 0) for f in self._aws_factories.values())
        data = result.data
        try:
            data["aws"] = await asyncio.wait_for(
                after_run(aws, {**data, "ended": data["run"]["ended"]}, cognito_mau=mau), 300
            )
        except Exception as exc:  # the run's own numbers stand
            error = self.secrets.text(f"{type(exc).__name__}: {exc}")[:300]
            data["aws"] = {"region": aws.region, "error": error}
        if result.path is not None:
            try:
                result.save(result.path)
            except OSError as exc:
                if self.writer is not None and self.writer.failure is None:
                    self.writer.failure = OutputError(result.path, exc)

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
            max_response_size=profile.target.max_response_size,
            max_line=profile.target.max_line,
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
            learn=self.secrets.add,
            bedrock=self._bedrock if profile.aws is not None else None,
        )

    async def _bedrock(self) -> Any:
        """One bedrock-runtime client for the run (pool sized for the VUs, one attempt)."""
        if self._aws_clients is None:
            from loadgen.edge.aws.clients import AwsClients

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
            if self._draining:  # every VU left is finishing: len() is all it costs
                self._finishing_peak = max(self._finishing_peak, len(self._vus))
            while now >= next_interval:
                self._close_interval(next_interval)
                next_interval += _INTERVAL

    def _vu_done(self, task: asyncio.Task[None]) -> None:
        self._vus.pop(task, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # A bug in loadgen, not the target: the run goes on, but it is never hidden.
            self._errors_in_vus.append(f"{type(exc).__name__}: {exc}")

    async def _drain(self, grace: float) -> None:
        """Let in-flight requests finish for ``grace`` seconds (or until ``stop_now()``), then
        cancel them (→ interrupted)."""
        for vu in self._vus.values():
            vu.stop()
        self._draining = True
        self._finishing_peak = max(self._finishing_peak, self.finishing_users)
        pending: set[asyncio.Task[None]] = {*self._vus, *self._inflight}
        deadline = monotonic() + grace
        now = asyncio.create_task(self._stop_now.wait())
        try:  # until every task ends, the grace runs out or stop_now() (a second Ctrl-C)
            while pending and not self._stop_now.is_set() and monotonic() < deadline:
                done, _ = await asyncio.wait(
                    {*pending, now},
                    timeout=deadline - monotonic(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                pending -= done
        finally:
            now.cancel()
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
        # The graceful stop's users are counted at their peak in the interval: sampled at its
        # end, answers completing in it would be drawn beside users already at 0.
        record["finishing"] = max(self.finishing_users, self._finishing_peak)
        self._finishing_peak = 0
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
        self._publish(record)
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
                learn=self.secrets.add,
            )
        if kind in ("cognito", "sigv4"):
            factory = self._aws_factories.get(id(spec))
            if factory is None:
                factory = self._aws_factories[id(spec)] = aws_factory(kind, spec.extra)
            return factory.for_vu(vu.id, vu.ctx.record)
        return NoAuth()

    def redacted(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` with every secret this run knows masked in its text (histograms kept)."""
        out: dict[str, Any] = redact_strings(data, self.secrets, skip=_ENCODED)
        return out

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
        head = assemble.header(
            version=__version__,
            profile={
                "name": p.name,
                "path": str(p.path) if p.path else None,
                "raw": redact(p.raw, self.secrets),
            },
            target={"base_url": self.base_url, "builtin": p.target.is_builtin},
            seed=self.seed,
            started=started_wall,
            segment={"index": self.segment[0] + 1, "count": self.segment[1]},
            plan=plan(p.load),
            environment={
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "event_loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
                "cpu_count": os.cpu_count(),
            },
        )
        return cast(dict[str, Any], head)

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
        doc = assemble.document(
            cast(Header, header),
            run={
                "duration": duration,
                "ended": started_wall + duration,
                "stop_reason": self._stop_reason or "completed",
                "interrupted": self._interrupted,
                "complete": True,
                "internal_errors": list(self._errors_in_vus),
            },
            recorded=cast(Recorded, rec.to_result(duration)),
            load={"model": self.profile.load.model, "dropped": rec.dropped},
            users_by_class=dict(self._users_by_class),
            intervals=cast(list[Interval], intervals),
            slo=self.profile.slo,
            aborted_by=cast(Limit | None, self._aborted_by),
        )
        return cast(dict[str, Any], doc)
