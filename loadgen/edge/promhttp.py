"""The network side of the Prometheus export: a remote write client (httpx) and a minimal
``/metrics`` endpoint for Prometheus to scrape (asyncio streams).

The endpoint answers ``GET /metrics`` (and ``/``) with whatever ``render()`` returns at that
moment, one request per connection; anything else is a 404. It is a plain asyncio server,
not the ``prometheus_client`` one, which runs a thread and would read the recorder while the
event loop writes it. Scrape times are kept so the run can wait, at its end, for one scrape
of the final numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import httpx

from loadgen.core.promwire import CONTENT_TYPE_TEXT, REMOTE_WRITE_HEADERS

__all__ = ["MetricsServer", "RemoteWriter"]

_HEAD_LIMIT = 16_384
_READ_TIMEOUT = 5.0


class MetricsServer:
    """Serves ``render()`` at ``http://host:port/metrics``. Call ``start()``, then ``aclose()``."""

    def __init__(self, render: Callable[[], str], host: str, port: int) -> None:
        self.render = render
        self.host = host
        self.port = port
        #: time.monotonic() of each answered scrape, the last few.
        self.scrapes: list[float] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Bind and listen; ``OSError`` when the port is taken or not allowed."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
            method, path, *_ = [*head[: head.find(b"\r\n")].decode("latin-1").split(" "), "", ""]
            path = path.split("?", 1)[0]
            if method in ("GET", "HEAD") and path in ("/metrics", "/"):
                body = self.render().encode()
                status, ctype = "200 OK", CONTENT_TYPE_TEXT
                self.scrapes = [*self.scrapes[-9:], time.monotonic()]
            else:
                body, status, ctype = b"not found: try /metrics\n", "404 Not Found", "text/plain"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a scraper that went away or sent garbage: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def period(self) -> float | None:
        """The time between the last two scrapes, or None before two."""
        if len(self.scrapes) < 2:
            return None
        return self.scrapes[-1] - self.scrapes[-2]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


class RemoteWriter:
    """POSTs remote write bodies to one URL. ``push`` raises ``RuntimeError`` naming the
    cause (refused, timed out, the receiver's status and first line) so the caller can count
    it; the caller must ``aclose()``."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self._client = httpx.AsyncClient(timeout=timeout)

    async def push(self, body: bytes) -> None:
        try:
            response = await self._client.post(self.url, content=body, headers=REMOTE_WRITE_HEADERS)
        except httpx.HTTPError as exc:
            raise RuntimeError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            said = response.text.strip().splitlines()[:1]
            raise RuntimeError(f"HTTP {response.status_code}{': ' + said[0][:200] if said else ''}")

    async def aclose(self) -> None:
        await self._client.aclose()
