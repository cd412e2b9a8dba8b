"""A hostile loopback server that repeats what it was sent, for the output classes of #18.

It runs on 127.0.0.1 in a thread with its own event loop and answers HTTP/1.1 keep-alive
requests by path:

- ``/login``: 200 with ``{"access_token": LOGIN_TOKEN}`` (a token the run only learns here);
- ``/ok/...``: a correct streamed OpenAI answer (the healthy user class);
- ``/cut?pad=N&h=NAME``: 500 whose body is N bytes of padding, then header NAME's value
  without its scheme, so a message cut at a length limit ends inside the credential;
- ``/ansi``: 500 whose body carries escape sequences, C0/C1 controls and a bidi override;
- anything else: 500 whose body is the request line (path and query), every header and the
  body, as a careless server's error page would repeat them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["HOSTILE_TEXT", "LOGIN_TOKEN", "EchoServer"]

LOGIN_TOKEN = "LGTOKxq3-returned-by-the-login-0a9f8e7d"
# What a terminal would obey: retitle, clear, recolour, a hyperlink, C1 CSI, NUL, bidi, BEL.
HOSTILE_TEXT = (
    "boom \x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[31mRED\x1b[0m "
    "\x1b]8;;http://evil.invalid\x1b\\link\x1b]8;;\x1b\\ \x9b1mC1\x00NUL\u202eLIVE\x07 end"
)


def _sse_answer(tokens: int = 4) -> bytes:
    events = [{"choices": [{"index": 0, "delta": {"content": f" w{i}"}}]} for i in range(tokens)]
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return body + b"data: [DONE]\n\n"


class EchoServer:
    """``with EchoServer() as s: s.url`` — see the module docstring for the routes."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> EchoServer:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        )
        self._server = started.result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for h in lines:
                    if ":" in h:
                        k, _, v = h.partition(":")
                        headers[k.strip().lower()] = v.strip()
                size = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(size) if size else b""
                self.requests += 1
                writer.write(self._answer(line, headers, body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def _answer(self, line: str, headers: dict[str, str], body: bytes) -> bytes:
        target = line.split(" ")[1] if line.count(" ") >= 2 else "/"
        parts = urlsplit(target)
        if parts.path == "/login":
            return _response(200, json.dumps({"access_token": LOGIN_TOKEN}).encode(), "json")
        if parts.path.startswith("/ok/"):
            return _response(200, _sse_answer(), "text/event-stream")
        if parts.path == "/ansi":
            return _response(500, HOSTILE_TEXT.encode(), "text/plain")
        if parts.path == "/cut":
            query: dict[str, Any] = parse_qs(parts.query)
            value = headers.get(query["h"][0], "")
            credential = value.split(" ")[-1]
            return _response(500, b"p" * int(query["pad"][0]) + credential.encode() + b"q" * 40)
        echoed = [line, *(f"{k}: {v}" for k, v in headers.items()), ""]
        return _response(500, "\n".join(echoed).encode() + body)


def _response(status: int, body: bytes, kind: str = "text/plain") -> bytes:
    content_type = "application/json" if kind == "json" else kind
    head = (
        f"HTTP/1.1 {status} {'OK' if status == 200 else 'Internal Server Error'}\r\n"
        f"content-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body
