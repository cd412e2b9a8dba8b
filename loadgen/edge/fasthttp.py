"""A lean HTTP/1.1 client for the streamed-chat hot path: one keep-alive connection per VU.

httpx stays the library for general HTTP work (plain tasks, proxies, HTTP/2); for streamed
answers its per-request machinery costs ~0.8 ms of CPU before the first byte leaves and a
coroutine switch per body chunk, which shows up as latency under load. Here the response is
parsed by httptools (llhttp, the parser uvicorn uses) inside ``data_received`` and body bytes
go straight to the stream reader with the time they arrived: the VU awaits one future per
request. Only what the hot path needs: no redirects, no proxies, no compression, no HEAD.

What a hostile server may send is bounded (RFC 9110/9112 where they speak): 1xx informational
responses are skipped; the response head is at most ``MAX_HEAD_BYTES`` and ``MAX_HEADERS``
fields; bytes after a framed body are a protocol error and never read as the next answer; a
close-delimited body cut by a reset is broken, not complete; once the reader has its answer
(``data: [DONE]``) the request ends even if the server keeps the body open.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from time import monotonic
from typing import cast
from urllib.parse import urlsplit

import httptools

from loadgen.core.netcause import local_limit, network_cause
from loadgen.core.wire import unsafe_request

__all__ = [
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "ConnectFailed",
    "Deadlines",
    "FastClient",
    "FastResponse",
    "LocalLimit",
    "ProtocolFailed",
    "StreamBroken",
    "UnsafeHeaders",
]

#: Takes each body chunk and the time it arrived; a true result means the answer is complete
#: (the reader saw its end marker) whatever the HTTP framing still promises.
Sink = Callable[[bytes, float], object]
_ERROR_BODY = 300
MAX_HEAD_BYTES = 64 << 10  # the response head (status line and fields, 1xx heads included)
MAX_HEADERS = 256  # fields in the response head
_DRAIN_LIMIT = 64 << 10  # bytes read past an answer's end while waiting for its framing's end
_SETTLE = 0.25  # seconds a next request waits for that end before it opens a new connection


class FastHTTPError(Exception):
    """Base of the fast client's errors; each maps to one error kind."""


class ConnectFailed(FastHTTPError):
    """No connection, or the server hung up before answering (``connect``)."""


class StreamBroken(FastHTTPError):
    """The connection ended after the response had started (``stream_broken``)."""


class ProtocolFailed(FastHTTPError):
    """The response was not valid HTTP/1.1 (``protocol``)."""


class LocalLimit(FastHTTPError):
    """The generator ran out of its own resources: open files, local ports (``generator``)."""


class UnsafeHeaders(FastHTTPError):
    """A header or the path holds CR, LF or NUL: refused before sending (``protocol``)."""


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
    __slots__ = ("error_body", "first_byte", "headers", "status")

    def __init__(self) -> None:
        self.status = 0
        self.first_byte: float | None = None
        self.error_body = b""
        self.headers = RawHeaders()


