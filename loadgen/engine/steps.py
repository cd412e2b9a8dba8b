"""Where a part of a distributed breakpoint search gets its steps from: the driver.

A part (a worker process or a Ray actor) runs one segment of the load; the driver judges each
step on every part's merged numbers and sends the next command: ``{"level": L, "start": S}``
(``S`` seconds after the agreed start) or ``{"end": true}``. Processes read the commands from
a JSON-lines file the driver appends to (``loadgen run … --follow-steps FILE``); Ray actors
get them by a method call. Both look the same to the engine: ``await source.next()``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Protocol

from loadgen.core.journal import Tail

__all__ = ["FileSteps", "QueueSteps", "StepSource", "parse_step"]


class StepSource(Protocol):
    async def next(self) -> tuple[float, float] | None:
        """The next step as (level, start seconds after the run's start); None: the end."""
        ...


def parse_step(command: dict[str, Any]) -> tuple[float, float] | None:
    """A command as ``next`` returns it; ValueError for anything else."""
    if command.get("end"):
        return None
    try:
        return float(command["level"]), float(command["start"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"not a breakpoint step command: {command!r}") from None


class FileSteps:
    """Commands appended to a JSON-lines file, read as they come (polled every ``poll`` s).

    A worker process outlives a driver that was killed: after ``patience`` seconds without a
    new command it takes the search as ended, so it finishes and writes its result instead
    of holding its last level for ever.
    """

    def __init__(self, path: Path, *, poll: float = 0.05, patience: float | None = None) -> None:
        self.path = path
        self.poll = poll
        self.patience = patience
        self._tail = Tail(path)
        self._queue: list[dict[str, Any]] = []

    async def next(self) -> tuple[float, float] | None:
        waited = 0.0
        while not self._queue:
            self._queue += self._tail.read()
            if self._queue:
                break
            if self.patience is not None and waited >= self.patience:
                return None
            await asyncio.sleep(self.poll)
            waited += self.poll
        return parse_step(self._queue.pop(0))


class QueueSteps:
    """Commands handed over in the same process (a Ray actor's method puts them here)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def put(self, command: dict[str, Any]) -> None:
        self._queue.put_nowait(command)

    async def next(self) -> tuple[float, float] | None:
        return parse_step(await self._queue.get())
