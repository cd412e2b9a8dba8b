"""Where an answer's bytes go over HTTP: a chunked SSE stream, or one JSON body.

Each ``Sink`` method writes with one ``transport.write`` and returns the bytes written, so
the ground truth counts exactly what went on the wire.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from loadgen.target.encode import chunked
from loadgen.target.generation import Format
from loadgen.target.http import JSON, HttpConnection, Request, response_head

__all__ = ["HttpSink", "JsonSink", "error_body"]

SSE = b"text/event-stream; charset=utf-8"
_END = b"0\r\n\r\n"


def error_body(openai: bool, status: int, code: str, message: str) -> bytes:
    """OpenAI routes answer ``{"error": {...}}``; the chatbot API ``{"detail", "code"}``."""
    if openai:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        obj: object = {"error": {"message": message, "type": kind, "code": code}}
    else:
        obj = {"detail": message, "code": code}
    return json.dumps(obj).encode()


class _Base:
    __slots__ = ("conn", "extra", "openai", "req", "status")
    streams = True

    def __init__(
        self, conn: HttpConnection, req: Request, *, openai: bool, extra: bytes = b""
    ) -> None:
        self.conn = conn
        self.req = req
        self.openai = openai
        self.extra = extra
        self.status = 200

    def paused(self) -> bool:
        return self.conn.write_paused

    def wait_resume(self, callback: Callable[[], None]) -> None:
        self.conn.on_resume = callback

    def on_gone(self, callback: Callable[[], None]) -> None:
        self.conn.on_lost = callback

    def reject(self, status: int, code: str, message: str) -> int:
        self.status = status
        return self.conn.respond(self.req, status, error_body(self.openai, status, code, message))


class HttpSink(_Base):
    """Server-sent events in HTTP/1.1 chunks; headers go out at arrival (before queueing)."""

    __slots__ = ()

    def open(self, events: list[bytes]) -> int:
        data = response_head(200, SSE, None, self.req.keep_alive, self.extra)
        if events:
            data += chunked(b"".join(events))
        self.conn.transport.write(data)
        return len(data)

    def emit(self, events: list[bytes]) -> int:
        data = chunked(b"".join(events))
        self.conn.transport.write(data)
        return len(data)

    def close(self, events: list[bytes]) -> int:
        data = chunked(b"".join(events)) + _END
        self.conn.transport.write(data)
        self.conn.finish(self.req.keep_alive)
        return len(data)

    def whole(self, fmt: Format) -> int:
        keep = self.req.keep_alive
        body = fmt.whole()
        data = b"".join(
            (
                response_head(200, SSE, None, keep, self.extra),
                b"%x\r\n" % len(body),
                body,
                b"\r\n0\r\n\r\n",
            )
        )
        self.conn.transport.write(data)
        self.conn.finish(keep)
        return len(data)

    def abort(self) -> int:
        self.conn.transport.abort()
        return 0


class JsonSink(_Base):
    """A non-streamed answer: nothing is written until the last token is generated."""

    __slots__ = ("build", "fault")
    streams = False

    def __init__(
        self,
        conn: HttpConnection,
        req: Request,
        build: Callable[[], bytes],
        *,
        openai: bool,
        fault: str | None,
        extra: bytes = b"",
    ) -> None:
        super().__init__(conn, req, openai=openai, extra=extra)
        self.build = build
        self.fault = fault

    def open(self, events: list[bytes]) -> int:
        return 0

    def emit(self, events: list[bytes]) -> int:
        return 0

    def close(self, events: list[bytes]) -> int:
        body = self.build()
        if self.fault == "malformed_chunk":
            body = body[: len(body) // 2]
        return self.conn.respond(self.req, 200, body, JSON, self.extra)

    def whole(self, fmt: Format) -> int:
        return self.close([])

    def abort(self) -> int:
        body = self.build()
        data = response_head(200, JSON, len(body), True, self.extra) + body[: len(body) // 2]
        self.conn.transport.write(data)
        self.conn.transport.abort()
        return len(data)
