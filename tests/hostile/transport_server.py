"""A loopback HTTP/1.1 server that attacks the client, for issue #18's classes 2, 3 and 4.

It runs in a thread with its own event loop and routes by path, so a healthy user class
(``/ok``, whose first token comes ``HEALTHY_TTFT`` after the request) and a hostile one share
one origin and one run. Every other route misbehaves on purpose (see ``ROUTES``). The heads of
every request received are kept in ``heads``, to show what reached the wire.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

__all__ = ["HEALTHY_TTFT", "TOKENS", "HostileServer", "chunk", "pair", "sse_answer"]

TOKENS = 8
HEALTHY_TTFT = 0.05  # seconds from the request to /ok's first token
TOKEN_GAP = 0.005
SECRET = "s3cr3t-in-a-location"


def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> bytes:
    body = {"id": "c", "object": "chat.completion.chunk", "model": "hostile"}
    body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    body.update(more)
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def usage(completion: int) -> bytes:
    body = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": completion}}
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def sse_answer(tokens: int = TOKENS, *, done: bool = True) -> list[bytes]:
    """A correct streamed answer: role chunk, tokens, finish, usage, and ``[DONE]``."""
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": f" w{i}"}) for i in range(tokens)]
    events += [chunk({}, "stop"), usage(tokens)]
    return [*events, b"data: [DONE]\n\n"] if done else events


def framed(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"
)
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


class HostileServer:
    """``with HostileServer(routes) as s: s.url`` — HTTP/1.1 on 127.0.0.1 in its own thread."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = {"/ok": ok, **routes}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0
        self.heads: list[bytes] = []
        self.hits: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
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
