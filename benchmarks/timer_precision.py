"""How late a sleep wakes: the event loops' own timers against loadgen's alarms (a timerfd).

For uvloop and asyncio: 2,000 sleeps of 0.5-6 ms (random) on an idle loop, each woken by the
loop's ``call_at`` (as loadgen used it before) and by ``loadgen.engine.alarms``; prints
lateness p1/p50/p99/max and the share more than 1 ms late. Then the CPU one timer costs when
20,000 are due within a second (future, timer, wake-up): the price of precision where timers
are dense. Linux only.

    python benchmarks/timer_precision.py
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

import uvloop

from loadgen.engine.alarms import alarms

SLEEPS = 2_000
DENSE = 20_000


def _later(loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """``loop.call_at`` on ``time.monotonic``'s clock, as loadgen's VUs and clock used it
    (uvloop's ``loop.time()`` is libuv's whole-millisecond clock, cached once a turn)."""
    return loop.call_at


async def lateness(which: str) -> list[float]:
    loop = asyncio.get_running_loop()
    call_at = alarms().call_at if which == "alarms" else _later(loop)
    rng, late = random.Random(1), []
    for _ in range(SLEEPS):
        when = time.monotonic() + rng.uniform(0.0005, 0.006)
        fut = loop.create_future()
        call_at(when, fut.set_result, None)
        await fut
        late.append(time.monotonic() - when)
    return sorted(late)


async def dense_cost(which: str) -> float:
    loop = asyncio.get_running_loop()
    call_at = alarms().call_at if which == "alarms" else _later(loop)
    rng, futures = random.Random(2), []
    cpu = time.process_time()
    base = time.monotonic() + 0.05
    for _ in range(DENSE):
        fut = loop.create_future()
        call_at(base + rng.random(), fut.set_result, None)
        futures.append(fut)
    await asyncio.gather(*futures)
    return (time.process_time() - cpu) / DENSE


def main() -> None:
    for loop_name, run in (("uvloop", uvloop.run), ("asyncio", asyncio.run)):
        for which in ("loop timers", "alarms"):
            late = run(lateness(which))
            n = len(late)
            over = sum(x > 0.001 for x in late) / n
            print(
                f"{loop_name:8s} {which:12s} late ms: p1 {late[n // 100] * 1e3:6.3f}  p50 "
                f"{late[n // 2] * 1e3:6.3f}  p99 {late[n * 99 // 100] * 1e3:6.3f}  max "
                f"{late[-1] * 1e3:6.3f}; more than 1 ms late: {over:.1%}"
            )
    costs = {which: uvloop.run(dense_cost(which)) for which in ("loop timers", "alarms")}
    print(
        f"uvloop, {DENSE:,} timers due within 1 s: CPU per timer {costs['loop timers'] * 1e6:.1f}"
        f" µs (loop timers), {costs['alarms'] * 1e6:.1f} µs (alarms)"
    )


if __name__ == "__main__":
    main()
