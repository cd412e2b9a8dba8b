"""The engine: follow a profile's load plan with coroutine VUs and record every request.

``Engine`` is an async context manager (it owns the built-in target, the clients and the
result writer); ``run()`` returns a ``Result``. Embedders may iterate ``snapshots()`` for
live interval records and call ``stop()`` (or ``stop_now()``, which skips the graceful stop)
from any other task. The engine never prints, never installs signal handlers and never touches
the event-loop policy.

It holds its parts rather than being them: a ``RunControl`` (stops, snapshots, waiting on
the clock), a ``Crowd`` (what runs now, the graceful stop) and one driver of
``loadgen.engine.drivers`` chosen per run.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from loadgen.core import assemble
from loadgen.core.breakpoint import summary as bp_summary
from loadgen.core.errors import OutputError
from loadgen.core.profile.model import Profile, Stage
from loadgen.core.redact import Secrets, redact_strings
from loadgen.core.result import Result
from loadgen.core.resultdoc import Header, Interval, Limit, Recorded
from loadgen.core.sample import Sample
from loadgen.core.shapes import level_at
from loadgen.core.stats import Recorder
from loadgen.core.thresholds import evaluate
from loadgen.edge.startup import reach, warm_up
from loadgen.edge.tokens import token_counter
from loadgen.edge.transport import ClientFactory
from loadgen.engine import inputcount
from loadgen.engine.aborts import failed_abort
from loadgen.engine.builtin import start_builtin
from loadgen.engine.clock import MONOTONIC
from loadgen.engine.control import RunControl
from loadgen.engine.crowd import Crowd
from loadgen.engine.drivers import BreakpointDriver, Driver, Pool, choose
from loadgen.engine.header import run_header
from loadgen.engine.intervals import Intervals
from loadgen.engine.limits import check_start, connection_kinds
from loadgen.engine.options import check_scale_and_start, run_options, scaled_profile
from loadgen.engine.prompting import Prompts
from loadgen.engine.scrape import scrape_service
from loadgen.engine.services import RunServices
from loadgen.engine.steps import StepSource
from loadgen.engine.vu import VUContext
from loadgen.engine.warmup import connect_ahead, warm_count
from loadgen.engine.writer import ResultWriter

__all__ = ["Engine"]

_ENCODED = frozenset({"hdr"})  # base64 histograms: any three characters may occur by chance


class Engine:
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
        check_scale_and_start(scale, start_at)
        if not 1 <= segment[0] <= segment[1]:
            raise ValueError(f"segment {segment[0]}/{segment[1]}: write i/n with 1 <= i <= n")
        self.segment = (segment[0] - 1, segment[1])
        self.start_at = start_at
        self.steps = steps
        self.profile = scaled_profile(
            profile, users=users, rate=rate, duration=duration, scale=scale, seed=seed
        )
        self.seed = self.profile.seed if self.profile.seed is not None else secrets.randbits(32)
        self.out_dir = Path(out) if out is not None else None
        self.truth = truth
        self.base_url = profile.target.base_url
        # Every value this run knows to be secret: the profile's, then what auth learns.
        self.secrets = Secrets(profile.secrets)
        self.control = RunControl(MONOTONIC)
        self._crowd = Crowd(open_model=self.profile.load.arrivals)
        # The result reads these (_result_data): the crowd's own counter and list.
        self._users_by_class = self._crowd.users_by_class
        self._errors_in_vus = self._crowd.internal_errors
        self._target: Any = None
        self._count_tokens: Callable[[str], int] | None = None
        self._prompts: Prompts | None = None
        self._open_users: Pool | None = None  # the arrivals' clients, closed after the drain
        self._breakpoint: BreakpointDriver | None = None
        self._intervals: Intervals
        self._aborted_by: dict[str, Any] | None = None
        self._services = RunServices(self.profile, self.secrets)
        self.limit_warnings: list[str] = []  # set on entering: file-descriptor limit, …
        self.writer: ResultWriter | None = None
        self.recorder: Recorder | None = None
        self._factory: ClientFactory | None = None  # one per run: warmed clients come from it

    async def __aenter__(self) -> Engine:
        load = self.profile.load
        bp = self.profile.breakpoint
        if bp is not None and load.model == "closed":  # the search may climb to its max
            load = replace(load, stages=(*load.stages, Stage(duration=0.0, target=bp.max)))
        self.limit_warnings = check_start(load, self.segment[1], profile=self.profile)
        tokenizer = self.profile.target.tokenizer
        self._count_tokens = token_counter(tokenizer) if tokenizer else None
        if Prompts.needed(self.profile):
            self._prompts = Prompts(self.profile, self.seed, self.segment)
        inputcount.warm(self.profile)  # a tokenizer that cannot load stops the start
        if self.profile.target.is_builtin:
            self._target = await start_builtin(self.profile.target.builtin, self.truth)
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
        if self._prompts is not None:
            self._prompts.close()
        if self._target is not None:
            await self._target.__aexit__(None, None, None)
            self._target = None

    def stop(self, reason: str = "stopped", *, interrupted: bool = True) -> None:
        """Stop the run from outside (Ctrl-C, an abort rule, an embedder); results are kept."""
        self.control.stop(reason, interrupted=interrupted)

    def stop_now(self, reason: str = "stopped") -> None:
        """Stop without the graceful stop: requests in flight are cancelled at once and
        counted ``interrupted``; results are still written (a second Ctrl-C)."""
        self.control.stop_now(reason)

    @property
    def stopping(self) -> bool:
        """True once ``stop()`` was called (or the run decided to end early)."""
        return self.control.stopping

    @property
    def stopping_now(self) -> bool:
        return self.control.stopping_now

    def snapshots(self) -> AsyncIterator[dict[str, Any]]:
        """Live interval records, about one a second, until the run ends."""
        return self.control.snapshots()

    @property
    def active_users(self) -> int:
        """Closed model: running VUs; open model: requests in flight."""
        return self._crowd.active_users

    @property
    def finishing_users(self) -> int:
        """Closed model: VUs told to stop (ramp-down, graceful stop) still finishing a request."""
        return self._crowd.finishing_users

    @property
    def in_flight(self) -> int:
        """Requests running now: what a stop waits for (at most ``load.graceful_stop``)."""
        return self._crowd.in_flight

    @property
    def breakpoint_so_far(self) -> dict[str, Any] | None:
        """A breakpoint search's steps judged so far, as the result's ``breakpoint``; else None."""
        search = self._breakpoint.search if self._breakpoint is not None else None
        if search is None or not search.steps:
            return None
        return bp_summary(search, "users" if self.profile.load.model == "closed" else "rate")

    @property
    def _stop_reason(self) -> str:
        return self.control.stop_reason

    @property
    def _interrupted(self) -> bool:
        return self.control.interrupted

    async def run(self) -> Result:
        if self.start_at is not None:
            await self._wait_for_start(self.start_at)
            if self.control.stopping:
                self.control.explain(" while waiting for the start")
        # load.warm_connections: connected before t = 0, counted apart from any request.
        warmed = await connect_ahead(self._clients(), warm_count(self.profile.load, self.segment))
        start = self.control.run_clock.now()
        self.control.started(start)
        started_wall = time.time()
        header, ctx = self._open_outputs(start, started_wall)
        for name, n in warmed.items():
            ctx.count(name, n)
        ticker = asyncio.create_task(self._intervals.tick(), name="loadgen-ticker")
        try:
            if not self.control.stopping:  # stopped while waiting for --start-at: send nothing
                await self._driver(ctx).drive(start)
            self.control.ended("completed")
            await self._drain(self.profile.load.graceful_stop)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            result = self._finish(header, start, started_wall)
        aws = self.profile.aws
        if aws is not None and (aws.cloudwatch or aws.cost):
            await self._services.after_run(result, self.writer)
        writer = self.writer
        if writer is not None and writer.failure is not None:
            failure = writer.failure
            if failure.path == str(writer.result_path):
                result = replace(result, path=None)
            raise OutputError(failure.path, failure.cause, result=result) from failure
        return result

    def _open_outputs(self, start: float, started_wall: float) -> tuple[dict[str, Any], VUContext]:
        """Start the recorder and the result writer; return the header and the VUs' context."""
        profile = self.profile
        slo = profile.slo
        self.recorder = recorder = Recorder(start, good=slo.good if slo.declared else None)
        self.writer = writer = (
            ResultWriter(self.out_dir, self.redacted) if self.out_dir is not None else None
        )
        header = run_header(
            self.profile,
            base_url=self.base_url,
            seed=self.seed,
            started_wall=started_wall,
            segment=self.segment,
            secrets=self.secrets,
        )
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
        self._intervals = Intervals(
            recorder,
            self._crowd,
            self.control,
            writer,
            unit=profile.load.unit,
            planned=self._planned,
            on_close=self._check_aborts,
            server=scrape_service(
                profile.target, self.base_url, self.control.run_clock, start, self.segment[0]
            ),
        )
        return header, ctx

    def _finish(self, header: dict[str, Any], start: float, started_wall: float) -> Result:
        """Close the last interval and the snapshots; build, redact and write the result."""
        recorder, profile, writer = self.recorder, self.profile, self.writer
        assert recorder is not None
        end = self.control.run_clock.now()
        self._intervals.close_last(end)
        self.control.publish(None)
        data = self._result_data(header, self._intervals.records, start, end, started_wall)
        data["thresholds"] = evaluate(list(profile.thresholds), data)
        search = self._breakpoint.search if self._breakpoint is not None else None
        if search is not None:
            unit = "users" if profile.load.model == "closed" else "rate"
            data["breakpoint"] = bp_summary(search, unit)
        # A server may echo a credential in any text it sends (error bodies above all).
        data = self.redacted(data)
        result = Result(data, writer.result_path if writer else None)
        if writer is not None:
            writer.finish(result)
        return result

    def _driver(self, ctx: VUContext) -> Driver:
        assert self.recorder is not None
        chosen = choose(
            self.profile,
            ctx,
            seed=self.seed,
            segment=self.segment,
            steps=self.steps,
            tally=self.recorder,
            crowd=self._crowd,
            control=self.control,
            intervals=self._intervals.records,
        )
        self._open_users, self._breakpoint = chosen.open_users, chosen.breakpoint
        self._intervals.planned = chosen.planned or self._intervals.planned  # a replay's
        driver: Driver = chosen.driver
        return driver

    async def _wait_for_start(self, start_at: float) -> None:
        """Wait until the wall-clock ``start_at`` or a stop, whichever comes first (a
        SIGTERM while waiting ends the run before any request). Re-read the clock each
        second, so a clock stepped during a long wait still starts on time."""
        while (delay := start_at - time.time()) > 0 and not self.control.stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.control.stopped(), min(delay, 1.0))

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
        return VUContext(
            pools=profile.data,
            record=record,
            new_client=self._clients().client,
            timeout=profile.target.timeout,
            run_tag=f"{self.seed:x}",
            base_url=self.base_url,
            count_tokens=self._count_tokens,
            prompts=self._prompts,
            count=count or (lambda name, n: None),
            check=check or (lambda name, ok: None),
            observe=observe or (lambda name, value: None),
            make_auth=self._services.make_auth,
            connect_timeout=profile.target.connect_timeout,
            honor_retry_after=profile.target.honor_retry_after,
            max_retry_after=profile.target.max_retry_after,
            correlation=profile.target.correlation,
            on_response=on_response,
            learn=self.secrets.add,
            bedrock=self._services.bedrock if profile.aws is not None else None,
        )

    def _clients(self) -> ClientFactory:
        """The run's per-VU client factory (one: the warm-up fills the pool VUs draw from)."""
        if self._factory is None:
            target = self.profile.target
            self._factory = ClientFactory(
                self.base_url,
                timeout=target.timeout,
                connect_timeout=target.connect_timeout,
                verify=target.verify,
                headers=target.headers,
                fast=target.transport == "fast",
                max_response_size=target.max_response_size,
                max_line=target.max_line,
            )
        return self._factory

    async def _drain(self, grace: float) -> None:
        """The graceful stop (loadgen.engine.crowd), then close what the run shared."""
        await self._crowd.drain(grace, self.control)
        if self._open_users is not None:
            await self._open_users.aclose()
        await self._clients().aclose_warm()
        await self._services.aclose()

    def _planned(self, elapsed: float) -> float:
        """The level the plan asks for at ``elapsed`` (a search: the step running)."""
        if self.profile.breakpoint is not None:
            return self._breakpoint.level if self._breakpoint is not None else 0.0
        return level_at(self.profile.load, elapsed)

    def redacted(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` with every secret this run knows masked in its text (histograms kept)."""
        out: dict[str, Any] = redact_strings(data, self.secrets, skip=_ENCODED)
        return out

    def _check_aborts(self, now: float) -> None:
        """Stop early when an ``abort_on_fail`` threshold fails past its ``after`` delay."""
        rec = self.recorder
        assert rec is not None
        if self.control.stopping:
            return
        elapsed = now - rec.start
        verdict = failed_abort(self.profile.thresholds, rec, elapsed)
        if verdict is not None:
            self._aborted_by = verdict
            self.stop(
                f"aborted: threshold {verdict['expr']} failed at {elapsed:.0f}s (abort_on_fail)",
                interrupted=False,
            )

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
            server=self._intervals.server.section() if self._intervals.server else None,
            control=self.control.events,
        )
        return cast(dict[str, Any], doc)
