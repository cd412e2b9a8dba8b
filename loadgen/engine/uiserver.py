"""The live page's server (``--ui``, ``loadgen ui``): one small ``websockets`` server that
answers ``GET /`` with the page and ``/ws`` with a WebSocket pushing the run's points.

No web framework: ``websockets`` already ships with loadgen and its ``process_request``
hook serves the one HTTP page. Control (stop, hold a level, resume the plan) comes back over
the same WebSocket, and only from the page itself: the handshake must carry the run's token
(embedded in the page, never logged), an ``Origin`` equal to the page's own origin and, on a
loopback address, a loopback ``Host`` (so a DNS-rebinding page cannot reach it either);
anything else is refused with 403 before a connection opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from loadgen.report.livepage import live_page

__all__ = ["UIServer", "is_loopback"]

_LOG = logging.getLogger("loadgen.ui")
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"
)

Steer = Callable[[str, Any], dict[str, Any]]
"""``steer(action, value)``: apply a control request; returns the event (ValueError: refused)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class UIServer:
    """``await start()`` returns the page's URL; ``send(message)`` pushes to every page;
    ``init()`` is called for each page that connects; ``steer`` is None when control is off."""

    def __init__(
        self,
        init: Callable[[], dict[str, Any]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        steer: Steer | None = None,
        token: str | None = None,
        title: str = "loadgen",
    ) -> None:
        self.init = init
        self.host = host
        self.port = port
        self.steer = steer
        self.token = token or secrets.token_urlsafe(18)
        self.title = title
        self.clients: set[ServerConnection] = set()
        self._server: Server | None = None
        self._page = b""

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> str:
        self._server = await serve(
            self._handler,
            self.host,
            self.port,
            process_request=self._process_request,
            logger=_LOG,
            max_size=2**16,
            server_header=None,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        page = live_page(title=self.title, token=self.token)
        self._page = page.encode("utf-8")
        return self.url

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    def send(self, message: dict[str, Any]) -> None:
        """Push to every open page; a page too slow to keep up is skipped, not waited for."""
        if self.clients:
            broadcast(self.clients, json.dumps(message, separators=(",", ":")))

    def _allowed_host(self, host: str) -> bool:
        if not is_loopback(self.host):
            return True  # bound elsewhere on purpose (--ui-host): the token guards control
        name = host.rsplit(":", 1)[0].strip("[]") if host else ""
        return is_loopback(name)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        host = request.headers.get("Host", "")
        if not self._allowed_host(host):
            return connection.respond(403, "Host not allowed\n")
        if parts.path in ("/", "/index.html"):
            headers = Headers(
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(self._page))),
                    ("Content-Security-Policy", _CSP),
                    ("Cache-Control", "no-store"),
                    ("X-Content-Type-Options", "nosniff"),
                    ("Referrer-Policy", "no-referrer"),
                ]
            )
            return Response(200, "OK", headers, self._page)
        if parts.path != "/ws":
            return connection.respond(404, "Not found\n")
        token = parse_qs(parts.query).get("token", [""])[0]
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return connection.respond(403, "Wrong or missing token\n")
        if request.headers.get("Origin") != f"http://{host}":
            return connection.respond(403, "Cross-origin request refused\n")
        return None

    async def _handler(self, connection: ServerConnection) -> None:
        self.clients.add(connection)
        try:
            await connection.send(json.dumps(self.init(), separators=(",", ":")))
            async for raw in connection:
                await connection.send(json.dumps(self._control(raw), separators=(",", ":")))
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(connection)

    def _control(self, raw: str | bytes) -> dict[str, Any]:
        """One control request: ``{"action": "hold", "value": 20}``, resume or stop."""
        if self.steer is None:
            return {"type": "refused", "message": "control is off for this page"}
        try:
            request = json.loads(raw)
            if not isinstance(request, dict):
                raise ValueError("send a JSON object")
            event = self.steer(str(request.get("action")), request.get("value"))
        except ValueError as exc:
            return {"type": "refused", "message": str(exc)}
        return {"type": "done", "event": event}
