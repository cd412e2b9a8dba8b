"""A bare aiohttp + uvloop streaming loop: the floor a hand-written Python client reaches.

``python benchmarks/peers/aiohttp_loop.py URL USERS SECONDS`` runs USERS coroutines that each
post the rate.yaml chat request, read the stream as it arrives and count its content events
(bytes-level, no JSON parse), with no wait; it prints one JSON line with requests, errors and
this process's CPU seconds. Bounded by SECONDS; loopback only.
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


async def main(url: str, users: int, seconds: float) -> dict[str, float]:
    done = errors = 0
    stop = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def user() -> None:
            nonlocal done, errors
            while time.monotonic() < stop:
                events = 0
                try:
                    async with session.post(url + PATH, data=BODY, headers=HEADERS) as response:
                        async for chunk in response.content.iter_any():
                            events += chunk.count(b'"content":"')
                    done += 1
                except aiohttp.ClientError:
                    errors += 1
                if events == 0:
                    errors += 1

        before = resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.gather(*(user() for _ in range(users)))
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"requests": done, "errors": errors, "cpu": cpu}


if __name__ == "__main__":
    url, users, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(uvloop.run(main(url, users, seconds))))
