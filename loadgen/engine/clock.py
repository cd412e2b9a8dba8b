"""The clock the drivers and the stop logic read: passed in, so tests can fake time.

``MonotonicClock`` is the real one (``time.monotonic`` and the event loop's timers, which
read the same clock). ``FakeClock`` moves virtual time only when a test advances it, so a
test of a 30-second plan runs in milliseconds and never sleeps (as trio's ``MockClock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from time import monotonic
from typing import Protocol

from loadgen.engine.alarms import alarms

__all__ = ["MONOTONIC", "Clock", "FakeClock", "MonotonicClock"]

_COARSE = 0.002  # a wait that a stop may end sleeps on the loop's timer until this is left


class Clock(Protocol):
    """Monotonic seconds and sleeping on them."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    async def sleep_until(self, deadline: float, wake: asyncio.Event | None = None) -> None:
        """Return at ``deadline``, or as soon as ``wake`` is set (when given)."""


class MonotonicClock:
    """``time.monotonic()``; sleeps wake on the loop's ``alarms`` (a timerfd on Linux:
    tens of microseconds late, where the loops' own millisecond timers were ~0.6 ms)."""

    def now(self) -> float:
        return monotonic()

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(monotonic() + seconds)

    async def sleep_until(self, deadline: float, wake: asyncio.Event | None = None) -> None:
        if wake is not None:
            # Long waits that a stop may end: the event with a coarse timer, stopping 2 ms
            # short, then the precise alarm for the rest.
            loop = asyncio.get_running_loop()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(loop.time() + deadline - monotonic() - _COARSE):
                    await wake.wait()
            if wake.is_set():
                return
        if deadline <= monotonic():
            await asyncio.sleep(0)
            return
        fut = asyncio.get_running_loop().create_future()
        alarm = alarms().call_at(deadline, _resolve, fut)
        try:
            await fut
        finally:
            alarm.cancel()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


MONOTONIC = MonotonicClock()


class FakeClock:
    """Virtual time for tests: sleepers wake only when ``advance``/``advance_to`` passes
    their deadline, in deadline order, with the event loop left to settle between wakes."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + seconds)

    async def sleep_until(self, deadline: float, wake: asyncio.Event | None = None) -> None:
        if deadline <= self._now or (wake is not None and wake.is_set()):
            await asyncio.sleep(0)
            return
        timer = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._order), timer))
        if wake is None:
            try:
                await timer
            finally:
                timer.cancel()
            return
        woken = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({timer, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            woken.cancel()

    @property
    def next_deadline(self) -> float | None:
        """When the earliest sleeper wakes, or None when nothing sleeps."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    async def settle(self) -> None:
        """Let every task that can run, run: turn the loop until nothing else is ready (read
        from asyncio's ready queue where the loop has one; else a fixed number of turns)."""
        ready = getattr(asyncio.get_running_loop(), "_ready", None)
        for _ in range(10_000 if ready is not None else 64):
            await asyncio.sleep(0)
            if ready is not None and not ready:
                return

    async def advance_to(self, t: float) -> None:
        """Move virtual time to ``t``, waking each sleeper due by then at its own deadline."""
        await self.settle()
        while (due := self.next_deadline) is not None and due <= t:
            _, _, timer = heapq.heappop(self._sleepers)
            self._now = max(self._now, due)
            timer.set_result(None)
            await self.settle()
        self._now = max(self._now, t)
        await self.settle()

    async def advance(self, seconds: float) -> None:
        await self.advance_to(self._now + seconds)
