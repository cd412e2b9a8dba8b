"""One HTTP/1.1 keep-alive connection of the fast client: the hot path of a streamed answer.

The response is parsed by httptools (llhttp) inside ``data_received``; each read is stamped
once with ``monotonic()`` and its body bytes go straight to the sink with that time. The bounds
on what a hostile server may send are here (see ``fasthttp``'s docstring).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from time import monotonic
from typing import cast

import httptools

from loadgen.edge.deadlines import Deadlines
from loadgen.edge.fasterrors import ConnectFailed, ProtocolFailed, StreamBroken

__all__ = ["MAX_HEADERS", "MAX_HEAD_BYTES", "Connection", "FastResponse", "RawHeaders", "Sink"]

#: Takes each body chunk and the time it arrived; a true result means the answer is complete
#: (the reader saw its end marker) whatever the HTTP framing still promises.
Sink = Callable[[bytes, float], object]
_ERROR_BODY = 300
MAX_HEAD_BYTES = 64 << 10  # the response head (status line and fields, 1xx heads included)
MAX_HEADERS = 256  # fields in the response head
_DRAIN_LIMIT = 64 << 10  # bytes read past an answer's end while waiting for its framing's end
_SETTLE = 0.25  # seconds a next request waits for that end before it opens a new connection


class RawHeaders(Mapping[str, str]):
    """Response headers kept as received and decoded on first use: most requests never look
    at them, and decoding each one in the parser's callback cost ~0.4 µs a header."""

    __slots__ = ("_decoded", "raw")

    def __init__(self) -> None:
        self.raw: list[tuple[bytes, bytes]] = []
        self._decoded: dict[str, str] | None = None

    def _map(self) -> dict[str, str]:
        # Lower-cased names; a repeated header keeps its last value.
        if self._decoded is None:
            self._decoded = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.raw}
        return self._decoded

    def __getitem__(self, name: str) -> str:
        return self._map()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map())

    def __len__(self) -> int:
        return len(self._map())


class FastResponse:
    __slots__ = ("error_body", "first_byte", "headers", "status", "written")

    def __init__(self) -> None:
        self.status = 0
        self.first_byte: float | None = None
        self.written: float | None = None  # the request was handed to the kernel (send phase)
        self.error_body = b""
        self.headers = RawHeaders()


