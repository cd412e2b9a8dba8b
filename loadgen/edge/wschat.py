"""Chat over WebSocket (``websockets``): one connection per VU, reconnected after drops.

The VU sends a question as JSON and reads messages until the end-of-answer message; each
token message is stamped when it arrives. Connecting is measured as its own request
(``ws.connect``); a failed handshake (HTTP 401/403 → ``auth``) or a refused connection
(``connect``) is counted and the next attempt waits (backoff doubling to 30 s). A connection that
closes mid-answer breaks that answer (``stream_broken``) and is counted as a drop.

Connection phases (docs/metrics.md): the VU opens the TCP socket itself (``connect``), so
websockets' TLS handshake is timed apart from it (``tls``: until the protocol's
``connection_made``); the question that opened the connection carries both, a question on an
open socket is ``reused`` (0 for both). ``send`` is the question's frame going out, ``wait``
from there to the first message back. The upgrade request itself shows in ``ws.connect``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable
from time import monotonic
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from loadgen.core.chat import checked_usage, json_field
from loadgen.core.checks import ResponseView
from loadgen.core.errors import ErrorKind
from loadgen.core.netcause import local_limit
from loadgen.core.profile.model import WsTask
from loadgen.core.sample import Sample
from loadgen.core.wire import UnsafeRequest, unsafe_request

__all__ = ["WsChat"]

_MAX_BACKOFF = 30.0


def _kind_for_code(code: Any) -> ErrorKind:
    if isinstance(code, int):
        return ErrorKind.for_status(code) or ErrorKind.PROTOCOL
    return ErrorKind.PROTOCOL


class _Timed(ClientConnection):
    """websockets' connection, stamped when its transport is up (after TLS, before the upgrade)."""

    made = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made = monotonic()
        super().connection_made(transport)


async def _tcp(host: str, port: int) -> socket.socket:
    """A connected non-blocking socket to the first address of ``host`` that answers."""
    loop = asyncio.get_running_loop()
    failure: OSError = OSError(f"{host} has no address")
    for family, kind, proto, _, address in await loop.getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    ):
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
        except BaseException as exc:
            sock.close()
            if not isinstance(exc, OSError):
                raise
            failure = exc
        else:
            return sock
    raise failure


