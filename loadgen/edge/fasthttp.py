"""A lean HTTP/1.1 client for the streamed-chat hot path: one keep-alive connection per VU.

httpx stays the library for general HTTP work (plain tasks, proxies, HTTP/2); for streamed
answers its per-request machinery costs ~0.8 ms of CPU before the first byte leaves and a
coroutine switch per body chunk, which shows up as latency under load. Here the response is
parsed by httptools (llhttp, the parser uvicorn uses) inside ``data_received`` and body bytes
go straight to the stream reader with the time they arrived: the VU awaits one future per
request. Only what the hot path needs: no redirects, no proxies, no compression, no HEAD.

What a hostile server may send is bounded (RFC 9110/9112 where they speak): 1xx informational
responses are skipped; the response head is at most ``MAX_HEAD_BYTES`` and ``MAX_HEADERS``
fields; bytes after a framed body are a protocol error and never read as the next answer; a
close-delimited body cut by a reset is broken, not complete; once the reader has its answer
(``data: [DONE]``) the request ends even if the server keeps the body open.

The connection and its parser callbacks (the hot path) live in ``fastconn``, the one timer
for every request's deadline in ``deadlines``, the errors in ``fasterrors``; this module is
the client a VU holds (request writing, connecting) and the names the rest of ``edge`` uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
from time import monotonic
from urllib.parse import urlsplit

from loadgen.core.netcause import local_limit, network_cause
from loadgen.core.wire import unsafe_request
from loadgen.edge.deadlines import Deadlines
from loadgen.edge.fastconn import MAX_HEAD_BYTES, MAX_HEADERS, Connection, FastResponse, Sink
from loadgen.edge.fasterrors import (
    ConnectFailed,
    LocalLimit,
    ProtocolFailed,
    StreamBroken,
    UnsafeHeaders,
)

__all__ = [
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "ConnectFailed",
    "Deadlines",
    "FastClient",
    "FastResponse",
    "LocalLimit",
    "ProtocolFailed",
    "StreamBroken",
    "UnsafeHeaders",
]


class FastClient:
    """A VU's own keep-alive connection to one origin (``http://`` or ``https://``)."""

    def __init__(
        self,
        base_url: str,
        *,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float,
        headers: dict[str, str] | None = None,
        deadlines: Deadlines | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        self._deadlines = deadlines or Deadlines()
        self.host = parts.hostname or "127.0.0.1"
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        self._ssl = ssl_context if self.tls else None
        self._connect_timeout = connect_timeout
        host_header = self.host if parts.port is None else f"{self.host}:{self.port}"
        if ":" in self.host and parts.port is None:
            host_header = f"[{self.host}]"
        base = {
            "host": host_header,
            "user-agent": "loadgen",
            "accept": "*/*",
            **{k.lower(): v for k, v in (headers or {}).items()},
        }
        self._base_headers = base
        self._base_block = "".join(f"{k}: {v}\r\n" for k, v in base.items())
        self._base_unsafe = unsafe_request(self.prefix, base)
        self._starts: dict[tuple[str, str], str] = {}
        self._conn: Connection | None = None
        #: The latest request's response, also when it failed part-way: its status and first
        #: byte tell a stream that broke (or timed out) after it started from one that never did.
        self.partial: FastResponse | None = None
        #: The latest request's connection phases (docs/metrics.md, "Where the time went"):
        #: TCP connect and TLS handshake seconds (0 when the connection was reused, None when
        #: not reached; tls None without TLS), reuse, and when its bytes started going out.
        self.connect_s: float | None = None
        self.tls_s: float | None = None
        self.reused = False
        self.write_start: float | None = None

    async def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        sink: Sink | None,
        deadline: float | None = None,
    ) -> FastResponse:
        """Send one request and feed its 2xx body to ``sink``; raise a FastHTTPError on failure.

        ``deadline`` (``loop.time()``) bounds the whole request, connecting included: past
        it ``TimeoutError`` is raised and the connection dropped.
        """
        payload = self._payload(method, path, headers, body)
        self.partial = response = FastResponse()
        conn = self._conn
        if conn is not None and conn.draining:
            await conn.settle()
        reused = conn is not None and not conn.closed
        self.reused, self.write_start = reused, None
        if reused:
            self.connect_s, self.tls_s = 0.0, (0.0 if self._ssl is not None else None)
        else:
            self.connect_s = self.tls_s = None
            conn = await self._connect(deadline)
        assert conn is not None
        try:
            self.write_start = monotonic()
            return await conn.exchange(payload, sink, response, deadline, self._deadlines)
        except ConnectFailed:
            if not (reused and not conn.received_any):
                raise
        # The server closed an idle keep-alive connection as we reused it: one fresh try.
        self.reused, self.connect_s, self.tls_s = False, None, None
        conn = await self._connect(deadline)
        self.write_start = monotonic()
        return await conn.exchange(payload, sink, response, deadline, self._deadlines)

    def _payload(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> bytes:
        """The request head (and body): the client's own headers, overridden by ``headers``.

        Raises ``UnsafeHeaders`` for a header or path holding CR, LF or NUL.
        """
        unsafe = self._base_unsafe or unsafe_request(path, headers)
        if unsafe:
            raise UnsafeHeaders(unsafe)
        start = self._starts.get((method, path))
        if start is None:
            start = self._starts[(method, path)] = f"{method} {self.prefix}{path} HTTP/1.1\r\n"
        base = self._base_headers
        keys = headers.keys()
        # C-level checks: no name of the client's own, none that could be one in other case.
        if base.keys() & keys or not all(map(str.islower, keys)):
            merged = dict(base)
            merged.update((k.lower(), v) for k, v in headers.items())
            fields = "".join([f"{k}: {v}\r\n" for k, v in merged.items()])
        else:
            fields = self._base_block + "".join([f"{k}: {v}\r\n" for k, v in headers.items()])
        if body is not None:
            fields += f"content-length: {len(body)}\r\n"
        head = (start + fields + "\r\n").encode("latin-1")
        return head + body if body else head

    async def warm(self) -> None:
        """Open the connection now (``load.warm_connections``), so that the first request
        reuses it; raises what a request's connect would (``ConnectFailed``, ``LocalLimit``)."""
        if self._conn is None or self._conn.closed:
            await self._connect(None)

    async def _connect(self, deadline: float | None) -> Connection:
        loop = asyncio.get_running_loop()
        limit = self._connect_timeout
        if deadline is not None and deadline - loop.time() < limit:
            limit = deadline - loop.time()  # the request's own deadline comes first
        try:
            async with asyncio.timeout(limit):
                conn = await self._open(loop)
        except TimeoutError:
            if limit < self._connect_timeout:
                raise  # the request's timeout, not the connect timeout
            raise ConnectFailed(f"connect timeout after {self._connect_timeout:g}s") from None
        except socket.gaierror as exc:
            raise ConnectFailed(f"DNS: cannot resolve {self.host!r}: {network_cause(exc)}") from exc
        except ssl.SSLCertVerificationError as exc:
            raise ConnectFailed(
                f"TLS: certificate verify failed: {exc.verify_message} — give target.verify "
                "the CA bundle that signed it (or false to skip verification)"
            ) from None
        except ssl.SSLError as exc:
            raise ConnectFailed(f"TLS handshake failed: {exc.reason or exc}") from None
        except OSError as exc:
            limit_hit = local_limit(exc)
            if limit_hit:
                raise LocalLimit(f"{limit_hit} (connecting to {self.host}:{self.port})") from exc
            # asyncio's own "Connect call failed (addr)" hides the reason; errno has it.
            reason = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))
            during = " during the TLS handshake" if self._ssl is not None else ""
            raise ConnectFailed(f"{reason}{during} ({self.host}:{self.port})") from None
        sock = conn.transport.get_extra_info("socket") if conn.transport else None
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conn = conn
        return conn

    async def _open(self, loop: asyncio.AbstractEventLoop) -> Connection:
        """TCP, then TLS over it (``start_tls``): the two phases are timed apart."""
        began = monotonic()
        transport, conn = await loop.create_connection(Connection, self.host, self.port)
        tcp = monotonic()
        self.connect_s = tcp - began
        if self._ssl is None:
            return conn
        try:
            tls = await loop.start_tls(transport, conn, self._ssl, server_hostname=self.host)
        except BaseException:
            transport.abort()
            raise
        if tls is None:  # the connection closed during the handshake
            raise ConnectionResetError("connection closed during the TLS handshake")
        conn.transport = tls
        self.tls_s = monotonic() - tcp
        return conn

    async def aclose(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            if conn.transport is not None and not conn.closed:
                conn.closed = True
                conn.transport.close()
