"""A bare aiohttp + uvloop streaming loop: the floor a hand-written Python client reaches.

``python benchmarks/peers/aiohttp_loop.py URL USERS SECONDS [RAMP]`` runs USERS coroutines
that each post the rate.yaml chat request, read the stream as it arrives and count its content
events (bytes-level, no JSON parse), with no wait; it prints one JSON line with requests,
events, errors, this process's CPU seconds and the time to the first content read (p50/p99,
ms, requests sent after RAMP). With RAMP the users start evenly over its first RAMP seconds
(the paced benchmark). Bounded by SECONDS; loopback only.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

import aiohttp
import uvloop
from chat_request import BODY, HEADERS, PATH  # beside this file (a script's dir is on the path)


async def main(url: str, users: int, seconds: float, ramp: float = 0.0) -> dict[str, object]:
    done = errors = events_seen = 0
    ttft: list[float] = []
    began = time.monotonic()
    stop = began + seconds
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def user(i: int) -> None:
            nonlocal done, errors, events_seen
            await asyncio.sleep(ramp * i / users)
            while time.monotonic() < stop:
                events = 0
                sent = time.monotonic()
                try:
                    async with session.post(url + PATH, data=BODY, headers=HEADERS) as response:
                        async for chunk in response.content.iter_any():
                            found = chunk.count(b'"content":"') - chunk.count(b'"content":""')
                            if found and not events and ramp and sent >= began + ramp + 1:
                                ttft.append((time.monotonic() - sent) * 1000)
                            events += found
                    done += 1
                    events_seen += events
                except aiohttp.ClientError:
                    errors += 1
                if events == 0:
                    errors += 1

        before = resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.gather(*(user(i) for i in range(users)))
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ttft.sort()
    p50 = ttft[len(ttft) // 2] if ttft else None
    p99 = ttft[min(len(ttft) - 1, int(len(ttft) * 0.99))] if ttft else None
    return {
        "requests": done,
        "events": events_seen,
        "errors": errors,
        "cpu": cpu,
        "ttft_p50_ms": p50,
        "ttft_p99_ms": p99,
    }


if __name__ == "__main__":
    url, users, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    ramp = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    print(json.dumps(uvloop.run(main(url, users, seconds, ramp))))
