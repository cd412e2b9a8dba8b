"""The replay model: each trace row sent at its own timestamp, whatever the server does.

The trace is read a row at a time (loadgen.core.traces): the driver holds one row, waits
on the run's clock until it is due and starts it, as the open driver starts an arrival
(``OpenDriver``). A row that finds ``max_in_flight`` requests running is dropped and
counted, never delayed. A malformed row is skipped and counted; the run's stop reason
names how many and the first. ``ReplayPlan`` counts the rows due each second, as the
driver reads them, for the planned arrivals the report draws beside the ones sent (a
second reader of the file cost up to 11 ms of event loop a second in a burst, measured on
an hour of Azure-format trace at 60x: it stalled the arrivals it was drawing).
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Coroutine, Iterator
from typing import Any, Protocol

from loadgen.core.errors import Problem
from loadgen.core.profile.model import ReplaySpec
from loadgen.core.traces import Due, TraceRequest, Window, read_trace, schedule
from loadgen.engine.control import RunControl
from loadgen.engine.crowd import Crowd
from loadgen.engine.drivers.open import Tally

__all__ = ["ReplayDriver", "ReplayPlan", "Senders", "due_rows"]

_SETTLE = 0.05  # how often the end of a replay looks for session turns still waiting (s)


class Senders(Protocol):
    """Who sends the rows (``ReplayUsers``)."""

    pending: int  # session turns waiting for the answer before them

    def arrival(
        self, row: TraceRequest, t0: float, offset: float
    ) -> tuple[Coroutine[Any, Any, None], bool]:
        """The coroutine sending ``row``, and whether it goes at ``t0`` (else it waits for
        the answer before it and counts itself sent when it goes)."""
        ...


def due_rows(spec: ReplaySpec) -> Iterator[Due | Problem]:
    """The trace's rows with their due times, read as the replay goes."""
    window = Window(
        time_scale=spec.time_scale, start=spec.start, duration=spec.duration, max_gap=spec.max_gap
    )
    return schedule(read_trace(spec.trace, spec.columns), window)


class ReplayDriver:
    """Start each trace row at ``start`` + its due time; drop what exceeds ``max_in_flight``."""

    def __init__(
        self,
        *,
        spec: ReplaySpec,
        max_in_flight: int,
        segment: tuple[int, int],
        users: Senders,
        tally: Tally,
        crowd: Crowd,
        control: RunControl,
    ) -> None:
        self.spec = spec
        self.segment = segment
        seg, count = segment
        self.max_in_flight = max(1, (max_in_flight + count - 1 - seg) // count)
        self.users = users
        self.tally = tally
        self.crowd = crowd
        self.control = control
        self.skipped = 0
        self.first_problem: Problem | None = None
        self.plan = ReplayPlan()

    async def drive(self, start: float) -> None:
        # The trace's time 0 is now: the run's outputs were opened since ``start`` (tens of
        # ms), which would make the first rows late by that much for reasons of no interest.
        origin = max(start, self.control.run_clock.now())
        self.plan.shift = origin - start
        try:
            await self._follow(origin)
        finally:
            if self.skipped:
                self.control.ended("completed")  # unless a stop named the reason already
                self.control.explain(
                    f"; {self.skipped} trace row{'s' if self.skipped > 1 else ''} skipped, "
                    f"the first: {self.first_problem}"
                )

    async def _follow(self, start: float) -> None:
        seg, count = self.segment
        users, crowd, control = self.users, self.crowd, self.control
        index = -1
        for item in due_rows(self.spec):
            if isinstance(item, Problem):
                self.skipped += 1
                self.first_problem = self.first_problem or item
                continue
            index += 1
            row = item.request
            self.plan.note(item.offset)
            # Parts of a distributed run split the rows; a session stays in one part.
            key = index if row.session is None else zlib.crc32(row.session.encode())
            if key % count != seg:
                continue
            t0 = start + item.offset
            if await control.wait(t0):
                return
            if len(crowd.arrivals) >= self.max_in_flight:
                self.tally.add_dropped()
                continue
            arrival, now = users.arrival(row, t0, item.offset)
            if now:  # else it waits for the answer before it and counts itself when it goes
                self.tally.add_sent()
            crowd.start_arrival(arrival)
        # after_previous: the plan ends when every session's last turn has gone
        while users.pending and not control.stopping:
            await control.wait(control.run_clock.now() + _SETTLE)


class ReplayPlan:
    """Planned arrivals per second (what the report draws beside the arrivals sent): the
    driver notes every row's due time as it reads it, ``rate(elapsed)`` counts those due
    since the last call. Rows are read up to the one the driver waits for, so every row due
    by now is noted unless the event loop is behind (then it counts in the next second)."""

    def __init__(self) -> None:
        self._due: deque[float] = deque()
        self._last = 0.0
        self.shift = 0.0  # the run's seconds before the trace's time 0 (the driver sets it)

    def note(self, offset: float) -> None:
        self._due.append(offset + self.shift)

    def rate(self, elapsed: float) -> float:
        due, queue = 0, self._due
        while queue and queue[0] < elapsed:
            queue.popleft()
            due += 1
        length = elapsed - self._last
        self._last = elapsed
        return due / length if length > 0 else 0.0