class Connection(asyncio.Protocol):
    """One connection; handles one request at a time (HTTP/1.1 without pipelining)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._done: asyncio.Future[None] | None = None
        self._response: FastResponse | None = None
        self._sink: Sink | None = None
        self._parts: list[bytes] = []
        self._headers_done = False
        self._until_eof = False
        self._framed = False
        self._complete = False
        self._keep_alive = False
        self.received_any = False
        self._paused_reading = False
        self._head_bytes = 0  # bytes read while the final response's head was incomplete
        self._fields = 0
        self._informational = False  # parsing a 1xx response, skipped
        self._bad_head = ""  # why the head was refused, set in a parser callback
        self._extra = False  # a second message began after the response: never parsed
        self._answered = False  # the sink said the answer is complete
        self._streaming = False  # first byte stamped, 2xx, a sink: reads go straight to it
        self.draining = False  # answered before its body ended: reading the rest, if it comes
        self._drained = 0
        self._settled: asyncio.Future[None] | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: no isinstance check.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.draining:
            self._drain(data)
            return
        if self._done is None or self._done.done():
            # Bytes outside a request: what they say cannot be trusted, and parsed later they
            # would pass for the next request's answer. A stray CRLF is tolerated (RFC 9112).
            if data.strip(b"\r\n"):
                self.abort()
            return
        self.received_any = True
        now = monotonic()
        try:
            self._parser.feed_data(data)
            if not self._headers_done:
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES and not self._bad_head:
                    self._bad_head = f"response head larger than {MAX_HEAD_BYTES} bytes"
            if self._bad_head:
                raise ProtocolFailed(self._bad_head)
            parts = self._parts
            if parts:
                chunk = parts[0] if len(parts) == 1 else b"".join(parts)
                parts.clear()
                if self._streaming:  # a 2xx answer under way: straight to its reader
                    if self._sink(chunk, now):  # type: ignore[misc]
                        self._answered = True
                else:
                    self._deliver(chunk, now)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            why = "bytes after the end of the response body" if self._extra else self._bad_head
            self._fail(ProtocolFailed(why or f"invalid HTTP response: {exc}"))
            return
        except Exception as exc:  # the sink's parse errors: SSE, JSON, size limits
            self._fail(exc)
            return
        # No local may hold the request's future or the read: a failure's traceback keeps
        # this frame, and the future holds the failure (a cycle only the collector breaks).
        if self._extra:
            self._fail(ProtocolFailed("bytes after the end of the response body"))
        elif self._complete:
            self._done.set_result(None)
        elif self._answered:
            # The answer is complete (data: [DONE]) but the body is not: the request ends
            # now; the rest of the body is read if it comes, and decides the connection's reuse.
            self.draining = not self._until_eof
            self._done.set_result(None)

    def _drain(self, data: bytes) -> None:
        self._drained += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self.abort()
            return
        self._parts.clear()
        if self._extra or self._drained > _DRAIN_LIMIT:
            self.abort()
        elif self._complete:
            self._settle()
            if not self._keep_alive:
                self.abort()

    def _settle(self) -> None:
        self.draining = False
        if self._settled is not None and not self._settled.done():
            self._settled.set_result(None)

    async def settle(self) -> None:
        """Wait (briefly) for the end of a body whose answer ended early; past ``_SETTLE``
        the connection is dropped and the caller opens a new one."""
        self._settled = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(_SETTLE):
                await self._settled
        except TimeoutError:
            self.abort()
        finally:
            self._settled = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._settle()
        done = self._done
        if done is None or done.done():
            return
        if self._headers_done and self._until_eof and exc is None:
            self._complete = True  # a body delimited by the end of the connection
            done.set_result(None)
        elif self._headers_done:
            done.set_exception(
                StreamBroken("connection closed mid-stream" + (f": {exc}" if exc else ""))
            )
        else:
            done.set_exception(
                ConnectFailed(
                    "server closed the connection before answering" + (f": {exc}" if exc else "")
                )
            )

    # -- httptools callbacks ---------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._complete or self._answered:
            self._extra = True  # a second response where none was asked for

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        if self._fields > MAX_HEADERS:
            self._bad_head = f"response head with more than {MAX_HEADERS} header fields"
            return
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self._framed = True
        assert self._response is not None
        self._response.headers.raw.append((name, value))

    def on_headers_complete(self) -> None:
        assert self._response is not None
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            # 100 Continue, 103 Early Hints: informational, the final response follows.
            self._informational = True
            self._framed = False
            self._response.headers.raw.clear()
            return
        if status == 101:
            self._bad_head = "101 Switching Protocols, which was never asked for"
        self._headers_done = True
        self._response.status = status
        self._until_eof = not self._framed

    def on_body(self, body: bytes) -> None:
        self._parts.append(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self._complete = True
        # Read here: once the callback returns, llhttp resets and says False for every message.
        self._keep_alive = self._parser.should_keep_alive()

    # -- use -------------------------------------------------------------------------------
    def _deliver(self, chunk: bytes, now: float) -> None:
        response = self._response
        assert response is not None
        if response.first_byte is None:
            response.first_byte = now
        if 200 <= response.status < 300:
            if self._sink is not None:
                self._streaming = True  # the next reads skip this method
                if self._sink(chunk, now):
                    self._answered = True
        elif len(response.error_body) < _ERROR_BODY:
            response.error_body += chunk[:_ERROR_BODY]

    def _fail(self, exc: BaseException) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_exception(exc)
        self.abort()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def expire(self) -> None:
        """The request's deadline passed: it fails with ``TimeoutError``."""
        if self._done is not None and not self._done.done():
            self._done.set_exception(TimeoutError())

    async def exchange(
        self,
        payload: bytes,
        sink: Sink | None,
        response: FastResponse,
        deadline: float | None,
        deadlines: Deadlines,
    ) -> FastResponse:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        self._response = response
        self._sink = sink
        self._headers_done = self._until_eof = self._framed = self._complete = False
        self._keep_alive = self._informational = self._extra = self._answered = False
        self._streaming = False
        self.received_any = self.draining = False
        self._head_bytes = self._fields = self._drained = 0
        self._bad_head = ""
        # One parser per connection: llhttp starts on the next response after a complete
        # one; a connection whose response failed half-way is aborted, never reused.
        self.transport.write(payload)
        response.written = monotonic()
        bucket = deadlines.add(self, deadline) if deadline is not None else None
        try:
            await self._done
        except BaseException:
            self.abort()  # cancelled, failed or timed out mid-response: state unknown
            raise
        finally:
            self._sink = None
            self._streaming = False
            self._done = None  # a failure's traceback refers back here: no cycle to wait for
            if bucket is not None:
                deadlines.discard(self, bucket)
        if self.draining:
            return response
        if self._until_eof or not self._keep_alive:
            self.abort()
        return response
