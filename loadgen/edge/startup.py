"""What happens before the clock starts: reach the target, pay one-time costs."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from loadgen.core.errors import StartError
from loadgen.core.netcause import network_cause

__all__ = ["reach", "warm_up"]


async def reach(base_url: str, timeout: float) -> None:
    """Refuse to start against a target that does not accept connections (exit 2)."""
    parts = urlsplit(base_url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        # asyncio's own text says "Connect call failed"; the errno says why, and a resolver
        # code in words ("name not resolved", never os.strerror's "Unknown error -2")
        raise StartError(
            f"cannot reach {parts.scheme}://{host}:{port}: {network_cause(exc)}",
            "check target.base_url (or CHATBOT_URL) and that the server is up",
        ) from exc
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def warm_up() -> None:
    """Pay httpx's first-use costs before the clock starts, not inside the first requests'
    latency: httpx imports httpcore (and with it trio and anyio, when installed) on its first
    client's first request, 50-100 ms measured."""
    import anyio._backends._asyncio  # noqa: F401
    import h11  # noqa: F401
    import httpcore  # noqa: F401
