"""Live export of a run's own metrics to Prometheus: pushed by remote write every second,
served at ``/metrics`` as each scrape finds them.

A service beside the engine, fed by the same snapshots as the progress line and the journal
(``Engine.snapshots()``): each interval it reads the recorder's cumulative scopes into
series (``loadgen.core.promseries``) and pushes them when a push is not already on its way
(a slow receiver skips intervals, never delays the run: the series are cumulative, nothing
is lost). A scrape reads the recorder when it comes (pull only: no work between scrapes).
At the end it pushes the final numbers once more and, when something was scraping, waits
for the next scrape (at most one scrape period and a second, 30 s at most) so the final
numbers are read. Failures are counted in ``problems``, never fatal: the result stands.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from loadgen.core import promseries, promwire
from loadgen.core.errors import StartError
from loadgen.core.stats import Recorder
from loadgen.edge.promhttp import MetricsServer, RemoteWriter

__all__ = ["ExportOptions", "Exporter"]

_FINAL_PUSH_TIMEOUT = 10.0
_LINGER_CAP = 30.0


@dataclass(frozen=True, kw_only=True)
class ExportOptions:
    """``remote_write``: receivers (``--out prometheus=URL``, ``?histograms=native`` for
    native histograms: ``promwire.receiver``); ``metrics_port``: serve
    ``/metrics`` there (``--metrics-port``), on ``metrics_host``; ``run_id``: the label."""

    remote_write: tuple[str, ...] = ()
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    run_id: str = ""

    @property
    def wanted(self) -> bool:
        return bool(self.remote_write) or self.metrics_port is not None


class _Runner(Protocol):
    """What the exporter reads of an ``Engine``."""

    recorder: Recorder | None
    segment: tuple[int, int]

    @property
    def profile(self) -> Any: ...

    @property
    def in_flight(self) -> int: ...

    def snapshots(self) -> Any: ...


class Exporter:
    """``async with Exporter(engine, options):`` around ``engine.run()``."""

    def __init__(self, runner: _Runner, options: ExportOptions) -> None:
        self.runner = runner
        self.options = options
        index, count = runner.segment
        self.labels: promseries.Labels = (
            ("profile", runner.profile.name),
            ("run_id", options.run_id),
            ("segment", f"{index + 1}/{count}"),
        )
        self.server: MetricsServer | None = None
        receivers = [promwire.receiver(text) for text in options.remote_write]
        self.writers = [RemoteWriter(url) for url, _ in receivers]
        self._native = [native for _, native in receivers]  # per writer
        self._collector = promseries.Collector(native=any(self._native))
        #: Pushes tried, failed and skipped (the previous one still on its way).
        self.pushes = self.failed = self.skipped = 0
        self.first_failure = ""
        self._families: list[promseries.Family] = []
        self._gauges: dict[str, float] = {}
        self._push: asyncio.Task[None] | None = None
        self._encoders: dict[bool, promwire.RemoteWrite] = {}  # by native
        self._final = False  # the run is over: _families hold its final numbers
        self._watch: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Exporter:
        if self.writers:
            try:  # missing protobuf/cramjam: say so before the run, not after it
                for native in set(self._native):
                    self._encoders[native] = promwire.RemoteWrite(native=native)
            except ImportError as exc:
                await self._close_writers()
                raise StartError(str(exc)) from exc
        if self.options.metrics_port is not None:
            host, port = self.options.metrics_host, self.options.metrics_port
            self.server = MetricsServer(self._text, host, port)
            try:
                await self.server.start()
            except OSError as exc:
                await self._close_writers()
                raise StartError(
                    f"--metrics-port {port}: cannot listen on {host}:{port}: {exc.strerror or exc}",
                    "choose a free port",
                ) from exc
        self._watch = asyncio.create_task(self._follow())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        try:
            self._gauges = {"users": 0, "in_flight": 0, "rps": self._gauges.get("rps", 0.0)}
            self._refresh()
            self._final = True
            if self._push is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await self._push
            if self.writers and self.runner.recorder is not None:
                self._push = asyncio.create_task(self._send(self._body()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._push), _FINAL_PUSH_TIMEOUT)
            if kind is None:
                await self._linger()
        finally:
            if self._push is not None and not self._push.done():
                self._push.cancel()
            if self.server is not None:
                await self.server.aclose()
            await self._close_writers()

    @property
    def problems(self) -> list[str]:
        """What went wrong, for the CLI to print (empty when every push went through)."""
        if not self.failed:
            return []
        urls = ", ".join(self.options.remote_write)
        return [
            f"prometheus remote write to {urls}: {self.failed} of {self.pushes} pushes failed "
            f"(first: {self.first_failure})"
        ]

    async def _follow(self) -> None:
        async for record in self.runner.snapshots():
            planned = record.get("planned") or {}
            self._gauges = {
                "users": record.get("users", 0),
                "in_flight": self.runner.in_flight,
                "rps": record.get("rps", 0.0),
                "planned": next(iter(planned.values()), 0.0),
            }
            if not self.writers:
                continue  # pull only: scrapes read the recorder themselves (_text)
            self._refresh()
            if self._push is not None and not self._push.done():
                self.skipped += 1
                continue
            self._push = asyncio.create_task(self._send(self._body()))

    def _refresh(self) -> None:
        recorder = self.runner.recorder
        if recorder is not None:
            self._families = self._collector.collect(recorder, self.labels, self._gauges)

    def _text(self) -> str:
        """A scrape: the numbers as they are now (nothing is collected between scrapes when
        nothing is pushed); after the run, its final numbers."""
        if not self._final:
            self._gauges["in_flight"] = self.runner.in_flight
            self._refresh()
        return promwire.exposition(self._families)

    def _body(self) -> dict[bool, bytes]:
        """The body of each histogram form a receiver wants (classic, native)."""
        now = int(time.time() * 1000)
        return {native: e.body(self._families, now) for native, e in self._encoders.items()}

    async def _send(self, bodies: dict[bool, bytes]) -> None:
        for writer, native in zip(self.writers, self._native, strict=True):
            self.pushes += 1
            try:
                await writer.push(bodies[native])
            except RuntimeError as exc:
                self.failed += 1
                self.first_failure = self.first_failure or str(exc)

    async def _linger(self) -> None:
        """Serve until a scrape has read the final numbers, if something scrapes at all."""
        server = self.server
        if server is None or not server.scrapes:
            return
        done_at = time.monotonic()
        period = server.period() or 5.0
        deadline = done_at + min(period + 1.0, _LINGER_CAP)
        while server.scrapes[-1] < done_at and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def _close_writers(self) -> None:
        for writer in self.writers:
            await writer.aclose()
