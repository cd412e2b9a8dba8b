"""One answer being generated: capacity, token schedule, faults, writes, ground truth.

Token ``k`` is due at ``start + ttft + sum(gaps before k)``, computed from the slot grant
time, never from when the previous write happened, so timer lateness does not accumulate;
a late timer writes every token already due in one write. With zero delays and no fault
the whole answer is one ``write`` (the fast path). Where the bytes go is a :class:`Sink`:
an HTTP chunked SSE response, a plain JSON response, or WebSocket messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from loadgen.target.truth import truth_record

if TYPE_CHECKING:
    from loadgen.target.app import App
    from loadgen.target.http import HttpConnection, Request

__all__ = ["Format", "Generation", "Sink"]

_EARLY = 0.001  # tokens due within 1 ms are written now (uvloop timers have ms resolution)


class Format(Protocol):
    def opening(self) -> list[bytes]: ...
    def tokens(self, start: int, stop: int) -> list[bytes]: ...
    def closing(self) -> list[bytes]: ...
    def malformed(self) -> bytes: ...
    def whole(self) -> bytes: ...
    def events(self) -> list[bytes]: ...


class Sink(Protocol):
    """Where a generation writes. ``open`` is called once at arrival, before queueing."""

    status: int
    streams: bool
    """False for a non-streamed answer: tokens are generated but written only at the end."""

    def paused(self) -> bool: ...
    def wait_resume(self, callback: Callable[[], None]) -> None: ...
    def on_gone(self, callback: Callable[[], None]) -> None: ...
    def open(self, events: list[bytes]) -> int: ...
    def emit(self, events: list[bytes]) -> int: ...
    def close(self, events: list[bytes]) -> int: ...
    def whole(self, fmt: Format) -> int: ...
    def abort(self) -> int: ...
    def reject(self, status: int, code: str, message: str) -> int: ...


class Generation:
    """Schedules and writes one answer; the app's capacity queue holds these."""

    __slots__ = (
        "app",
        "bytes",
        "due",
        "ended",
        "fault",
        "fault_at",
        "first",
        "fmt",
        "handle",
        "injected",
        "k",
        "llm",
        "n",
        "prompt_tokens",
        "queued",
        "req",
        "rid",
        "route",
        "running",
        "sink",
        "start",
        "times",
        "ttft",
    )

    def __init__(
        self,
        app: App,
        sink: Sink,
        fmt: Format,
        *,
        n: int,
        ttft: float,
        route: str,
        rid: str | None,
        req: Request,
        fault: str | None,
        prompt_tokens: int = 0,
        llm: dict[str, Any] | None = None,
    ) -> None:
        self.app = app
        self.sink = sink
        self.fmt = fmt
        self.n = n
        self.ttft = ttft
        self.route = route
        self.rid = rid
        self.req = req
        self.fault = fault
        self.fault_at = n // 2
        self.prompt_tokens = prompt_tokens
        self.llm = llm  # the truth log's model-server fields (llmplan.truth_fields)
        self.k = 0
        self.due = 0.0
        self.start = 0.0
        self.bytes = 0
        self.first: float | None = None
        self.times: list[float] | None = [] if app.truth is not None else None
        self.handle: asyncio.TimerHandle | None = None
        self.queued = False
        self.running = False
        self.injected = False
        self.ended = False

    def schedule(self, conn: HttpConnection | None = None) -> None:
        """Run now or, under a ``slow_body_read`` fault, after the slow-body delay; ``conn``
        (an HTTP request's connection) stops reading meanwhile, as a server still reading a
        slow body would."""
        if self.fault != "slow_body_read":
            self.run()
            return
        app = self.app
        if conn is None:
            app.loop.call_later(app.config.faults.slow_body_delay, self.run)
            return
        transport = conn.transport
        transport.pause_reading()

        def resume() -> None:
            if conn.closed:
                return
            if not transport.is_closing() and not conn.write_paused:
                transport.resume_reading()
            self.run()

        app.loop.call_later(app.config.faults.slow_body_delay, resume)

    def run(self) -> None:
        """Admit to a slot (or queue, or reject with 503) and start writing."""
        app = self.app
        admission = app.slots.admit(self)
        if admission == "rejected":
            self.bytes = self.sink.reject(503, "overloaded", "queue full, try again later")
            self._record(time.monotonic(), "queue_full")
            return
        if admission == "run" and self.fault is None and self.ttft == 0 and app.itl_zero:
            self._whole()
            return
        self.sink.on_gone(self.client_gone)
        self.bytes = self.sink.open(self.fmt.opening())
        if admission == "queued":
            self.queued = True
        else:
            self.begin(time.monotonic())

    def _whole(self) -> None:
        self.bytes = self.sink.whole(self.fmt)
        now = time.monotonic()
        self.k = self.n
        self.first = now
        if self.times is not None and self.sink.streams:
            self.times = [now] * self.n
        self._release()
        self._record(now, None)

    def begin(self, now: float) -> None:
        """A slot is ours (now, or after queueing): the first token is due after TTFT."""
        self.queued = False
        self.running = True
        self.start = now
        self.due = now + self.ttft
        self._step()

    def _gap(self) -> float:
        app = self.app
        itl = app.itl_const if app.itl_const is not None else app.itl.sample(app.rng)
        return itl * app.slots.factor()

    def _step(self) -> None:
        self.handle = None
        sink = self.sink
        if sink.paused():
            sink.wait_resume(self._step)
            return
        now = time.monotonic()
        start = self.k
        events: list[bytes] = []
        n, fault = self.n, self.fault
        while self.k < n and self.due <= now + _EARLY:
            k = self.k
            if fault is not None and k == self.fault_at:
                if fault == "stall" and not self.injected:
                    self.injected = True
                    self.due += self.app.config.faults.stall_duration
                    break
                if fault == "drop_mid_stream":
                    self._flush(events, start, now)
                    self.bytes += sink.abort()
                    self._end(now, "drop_mid_stream")
                    return
                if fault == "malformed_chunk" and not self.injected:
                    self.injected = True
                    self._flush(events, start, now)
                    start = k
                    events = [self.fmt.malformed()]
            self.k = k + 1
            if self.k < n:
                self.due += self._gap()
        if self.k >= n and self.due <= now + _EARLY:
            events += self.fmt.tokens(start, n)
            self._mark(start, n, now)
            self.bytes += sink.close(events + self.fmt.closing())
            if not sink.streams:
                self.first = now
            self._end(now, None)
            return
        self._flush(events, start, now)
        loop = self.app.loop
        self.handle = loop.call_at(loop.time() + (self.due - now), self._step)

    def _flush(self, events: list[bytes], start: int, now: float) -> None:
        if start < self.k:
            events += self.fmt.tokens(start, self.k)
            self._mark(start, self.k, now)
        if events:
            self.bytes += self.sink.emit(events)

    def _mark(self, start: int, stop: int, now: float) -> None:
        if stop > start and self.sink.streams:
            if self.first is None:
                self.first = now
            if self.times is not None:
                self.times.extend([now] * (stop - start))

    def client_gone(self) -> None:
        """The client closed the connection: stop, free the slot or the queue place."""
        if self.ended:
            return
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        if self.queued:
            self.app.slots.cancel(self)
            self.queued = False
        self._end(time.monotonic(), "client_closed")

    def _release(self) -> None:
        app = self.app
        nxt = app.slots.release()
        if nxt is not None:
            nxt.begin(time.monotonic())

    def _end(self, now: float, reason: str | None) -> None:
        self.ended = True
        if self.running:
            self.running = False
            self._release()
        self._record(now, reason)

    def _record(self, now: float, reason: str | None) -> None:
        self.ended = True
        app = self.app
        status = self.sink.status
        app.metrics.requests[self.route, status] += 1
        app.metrics.tokens += self.k
        if self.fault is not None:
            app.metrics.faults[self.fault] += 1
        app.vllm.finished(
            arrival=self.req.arrival,
            start=self.start,
            first=self.first,
            end=now,
            prompt_tokens=self.prompt_tokens,
            tokens=self.k,
            ok=status == 200 and reason is None,
            llm=self.llm,
        )
        if app.truth is not None:
            app.truth.add(
                truth_record(
                    id=self.rid or app.next_id(),
                    route=self.route,
                    arrival=self.req.arrival,
                    wall=self.req.wall,
                    first_token=self.first,
                    tokens=self.times or [],
                    end=now,
                    bytes=self.bytes,
                    status=status,
                    fault=self.fault,
                    queue_wait=(self.start - self.req.arrival) if self.start else 0.0,
                    reason=reason,
                    prompt_tokens=self.prompt_tokens,
                    completion_tokens=self.k,
                    first_answer=self._first_answer(),
                    llm=self.llm,
                )
            )

    def _first_answer(self) -> float | None:
        """When the first token after the reasoning ones was written (None if none was)."""
        reasoning = self.llm["reasoning_tokens"] if self.llm else 0
        if not reasoning or not self.sink.streams:
            return self.first if self.k > reasoning else None
        times = self.times or []
        return times[reasoning] if len(times) > reasoning else None
