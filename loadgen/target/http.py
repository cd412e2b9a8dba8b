"""The HTTP/1.1 edge: an ``asyncio.Protocol`` fed to ``httptools``, and response writing.

Only moves bytes: requests are parsed into :class:`Request` and handed to the app's
``dispatch``; responses are written with as few ``transport.write`` calls as possible.
One response at a time per connection (pipelined requests wait their turn). When the
kernel buffer fills (``pause_writing``) reading stops and the streaming answer waits for
``resume_writing`` instead of buffering without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httptools

if TYPE_CHECKING:
    from loadgen.target.app import App
    from loadgen.target.ws import WsConnection

__all__ = ["HttpConnection", "Request", "response_head"]

MAX_BODY = 16 * 1024 * 1024
_REASONS = {
    200: b"OK",
    201: b"Created",
    204: b"No Content",
    400: b"Bad Request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    409: b"Conflict",
    413: b"Payload Too Large",
    422: b"Unprocessable Entity",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}
JSON = b"application/json"
_decode = json.JSONDecoder().decode
_HEADS: dict[tuple[int, bytes, bool], bytes] = {}


def response_head(
    status: int, content_type: bytes, length: int | None, keep_alive: bool, extra: bytes = b""
) -> bytes:
    """Status line and headers; ``length=None`` means chunked transfer encoding."""
    if length is None and not extra:
        key = (status, content_type, keep_alive)
        cached = _HEADS.get(key)
        if cached is None:
            cached = _HEADS[key] = _head(status, content_type, None, keep_alive, b"")
        return cached
    return _head(status, content_type, length, keep_alive, extra)


def _head(
    status: int, content_type: bytes, length: int | None, keep_alive: bool, extra: bytes
) -> bytes:
    head = b"HTTP/1.1 %d %b\r\ncontent-type: %b\r\n" % (
        status,
        _REASONS.get(status, b"Unknown"),
        content_type,
    )
    if length is None:
        head += b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n"
    else:
        head += b"content-length: %d\r\n" % length
    if not keep_alive:
        head += b"connection: close\r\n"
    return head + extra + b"\r\n"


class Request:
    """One parsed request. Header names are lower-cased bytes."""

    __slots__ = ("arrival", "body", "headers", "keep_alive", "method", "path", "query")

    def __init__(self, arrival: float) -> None:
        self.arrival = arrival
        self.method = b""
        self.path = b""
        self.query = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.keep_alive = True

    @property
    def wall(self) -> float:
        """Wall-clock time of arrival (derived lazily: the hot path never needs it)."""
        return time.time() - (time.monotonic() - self.arrival)

    def header(self, name: bytes) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("latin-1")
        return None

    def bearer(self) -> str | None:
        value = self.header(b"authorization")
        if value is None:
            return None
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    def json(self) -> Any:
        """The JSON body; ValueError with a readable message otherwise."""
        try:
            return _decode(self.body.decode()) if self.body else {}
        except (ValueError, UnicodeDecodeError):
            raise ValueError("the request body is not valid JSON") from None


class HttpConnection(asyncio.Protocol):
    """One client connection; becomes a WebSocket after an accepted Upgrade."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.req: Request | None = None
        self.url = b""
        self.body: list[bytes] = []
        self.size = 0
        self.busy = False
        self.pending: deque[Request] = deque()
        self.draining = False
        self.write_paused = False
        self.on_resume: Callable[[], None] | None = None
        self.on_lost: Callable[[], None] | None = None
        self.closed = False
        self.ws: WsConnection | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.app.connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if self.ws is not None:
            self.ws.feed(data)
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            req, self.req = self.req, None
            if req is not None:
                self.app.upgrade(self, req, data[exc.args[0] :])
        except httptools.HttpParserError:
            self.transport.write(response_head(400, b"text/plain", 12, False) + b"bad request\n")
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.app.connections.discard(self)
        if self.on_lost is not None:
            callback, self.on_lost = self.on_lost, None
            callback()
        if self.ws is not None:
            self.ws.connection_lost()

    def pause_writing(self) -> None:
        self.write_paused = True
        if not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if not self.transport.is_closing():
            self.transport.resume_reading()
        if self.on_resume is not None:
            callback, self.on_resume = self.on_resume, None
            callback()

    # httptools callbacks

    def on_message_begin(self) -> None:
        self.req = Request(time.monotonic())
        self.url = b""
        self.body = []
        self.size = 0

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.req is not None:
            self.req.headers.append((name.lower(), value))

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size <= MAX_BODY:
            self.body.append(body)

    def on_message_complete(self) -> None:
        req = self.req
        if req is None:
            return
        path, _, req.query = self.url.partition(b"?")
        req.path = path
        req.method = self.parser.get_method()
        req.keep_alive = self.parser.should_keep_alive()
        body = self.body
        req.body = body[0] if len(body) == 1 else b"".join(body)
        if self.parser.should_upgrade():
            return  # data_received gets HttpParserUpgrade next and hands over to the app
        self.req = None
        if self.size > MAX_BODY:
            req.body = b""
            self.respond(req, 413, b'{"detail": "request body too large"}', keep_alive=False)
            return
        if self.busy:
            self.pending.append(req)
            return
        self.busy = True
        self.app.dispatch(self, req)

    # responses

    def respond(
        self,
        req: Request,
        status: int,
        body: bytes,
        content_type: bytes = JSON,
        extra: bytes = b"",
        keep_alive: bool | None = None,
    ) -> int:
        """Write a complete response and move on to the next request; returns bytes written."""
        keep = req.keep_alive if keep_alive is None else keep_alive
        data = response_head(status, content_type, len(body), keep, extra) + body
        self.transport.write(data)
        self.finish(keep)
        return len(data)

    def respond_json(self, req: Request, status: int, obj: Any, extra: bytes = b"") -> int:
        return self.respond(req, status, json.dumps(obj).encode(), JSON, extra)

    def finish(self, keep_alive: bool) -> None:
        """The current response is complete: close, or start the next pipelined request."""
        self.busy = False
        self.on_lost = None
        self.on_resume = None
        if not keep_alive:
            self.transport.close()
            return
        if self.draining or not self.pending:
            return
        self.draining = True
        try:
            while self.pending and not self.busy and not self.closed:
                self.busy = True
                self.app.dispatch(self, self.pending.popleft())
        finally:
            self.draining = False
