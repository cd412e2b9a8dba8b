"""Stopping a run from outside, and its live snapshots: what every runner offers embedders.

``Engine`` (one process) and the distributed runners (processes, Ray actors) share it, so
``stop()`` and ``snapshots()`` mean the same whichever ran the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["RunControl"]


class RunControl:
    def __init__(self) -> None:
        self._stop = asyncio.Event()
        self._stop_now = asyncio.Event()
        self._stop_reason = ""
        self._interrupted = False
        self._subscribers: list[asyncio.Queue[dict[str, Any] | None]] = []

    def stop(self, reason: str = "stopped", *, interrupted: bool = True) -> None:
        """Stop the run from outside (Ctrl-C, an abort rule, an embedder); results are kept."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._interrupted = interrupted
            self._stop.set()

    def stop_now(self, reason: str = "stopped") -> None:
        """Stop without the graceful stop: requests in flight are cancelled at once and
        counted ``interrupted``; results are still written (a second Ctrl-C)."""
        self.stop(reason)
        self._stop_now.set()

    @property
    def stopping(self) -> bool:
        """True once ``stop()`` was called (or the run decided to end early)."""
        return self._stop.is_set()

    @property
    def stopping_now(self) -> bool:
        return self._stop_now.is_set()

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

    def _publish(self, record: dict[str, Any] | None) -> None:
        """Hand a record to every snapshot iterator; None ends them."""
        for queue in self._subscribers:
            queue.put_nowait(record)
