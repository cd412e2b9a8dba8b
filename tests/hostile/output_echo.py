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
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from loopserver import LoopServer, read_request, sse_answer

__all__ = ["HOSTILE_TEXT", "LOGIN_TOKEN", "EchoServer"]

LOGIN_TOKEN = "LGTOKxq3-returned-by-the-login-0a9f8e7d"
# What a terminal would obey: retitle, clear, recolour, a hyperlink, C1 CSI, NUL, bidi, BEL.
HOSTILE_TEXT = (
    "boom \x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[31mRED\x1b[0m "
    "\x1b]8;;http://evil.invalid\x1b\\link\x1b]8;;\x1b\\ \x9b1mC1\x00NUL\u202eLIVE\x07 end"
)


class EchoServer(LoopServer):
    """``with EchoServer() as s: s.url`` — see the module docstring for the routes."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head, headers, body = await read_request(reader)
                line = head.decode("latin-1").split("\r\n", 1)[0]
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
            return _response(200, b"".join(sse_answer(4)), "text/event-stream")
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
