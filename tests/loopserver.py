"""Loopback servers for the tests, and the bytes of a correct OpenAI streamed answer.

A :class:`LoopServer` runs in a daemon thread with an event loop of its own, as a real server
runs apart from the generator; ``with`` starts it and, on the way out, stops every handler
still running before the loop ends, so none is left to be garbage-collected mid-await.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Self

__all__ = [
    "SSE_HEAD",
    "TOKENS",
    "LoopServer",
    "cancel_all",
    "chunk",
    "framed",
    "read_request",
    "self_signed",
    "sse_answer",
    "sse_head",
    "usage",
]

TOKENS = 8


def self_signed(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 from a CA made here (trustme), and that CA's
    certificate as a PEM file in ``folder`` for the client to trust."""
    import trustme

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    bundle = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return server_ctx, bundle


def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> bytes:
    """One ``chat.completion.chunk`` event with one choice; ``more`` adds top-level keys."""
    body = {"id": "c", "object": "chat.completion.chunk", "model": "loopback"}
    body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    body.update(more)
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def usage(completion: int) -> bytes:
    """The usage chunk: no choices, 3 prompt tokens and ``completion`` output tokens."""
    body = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": completion}}
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def sse_answer(tokens: int = TOKENS, *, done: bool = True) -> list[bytes]:
    """A correct streamed answer: role chunk, tokens, finish, usage, and ``[DONE]``."""
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": f" w{i}"}) for i in range(tokens)]
    events += [chunk({}, "stop"), usage(tokens)]
    return [*events, b"data: [DONE]\n\n"] if done else events


def framed(data: bytes) -> bytes:
    """``data`` as one chunk of a chunked HTTP/1.1 body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def sse_head(connection: bytes = b"keep-alive") -> bytes:
    """The head of a chunked ``text/event-stream`` answer."""
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"transfer-encoding: chunked\r\nconnection: %s\r\n\r\n" % connection
    )


SSE_HEAD = sse_head()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str], bytes]:
    """One HTTP/1.1 request: its head as sent, its headers by lower-case name, and the
    ``Content-Length`` bytes of its body. Raises ``IncompleteReadError`` at the end of the
    stream and ``LimitOverrunError`` on a head past the reader's limit."""
    head = await reader.readuntil(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length") or 0))
    return head, headers, body


async def cancel_all() -> None:
    """Cancel every task of the running loop but this one, and wait for them to end."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class LoopServer:
    """``with Server() as s: s.url`` — a server on 127.0.0.1 in a thread of its own.

    By default an asyncio streams server whose connections go to ``_serve``, which a
    subclass writes; a server of another kind overrides ``_start`` (which must set ``port``)
    and ``_stop``.
    """

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the server's loop and wait for it (10 s at most)."""
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        """Stop listening, then end every handler still running."""
        if self._server is not None:
            self._server.close()
        await cancel_all()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