class Deadlines:
    """Request deadlines of many connections, checked by one timer every ``tick`` seconds.

    A timer per request (``loop.call_at`` or ``asyncio.timeout``) cost ~12 µs of a ~90 µs
    request with 1,000 connections open on uvloop (measured: 9,237 -> 10,404 requests per
    CPU-second without it). Here a request joins the bucket of its deadline rounded up to a
    tick and leaves it when done; a sweep expires whole buckets whose time has come. A
    request times out at most ``tick`` late: ``ClientFactory`` picks ``tick`` from the
    profile's timeout (1/50 of it, 1 to 50 ms).
    """

    def __init__(self, tick: float = 0.05) -> None:
        if tick <= 0:
            raise ValueError("tick must be positive")
        self.tick = tick
        self._buckets: dict[int, dict[_Connection, None]] = {}
        self._swept = -1  # buckets up to this one are done
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, conn: _Connection, deadline: float) -> int:
        """Expire ``conn``'s request at ``deadline`` (``loop.time()``); returns its bucket."""
        if self._handle is None or self._loop is not asyncio.get_running_loop():
            self._start()
        bucket = -int(-deadline // self.tick)  # rounded up
        if bucket <= self._swept:
            bucket = self._swept + 1  # not into a bucket already swept
        members = self._buckets.get(bucket)
        if members is None:
            members = self._buckets[bucket] = {}
        members[conn] = None
        return bucket

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (a later run): nothing carries over
            self._buckets.clear()
            self._swept = -1
            self._loop = loop
        self._swept = max(self._swept, int(loop.time() // self.tick) - 1)
        self._handle = loop.call_at(loop.time() + self.tick, self._sweep, loop)

    def discard(self, conn: _Connection, bucket: int) -> None:
        members = self._buckets.get(bucket)
        if members is not None:
            members.pop(conn, None)
            if not members:
                del self._buckets[bucket]

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        due = int(now // self.tick)
        if due - self._swept > len(self._buckets):  # a long pause: look only at what exists
            expired = sorted(b for b in self._buckets if b <= due)
        else:
            expired = [b for b in range(self._swept + 1, due + 1) if b in self._buckets]
        self._swept = due
        for bucket in expired:
            for conn in self._buckets.pop(bucket):
                conn.expire()
        self._handle = loop.call_at(now + self.tick, self._sweep, loop) if self._buckets else None


class _Connection(asyncio.Protocol):
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
            if self._parts:
                chunk = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
                self._parts.clear()
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
            if self._sink is not None and self._sink(chunk, now):
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
        self.received_any = self.draining = False
        self._head_bytes = self._fields = self._drained = 0
        self._bad_head = ""
        # One parser per connection: llhttp starts on the next response after a complete
        # one; a connection whose response failed half-way is aborted, never reused.
        self.transport.write(payload)
        bucket = deadlines.add(self, deadline) if deadline is not None else None
        try:
            await self._done
        except BaseException:
            self.abort()  # cancelled, failed or timed out mid-response: state unknown
            raise
        finally:
            self._sink = None
            self._done = None  # a failure's traceback refers back here: no cycle to wait for
            if bucket is not None:
                deadlines.discard(self, bucket)
        if self.draining:
            return response
        if self._until_eof or not self._keep_alive:
            self.abort()
        return response


class FastClient:
    """A VU's own keep-alive connection to one origin (``http://`` or ``https://``)."""

    def __init__(
        self,
        base_url: str,
        *,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float,
        headers: dict[str, str] | None = None,
        deadlines: Deadlines | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        self._deadlines = deadlines or Deadlines()
        self.host = parts.hostname or "127.0.0.1"
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        self._ssl = ssl_context if self.tls else None
        self._connect_timeout = connect_timeout
        host_header = self.host if parts.port is None else f"{self.host}:{self.port}"
        if ":" in self.host and parts.port is None:
            host_header = f"[{self.host}]"
        base = {
            "host": host_header,
            "user-agent": "loadgen",
            "accept": "*/*",
            **{k.lower(): v for k, v in (headers or {}).items()},
        }
        self._base_headers = base
        self._base_block = "".join(f"{k}: {v}\r\n" for k, v in base.items())
        self._base_unsafe = unsafe_request(self.prefix, base)
        self._starts: dict[tuple[str, str], str] = {}
        self._conn: _Connection | None = None
        #: The latest request's response, also when it failed part-way: its status and first
        #: byte tell a stream that broke (or timed out) after it started from one that never did.
        self.partial: FastResponse | None = None

    async def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        sink: Sink | None,
        deadline: float | None = None,
    ) -> FastResponse:
        """Send one request and feed its 2xx body to ``sink``; raise a FastHTTPError on failure.

        ``deadline`` (``loop.time()``) bounds the whole request, connecting included: past
        it ``TimeoutError`` is raised and the connection dropped.
        """
        payload = self._payload(method, path, headers, body)
        self.partial = response = FastResponse()
        conn = self._conn
        if conn is not None and conn.draining:
            await conn.settle()
        reused = conn is not None and not conn.closed
        if not reused:
            conn = await self._connect(deadline)
        assert conn is not None
        try:
            return await conn.exchange(payload, sink, response, deadline, self._deadlines)
        except ConnectFailed:
            if not (reused and not conn.received_any):
                raise
        # The server closed an idle keep-alive connection as we reused it: one fresh try.
        conn = await self._connect(deadline)
        return await conn.exchange(payload, sink, response, deadline, self._deadlines)

    def _payload(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> bytes:
        """The request head (and body): the client's own headers, overridden by ``headers``.

        Raises ``UnsafeHeaders`` for a header or path holding CR, LF or NUL.
        """
        unsafe = self._base_unsafe or unsafe_request(path, headers)
        if unsafe:
            raise UnsafeHeaders(unsafe)
        start = self._starts.get((method, path))
        if start is None:
            start = self._starts[(method, path)] = f"{method} {self.prefix}{path} HTTP/1.1\r\n"
        base = self._base_headers
        keys = headers.keys()
        # C-level checks: no name of the client's own, none that could be one in other case.
        if base.keys() & keys or not all(map(str.islower, keys)):
            merged = dict(base)
            merged.update((k.lower(), v) for k, v in headers.items())
            fields = "".join([f"{k}: {v}\r\n" for k, v in merged.items()])
        else:
            fields = self._base_block + "".join([f"{k}: {v}\r\n" for k, v in headers.items()])
        if body is not None:
            fields += f"content-length: {len(body)}\r\n"
        head = (start + fields + "\r\n").encode("latin-1")
        return head + body if body else head

    async def _connect(self, deadline: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        limit = self._connect_timeout
        if deadline is not None and deadline - loop.time() < limit:
            limit = deadline - loop.time()  # the request's own deadline comes first
        try:
            async with asyncio.timeout(limit):
                _, conn = await loop.create_connection(
                    _Connection,
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl is not None else None,
                )
        except TimeoutError:
            if limit < self._connect_timeout:
                raise  # the request's timeout, not the connect timeout
            raise ConnectFailed(f"connect timeout after {self._connect_timeout:g}s") from None
        except socket.gaierror as exc:
            raise ConnectFailed(f"DNS: cannot resolve {self.host!r}: {network_cause(exc)}") from exc
        except ssl.SSLCertVerificationError as exc:
            raise ConnectFailed(
                f"TLS: certificate verify failed: {exc.verify_message} — give target.verify "
                "the CA bundle that signed it (or false to skip verification)"
            ) from None
        except ssl.SSLError as exc:
            raise ConnectFailed(f"TLS handshake failed: {exc.reason or exc}") from None
        except OSError as exc:
            limit_hit = local_limit(exc)
            if limit_hit:
                raise LocalLimit(f"{limit_hit} (connecting to {self.host}:{self.port})") from exc
            # asyncio's own "Connect call failed (addr)" hides the reason; errno has it.
            reason = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))
            during = " during the TLS handshake" if self._ssl is not None else ""
            raise ConnectFailed(f"{reason}{during} ({self.host}:{self.port})") from None
        sock = conn.transport.get_extra_info("socket") if conn.transport else None
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conn = conn
        return conn

    async def aclose(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            if conn.transport is not None and not conn.closed:
                conn.closed = True
                conn.transport.close()
