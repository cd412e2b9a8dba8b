"""Stopping a run from outside, and its live snapshots: what every runner offers embedders.

``Engine`` (one process) holds one and the distributed runners (processes, Ray actors) are
one, so ``stop()`` and ``snapshots()`` mean the same whichever ran the test. The drivers wait
on it (``wait``), on the clock it was given.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from loadgen.core.steering import ControlEvent, Steering
from loadgen.engine.clock import MONOTONIC, Clock

__all__ = ["RunControl"]

_SHORT = 0.1  # waits up to this long sleep through a stop (no timer on the stop event)


class RunControl:
    def __init__(self, clock: Clock = MONOTONIC) -> None:
        self.run_clock = clock  # (a Ray runner keeps its clock offsets in `clock`)
        self._stop = asyncio.Event()
        self._stop_now = asyncio.Event()
        self._stop_reason = ""
        self._interrupted = False
        self._subscribers: list[asyncio.Queue[dict[str, Any] | None]] = []
        # Steering by hand (the live page): off until ``allow_steering``; a change wakes
        # every ``wait`` (the ``_wake`` pulse) so the drivers re-read the level at once.
        self.steering: Steering | None = None
        self.changes = 0
        self._wake = asyncio.Event()
        self._started: float | None = None

    def stop(self, reason: str = "stopped", *, interrupted: bool = True) -> None:
        """Stop the run from outside (Ctrl-C, an abort rule, an embedder); results are kept."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._interrupted = interrupted
            self._stop.set()
            self._wake.set()

    def stop_now(self, reason: str = "stopped") -> None:
        """Stop without the graceful stop: requests in flight are cancelled at once and
        counted ``interrupted``; results are still written (a second Ctrl-C)."""
        self.stop(reason)
        self._stop_now.set()

    @property
    def stop_reason(self) -> str:
        """Why the run stopped ("" while nothing has stopped it)."""
        return self._stop_reason

    @property
    def interrupted(self) -> bool:
        """Whether the stop cut the run short (Ctrl-C, an embedder), not a rule of the run."""
        return self._interrupted

    def ended(self, reason: str) -> None:
        """Name why the run ended, unless a stop already did."""
        if not self._stop_reason:
            self._stop_reason = reason

    def explain(self, more: str) -> None:
        """Add to the stop reason (where the run was when it stopped)."""
        self._stop_reason += more

    @property
    def stopping(self) -> bool:
        """True once ``stop()`` was called (or the run decided to end early)."""
        return self._stop.is_set()

    @property
    def stopping_now(self) -> bool:
        return self._stop_now.is_set()

    async def wait(self, deadline: float) -> bool:
        """Sleep until ``deadline`` (on ``clock``) or a stop; True if the run was stopped."""
        delay = deadline - self.run_clock.now()
        if delay > _SHORT:  # long waits wake on stop; short ones skip the stop event's timer
            await self.run_clock.sleep_until(deadline, self._wake)
        elif delay > 0:
            await self.run_clock.sleep(delay)
        return self._stop.is_set()

    async def stopped(self) -> None:
        """Return once ``stop()`` is called."""
        await self._stop.wait()

    async def stopped_now(self) -> None:
        """Return once ``stop_now()`` is called."""
        await self._stop_now.wait()

    @property
    def in_flight(self) -> int | None:
        """Requests running now, or None where this runner cannot count them."""
        return None

    async def snapshots(self) -> AsyncIterator[dict[str, Any]]:
        """Live interval records, about one a second, until the run ends."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._subscribers.append(queue)
        try:
            while (item := await queue.get()) is not None:
                yield item
        finally:
            self._subscribers.remove(queue)

    def publish(self, record: dict[str, Any] | None) -> None:
        """Hand a record to every snapshot iterator; None ends them."""
        for queue in self._subscribers:
            queue.put_nowait(record)

    _publish = publish  # the distributed runners' name for it

    def allow_steering(self, unit: str) -> None:
        """Let ``steer`` change the level (``--ui``); ``unit`` is the plan's, users or rate."""
        self.steering = Steering(unit)

    def started(self, at: float) -> None:
        """The run's t=0 on ``run_clock`` (steering events are timed from it)."""
        self._started = at

    def steer(self, action: str, value: Any = None, by: str = "ui") -> ControlEvent:
        """Hold a level, resume the plan or stop, by hand; returns the event recorded.

        Raises ``ValueError`` when steering is off or the request is wrong."""
        if self.steering is None:
            raise ValueError("steering is off: start the run with --ui")
        now = self.run_clock.now()
        at = now - self._started if self._started is not None else 0.0
        event = self.steering.apply(max(0.0, at), action, value, by)
        if action == "stop":
            self.stop(f"stopped from the live page at {at:.0f}s")
        else:
            self.changes += 1
            self._wake.set()  # wakes the waiters now; the event stays unset for the next wait
            self._wake.clear()
        return event

    def level(self, planned: float) -> float:
        """The level to follow: held by hand, else the plan's ``planned``."""
        return planned if self.steering is None else self.steering.level(planned)

    @property
    def events(self) -> list[ControlEvent]:
        """The steering events so far (the result's ``control``)."""
        return [] if self.steering is None else list(self.steering.events)
