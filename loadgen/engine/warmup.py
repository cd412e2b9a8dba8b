"""Connection warm-up (``load.warm_connections``): each VU's connection opened before t = 0.

Without it, the first request of every user pays its TCP connect (and TLS handshake) inside
its TTFT, and a thousand users starting at once storm the server's accept queue in the first
second. Warmed, the connections are opened before the run's clock starts and counted on their
own (``warm_connections``, ``warm_connect_failures``), never in a request's phases: the first
requests find them open (``reused``, connect 0).

Only the fast HTTP client (the default chat transport) can open a connection without sending a
request; httpx clients and WebSocket chats connect on their first request as before.
"""

from __future__ import annotations

import asyncio

from loadgen.core.profile.model import Load
from loadgen.edge.transport import ClientFactory, VUClient

__all__ = ["connect_ahead", "warm_count"]

_AT_ONCE = 256  # connects in flight together: a warm-up must not be the storm it avoids


def warm_count(load: Load, segment: tuple[int, int]) -> int:
    """The VUs this segment runs at the plan's peak (slots k with (k - 1) mod n = i)."""
    if not load.warm_connections or load.model != "closed":
        return 0
    peak = round(max([load.start, *(s.target for s in load.stages)]))
    index, count = segment
    return len(range(index + 1, peak + 1, count))


async def connect_ahead(factory: ClientFactory, n: int) -> dict[str, int]:
    """Connect ``n`` clients into ``factory.warm``; return the counters to record (opened,
    failed; none when nothing was warmed). A client whose connect failed is kept too: its
    first request connects (and fails) as it would have."""
    if n <= 0 or not factory.fast:
        return {}
    gate = asyncio.Semaphore(_AT_ONCE)

    async def one() -> bool:
        client = VUClient(factory)
        factory.warm.append(client)
        assert client.fast is not None
        async with gate:
            try:
                await client.fast.warm()
            except Exception:  # counted: the run starts with what opened
                return False
        return True

    opened = sum(await asyncio.gather(*(one() for _ in range(n))))
    counts = {"warm_connections": opened, "warm_connect_failures": n - opened}
    return {name: count for name, count in counts.items() if count}
