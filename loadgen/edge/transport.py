"""HTTP transport: one httpx client per virtual user, and the one place exceptions are mapped.

A VU owns its client (and so its keep-alive connection), as a real user's browser does; a
single shared httpx pool serialises on its bookkeeping under concurrency (httpx #3215), which a
load generator would misreport as server latency. Clients share one ``ssl.SSLContext``: building
one per client costs ~32 ms of CPU and ~850 KiB.
"""

from __future__ import annotations

import ssl
import sys
from typing import TYPE_CHECKING, Any

from loadgen.core.errors import ErrorKind
from loadgen.core.netcause import local_limit, network_cause
from loadgen.edge.fasthttp import (
    ConnectFailed,
    Deadlines,
    FastClient,
    LocalLimit,
    ProtocolFailed,
    StreamBroken,
    UnsafeHeaders,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["ClientFactory", "VUClient", "classify"]


class ClientFactory:
    """Makes per-VU ``httpx.AsyncClient``s that share TLS settings and timeouts."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        connect_timeout: float,
        verify: bool | str = True,
        headers: dict[str, str] | None = None,
        fast: bool = True,
        max_response_size: int = 64 << 20,
        max_line: int = 1 << 20,
    ) -> None:
        self.base_url = base_url
        self.fast = fast
        # Bounds on what one response may make a VU hold (target.max_response_size/max_line).
        self.max_response_size = max_response_size
        self.max_line = max_line
        # httpx is imported when a VU first needs it (plain requests, logins, chats with
        # transport: httpx): a chat-only run never pays its ~0.1 s of imports.
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._headers = headers or {}
        # Always a context object, even for http://: given a bool, httpx builds a new SSL
        # context per client (65 ms the first time, then ~0.3-3 ms each).
        if verify is False:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif isinstance(verify, str):
            ctx = ssl.create_default_context(cafile=verify)
        else:
            ctx = ssl.create_default_context()
        self._ssl = ctx
        # One deadline sweep for every VU's fast connection; timeouts fire up to a tick late.
        self.deadlines = Deadlines(tick=min(max(timeout / 50, 0.001), 0.05))
        #: Clients connected before the run (``load.warm_connections``): VUs take these first.
        self.warm: list[VUClient] = []

    def client(self) -> VUClient:
        return self.warm.pop() if self.warm else VUClient(self)

    async def aclose_warm(self) -> None:
        """Close the warmed clients no VU took (a plan that never reached its peak)."""
        while self.warm:
            await self.warm.pop().aclose()

    def fast_client(self) -> FastClient:
        ctx = self._ssl if isinstance(self._ssl, ssl.SSLContext) else None
        return FastClient(
            self.base_url,
            ssl_context=ctx,
            connect_timeout=self._connect_timeout,
            headers=self._headers,
            deadlines=self.deadlines,
        )

    def httpx_client(self) -> httpx.AsyncClient:
        import httpx

        return httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(self._timeout, connect=self._connect_timeout),
            verify=self._ssl,
            headers=self._headers,
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=1),
            trust_env=False,
        )


class VUClient:
    """A VU's connections: the lean HTTP/1.1 client for chat streams (unless the profile asks
    for httpx) and, created on first use, an httpx client for everything else."""

    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory
        self.max_response_size = factory.max_response_size
        self.max_line = factory.max_line
        self.fast: FastClient | None = factory.fast_client() if factory.fast else None
        self._httpx: httpx.AsyncClient | None = None

    @property
    def httpx(self) -> httpx.AsyncClient:
        if self._httpx is None:
            self._httpx = self._factory.httpx_client()
        return self._httpx

    async def aclose(self) -> None:
        if self.fast is not None:
            await self.fast.aclose()
        if self._httpx is not None:
            await self._httpx.aclose()


def classify(exc: BaseException, *, got_response: bool) -> tuple[ErrorKind, str]:
    """Map a foreign exception to an error kind and a short message (no secrets, no URLs' queries).

    ``got_response`` tells whether headers had arrived: a connection lost after that broke a
    stream; before it, the server could not be reached or hung up on the request.
    """
    name = type(exc).__name__
    if isinstance(exc, LocalLimit):
        return ErrorKind.GENERATOR, str(exc)
    limit = local_limit(exc)  # whichever library wrapped it: EMFILE is never the target's
    if limit:
        return ErrorKind.GENERATOR, limit
    if isinstance(exc, ConnectFailed):
        return ErrorKind.CONNECT, str(exc)
    if isinstance(exc, StreamBroken):
        return ErrorKind.STREAM_BROKEN, str(exc)
    if isinstance(exc, ProtocolFailed | UnsafeHeaders):
        return ErrorKind.PROTOCOL, str(exc)
    # No httpx exception can exist unless httpx was imported (it is, lazily, by the VUs
    # that need it): a chat-only run classifies without importing it.
    httpx: Any = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, httpx.HTTPError):
        return _classify_httpx(httpx, exc, got_response)
    if isinstance(exc, TimeoutError):
        return ErrorKind.TIMEOUT, f"{'read' if got_response else 'response'} timeout"
    if isinstance(exc, ssl.SSLError):
        return ErrorKind.CONNECT, f"TLS: {_short(exc)}"
    if isinstance(exc, OSError):
        return (
            ErrorKind.STREAM_BROKEN if got_response else ErrorKind.CONNECT
        ), f"{name}: {network_cause(exc)}"
    if isinstance(exc, ValueError | UnicodeDecodeError):  # SSEError, ChunkError, JSON errors
        return ErrorKind.PROTOCOL, _short(exc)
    return ErrorKind.PROTOCOL, f"{name}: {_short(exc)}"


def _classify_httpx(httpx: Any, exc: BaseException, got_response: bool) -> tuple[ErrorKind, str]:
    if isinstance(exc, httpx.ConnectTimeout):
        return ErrorKind.CONNECT, "connect timeout"
    if isinstance(exc, httpx.TimeoutException):
        return ErrorKind.TIMEOUT, f"{'read' if got_response else 'response'} timeout"
    if isinstance(exc, httpx.ConnectError):  # "[Errno -2] …" → "name not resolved"
        return ErrorKind.CONNECT, network_cause(exc)
    if (
        isinstance(exc, httpx.RemoteProtocolError)
        and not got_response
        and "disconnected" not in str(exc)  # "Server disconnected without sending a response"
    ):
        return ErrorKind.PROTOCOL, f"invalid HTTP response: {_short(exc)}"  # h11: malformed head
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        if got_response:
            return ErrorKind.STREAM_BROKEN, _short(exc) or "connection closed mid-stream"
        return ErrorKind.CONNECT, _short(exc) or "server closed the connection"
    if isinstance(exc, httpx.DecodingError):
        return ErrorKind.PROTOCOL, _short(exc)
    if isinstance(exc, httpx.TransportError):
        kind = ErrorKind.STREAM_BROKEN if got_response else ErrorKind.CONNECT
        return kind, f"{type(exc).__name__}: {_short(exc)}"
    return ErrorKind.PROTOCOL, f"{type(exc).__name__}: {_short(exc)}"


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200] if text else ""
