"""A loopback HTTP/1.1 server that attacks the client, for issue #18's classes 2, 3 and 4.

It runs in a thread with its own event loop and routes by path, so a healthy user class
(``/ok``, whose first token comes ``HEALTHY_TTFT`` after the request) and a hostile one share
one origin and one run. Every other route misbehaves on purpose (see ``ROUTES``). The heads of
every request received are kept in ``heads``, to show what reached the wire.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from loopserver import SSE_HEAD, TOKENS, LoopServer, chunk, framed, read_request, sse_answer, usage

__all__ = [
    "HEALTHY_TTFT",
    "SSE_HEAD",
    "TOKENS",
    "HostileServer",
    "chunk",
    "framed",
    "pair",
    "sse_answer",
    "usage",
]

HEALTHY_TTFT = 0.05  # seconds from the request to /ok's first token
TOKEN_GAP = 0.005
SECRET = "s3cr3t-in-a-location"
Writer = asyncio.StreamWriter
Handler = Callable[[Writer], Awaitable[bool]]


async def _chunked(w: Writer, events: list[bytes], *, first: float = 0.0) -> None:
    w.write(SSE_HEAD)
    await w.drain()
    for i, event in enumerate(events):
        await asyncio.sleep(first if i == 1 else TOKEN_GAP)
        w.write(framed(event))
        await w.drain()


async def ok(w: Writer) -> bool:
    """The healthy route: the first token ``HEALTHY_TTFT`` after the request."""
    await _chunked(w, sse_answer(), first=HEALTHY_TTFT)
    w.write(b"0\r\n\r\n")
    await w.drain()
    return True


def pair(
    url: str,
    faulty: dict[str, Any],
    *,
    duration: str = "1500ms",
    timeout: str = "3s",
    faulty_auth: dict[str, Any] | None = None,
    **target: Any,
) -> dict[str, Any]:
    """A profile with a healthy class on ``/ok`` and a hostile one, alternating VUs."""
    hostile: dict[str, Any] = {
        "name": "hostile",
        "think_time": "20ms",
        "tasks": [{"name": "chat.hostile", **faulty}],
    }
    if faulty_auth is not None:
        hostile["auth"] = faulty_auth
    return {
        "name": "hostile",
        "target": {"base_url": url, "timeout": timeout, "connect_timeout": "1s", **target},
        "users": [
            {
                "name": "healthy",
                "think_time": "20ms",
                "tasks": [{"name": "chat.ok", "chat": {"path": "/ok"}}],
            },
            hostile,
        ],
        "load": {"users": 2, "duration": duration, "graceful_stop": "1s"},
        "seed": 18,
    }


class HostileServer(LoopServer):
    """``with HostileServer(routes) as s: s.url`` — HTTP/1.1 on 127.0.0.1 in its own thread."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        super().__init__()
        self.routes = {"/ok": ok, **routes}
        self.heads: list[bytes] = []
        self.hits: dict[str, int] = {}

    async def _serve(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        try:
            while True:
                head, _, _ = await read_request(reader)
                self.heads.append(head)
                path = head.split()[1].decode()
                self.hits[path] = self.hits.get(path, 0) + 1
                handler = self.routes.get(path.split("?")[0], _not_found)
                if not await handler(writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            writer.transport.abort()


async def _not_found(w: Writer) -> bool:
    w.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
    await w.drain()
    return True


def reset(w: Writer) -> None:
    """Abort with a TCP RST (SO_LINGER 0), not a FIN."""
    sock = w.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    w.transport.abort()