class WsChat:
    def __init__(
        self,
        base_url: str,
        *,
        record: Callable[[Sample], None],
        count: Callable[[str], None],
        user_class: str,
        connect_timeout: float,
        max_size: int = 16 << 20,
    ) -> None:
        self._base = "ws" + base_url[len("http") :] if base_url.startswith("http") else base_url
        self._record = record
        self._count = count
        self._class = user_class
        self._connect_timeout = connect_timeout
        self._max_size = max_size
        self._ws: ClientConnection | None = None
        self._backoff = 0.0
        self._next_try = 0.0
        # The phases of the latest connection opened (seconds; tls None for ws://).
        self._connect_s: float | None = None
        self._tls_s: float | None = None

    async def _ensure(self, spec: WsTask, token: str | None, headers: dict[str, str]) -> bool:
        if self._ws is not None:
            return True
        wait = self._next_try - monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        url = self._base + spec.path
        if token and spec.token_query:
            url += ("&" if "?" in url else "?") + f"{spec.token_query}={token}"
        t0 = monotonic()
        sample = Sample(name="ws.connect", user_class=self._class, t0=t0, send=t0)
        # websockets refuses CR/LF too, but its message quotes the value (a token): refuse first.
        unsafe = unsafe_request(spec.path, headers)
        try:
            if unsafe:
                raise UnsafeRequest(unsafe)
            async with asyncio.timeout(self._connect_timeout):
                self._ws = await self._open(url, headers)
            sample.status = 101
            sample.first_byte = sample.end = monotonic()
            self._backoff = 0.0
            self._count("ws_connects")
        except InvalidStatus as exc:
            code = exc.response.status_code
            sample.status = code
            sample.error = ErrorKind.for_status(code) or ErrorKind.CONNECT
            sample.message = f"WebSocket handshake rejected: HTTP {code}"
        except TimeoutError:
            sample.error, sample.message = ErrorKind.CONNECT, "WebSocket handshake timed out"
        except UnsafeRequest as exc:
            sample.error, sample.message = ErrorKind.PROTOCOL, f"WebSocket connect: {exc}"
        except (OSError, WebSocketException) as exc:
            limit = local_limit(exc)
            if limit:
                sample.error, sample.message = ErrorKind.GENERATOR, f"WebSocket connect: {limit}"
            else:
                sample.error = ErrorKind.CONNECT
                sample.message = f"WebSocket connect: {exc}"[:200]
        sample.end = sample.end or monotonic()
        self._record(sample)
        if self._ws is None:
            self._count("ws_connect_failures")
            self._backoff = min(max(self._backoff * 2, spec.reconnect_backoff), _MAX_BACKOFF)
            self._next_try = monotonic() + self._backoff
            return False
        return True

    async def _open(self, url: str, headers: dict[str, str]) -> ClientConnection:
        """TCP by hand (timed), then TLS and the upgrade by websockets over that socket."""
        parts = urlsplit(url)
        secure = parts.scheme == "wss"
        self._connect_s = self._tls_s = None
        began = monotonic()
        sock = await _tcp(parts.hostname or "", parts.port or (443 if secure else 80))
        tcp = monotonic()
        self._connect_s = tcp - began
        try:
            ws = await connect(
                url,
                sock=sock,
                create_connection=_Timed,
                additional_headers=headers,
                max_size=self._max_size,
                ping_interval=None,
            )
        except BaseException:
            sock.close()
            raise
        if secure and isinstance(ws, _Timed):
            self._tls_s = ws.made - tcp
        return ws

    async def ask(
        self,
        spec: WsTask,
        message: dict[str, Any],
        sample: Sample,
        *,
        token: str | None,
        headers: dict[str, str],
        timeout: float,
        keep_text: bool,
    ) -> ResponseView:
        """Send one question and read its answer into ``sample``."""
        view = ResponseView()
        reused = self._ws is not None
        opened = await self._ensure(spec, token, headers)
        sample.reused = reused
        if reused:
            sample.connect, sample.tls = 0.0, (0.0 if self._base.startswith("wss") else None)
        else:
            sample.connect, sample.tls = self._connect_s, self._tls_s
        if not opened:
            sample.error, sample.message = ErrorKind.CONNECT, "no WebSocket connection"
            sample.end = monotonic()
            return view
        ws = self._ws
        assert ws is not None
        sample.send = sample.write_start = monotonic()
        parts: list[str] = []
        try:
            async with asyncio.timeout(timeout):
                await ws.send(json.dumps(message))
                sample.written = monotonic()
                await _read_answer(ws, spec, sample, view, parts if keep_text else None)
        except asyncio.CancelledError:
            sample.interrupted = True
            raise
        except ConnectionClosed as exc:
            self._ws = None
            self._count("ws_drops")
            self._backoff = spec.reconnect_backoff
            self._next_try = monotonic() + self._backoff
            sample.error = ErrorKind.STREAM_BROKEN if sample.first_byte else ErrorKind.CONNECT
            code = exc.rcvd.code if exc.rcvd else None
            sample.message = f"WebSocket closed mid-answer (code {code})"
        except TimeoutError:
            sample.error, sample.message = ErrorKind.TIMEOUT, "answer timed out"
            await self.close()
        except (ValueError, UnicodeDecodeError) as exc:
            sample.error, sample.message = ErrorKind.PROTOCOL, str(exc)[:200]
        finally:
            if sample.end is None and not sample.interrupted:
                sample.end = monotonic()
        view.status = sample.status
        view.answer = "".join(parts) if keep_text else None
        return view

    async def close(self) -> None:
        """Close the connection (if open); the next question opens a new one."""
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(TimeoutError, OSError, WebSocketException):
                await asyncio.wait_for(ws.close(), 2.0)


async def _read_answer(
    ws: ClientConnection, spec: WsTask, sample: Sample, view: ResponseView, parts: list[str] | None
) -> None:
    """Read messages until the end-of-answer (or error) message, stamping each token message;
    its text goes to ``parts`` when given."""
    while True:
        raw = await ws.recv()
        now = monotonic()
        if sample.first_byte is None:
            sample.first_byte = now
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
        kind = json_field(text, spec.type_field)
        if kind == spec.token_type:
            content = json_field(text, spec.content_field)
            if content:
                sample.token_times.append(now)
                if parts is not None:
                    parts.append(str(content))
        elif kind == spec.end_type:
            view.final = text
            if spec.usage_field:
                usage = json_field(text, spec.usage_field)
                sample.usage_tokens, sample.usage_rejected = checked_usage(usage)
            sample.end = now
            sample.status = 200
            return
        elif kind == spec.error_type:
            sample.error = _kind_for_code(json_field(text, "code"))
            sample.message = f"error message: {json_field(text, 'message')}"[:200]
            sample.end = now
            return
