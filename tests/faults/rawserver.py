"""A loopback server that misbehaves on purpose, for faults the built-in target cannot make.

It runs in a thread with an event loop of its own (a ``LoopServer``) and routes by request
path so that a healthy user class and a faulty one can share one origin (a profile has one
``base_url``). ``/ok`` streams a correct OpenAI answer on a keep-alive connection; every
other route breaks something (see ``ROUTES``). ``refuse_new()`` and ``fail_tls()`` break only
*new* connections: a VU holding a keep-alive connection carries on, one whose route answers
``Connection: close`` must reconnect and meets the fault.

The WebSocket side (``WsServer``) uses ``websockets``' server: ``/ws/ok`` answers, ``/ws/close``
closes with code 1011 mid-answer, ``/ws/silent`` never answers the handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from loopserver import (
    SSE_HEAD,
    TOKENS,
    LoopServer,
    chunk,
    framed,
    read_request,
    sse_answer,
    sse_head,
)
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

__all__ = ["ROUTES", "RawServer", "WsServer", "sse_answer"]

TOKEN_DELAY = 0.005  # seconds between the healthy answer's tokens

Handler = Callable[[asyncio.StreamWriter], Awaitable[bool]]


class RawServer(LoopServer):
    """``with RawServer() as s: s.url`` — an HTTP/1.1 server on 127.0.0.1 in its own thread."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(tls=tls)
        self._tls_broken = False
        if tls is not None:
            tls.sni_callback = self._sni
        self._writers: set[asyncio.StreamWriter] = set()
        self.hits: dict[str, int] = {}
        self._refuse_after: dict[str, int] = {}
        self.connections = 0

    def refuse_after(self, path: str, count: int) -> None:
        """Stop listening right after the ``count``-th request to ``path`` was answered."""
        self._refuse_after[path] = count

    def refuse_new(self) -> None:
        """Stop listening: later connections are refused, open ones keep working."""
        self._call(self._close_listener())

    def fail_tls(self) -> None:
        """Fail every later TLS handshake with a handshake_failure alert."""
        self._tls_broken = True

    def _sni(self, _obj: Any, _name: str | None, _ctx: ssl.SSLContext) -> int | None:
        return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE if self._tls_broken else None

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _stop(self) -> None:
        for w in list(self._writers):
            w.transport.abort()
        await super()._stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        try:
            while True:
                head, _, _ = await read_request(reader)
                path = head.split()[1].decode()
                self.hits[path] = self.hits.get(path, 0) + 1
                handler = ROUTES.get(path, _not_found)
                keep = await handler(writer)
                if self.hits[path] == self._refuse_after.get(path):
                    await self._close_listener()  # in this loop: no race with a timer thread
                if not keep:
                    return
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ssl.SSLError,
        ):
            return
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


async def _stream(writer: asyncio.StreamWriter, events: list[bytes], *, close: bool) -> bool:
    writer.write(sse_head(b"close" if close else b"keep-alive"))
    for event in events:
        await asyncio.sleep(TOKEN_DELAY)
        writer.write(framed(event))
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    return not close


async def _ok(writer: asyncio.StreamWriter) -> bool:
    return await _stream(writer, sse_answer(), close=False)


async def _ok_close(writer: asyncio.StreamWriter) -> bool:
    """A correct answer, then the server closes: the client must reconnect for the next one."""
    return await _stream(writer, sse_answer(), close=True)


async def _reset(writer: asyncio.StreamWriter) -> bool:
    """Three events, then a TCP reset (SO_LINGER 0): the stream breaks mid-answer."""
    await _stream_part(writer, sse_answer()[:3])
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return False


async def _stream_part(writer: asyncio.StreamWriter, events: list[bytes]) -> None:
    writer.write(SSE_HEAD)
    for event in events:
        writer.write(framed(event))
    await writer.drain()


async def _trickle(writer: asyncio.StreamWriter) -> bool:
    """Slowloris in reverse: one byte of a valid answer every 20 ms, far past any timeout."""
    writer.write(SSE_HEAD)
    body = b"".join(framed(e) for e in sse_answer(tokens=10_000))
    for i in range(len(body)):
        writer.write(body[i : i + 1])
        await writer.drain()
        await asyncio.sleep(0.02)
    return False


async def _bad_utf8(writer: asyncio.StreamWriter) -> bool:
    events = sse_answer()
    events.insert(3, b'data: {"choices":[{"delta":{"content":"\xff\xfe"}}]}\n\n')
    return await _stream(writer, events, close=False)


async def _unknown_event(writer: asyncio.StreamWriter) -> bool:
    """Named events OpenAI's stream never sends (a keep-alive ping, a vendor extension) and a
    comment: a reader must pass over them and still count every token."""
    events = sse_answer()
    events.insert(2, b"event: ping\ndata: not json at all\n\n")
    events.insert(4, b": keep-alive comment\n\n")
    events.insert(5, b"event: vendor.metadata\ndata: {}\n\n")
    return await _stream(writer, events, close=False)


async def _long_line(writer: asyncio.StreamWriter) -> bool:
    """A single 2 MB SSE line (valid JSON, absurd size)."""
    events = sse_answer()
    filler = "x" * (2 << 20)
    events.insert(2, chunk({"content": filler}))
    return await _stream(writer, events, close=False)


async def _huge(writer: asyncio.StreamWriter) -> bool:
    """A valid stream far longer than any answer: 2 MB of 1-token events each send."""
    writer.write(SSE_HEAD)
    block = framed(b"".join(chunk({"content": " w"}) for _ in range(20_000)))
    for _ in range(200):
        writer.write(block)
        await writer.drain()
        await asyncio.sleep(0.001)
    writer.write(framed(b"data: [DONE]\n\n") + b"0\r\n\r\n")
    await writer.drain()
    return True


async def _no_done(writer: asyncio.StreamWriter) -> bool:
    """As ``transformers serve`` ends a stream: the finish_reason and usage chunks, then the
    chunked terminator, without ``data: [DONE]``."""
    return await _stream(writer, sse_answer()[:-1], close=False)


async def _no_done_no_finish(writer: asyncio.StreamWriter) -> bool:
    """Content chunks only, then the chunked terminator: neither finish_reason nor [DONE]."""
    return await _stream(writer, sse_answer()[1 : 1 + TOKENS], close=False)


async def _no_terminator(writer: asyncio.StreamWriter) -> bool:
    """Whole events up to finish_reason and usage, then a close without the chunked
    terminator: the SSE looks finished, the HTTP body was cut."""
    await _stream_part(writer, sse_answer()[:-1])
    return False


async def _cut_mid_chunk(writer: asyncio.StreamWriter) -> bool:
    """A chunk that promises more bytes than come before the close, cut inside an event."""
    events = sse_answer()
    await _stream_part(writer, events[:4])
    writer.write(b"%x\r\n%s" % (len(events[4]), events[4][:10]))
    await writer.drain()
    return False


async def _short_length(writer: asyncio.StreamWriter) -> bool:
    """A Content-Length larger than the body sent before the close (whole events, no [DONE])."""
    body = b"".join(sse_answer()[:-1])
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(body) + 100, body)
    )
    await writer.drain()
    return False


async def _not_found(writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
    await writer.drain()
    return True


ROUTES: dict[str, Handler] = {
    "/ok": _ok,
    "/ok-close": _ok_close,
    "/reset": _reset,
    "/trickle": _trickle,
    "/bad-utf8": _bad_utf8,
    "/unknown-event": _unknown_event,
    "/long-line": _long_line,
    "/huge": _huge,
    "/no-done": _no_done,
    "/no-done-no-finish": _no_done_no_finish,
    "/no-terminator": _no_terminator,
    "/cut-mid-chunk": _cut_mid_chunk,
    "/short-length": _short_length,
}


class WsServer(LoopServer):
    """WebSocket chat on 127.0.0.1 (own thread): ``/ws/ok``, ``/ws/close``, ``/ws/silent``."""

    async def _start(self) -> None:
        # open_timeout=None: the server itself never gives up on a handshake it holds back.
        self._ws = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process,
            open_timeout=None,
            ping_interval=None,
        )
        self._server = self._ws.server  # the listening socket, closed at once by _stop
        self.port = next(iter(self._ws.sockets)).getsockname()[1]

    async def _process(self, _conn: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith("/ws/silent"):
            await asyncio.sleep(3600)  # cancelled when the client gives up and disconnects
        return None

    async def _handle(self, conn: ServerConnection) -> None:
        path = conn.request.path if conn.request else ""
        with contextlib.suppress(Exception):
            async for _message in conn:
                for i in range(TOKENS):
                    await asyncio.sleep(TOKEN_DELAY)
                    await conn.send(json.dumps({"type": "token", "content": f" w{i}"}))
                    if path.startswith("/ws/close") and i == 2:
                        await conn.close(1011, "internal error")
                        return
                usage = {"prompt_tokens": 3, "completion_tokens": TOKENS}
                await conn.send(json.dumps({"type": "end", "usage": usage}))
