"""The one-second statistics intervals: closed by a ticker on the run's clock, each record
annotated (users finishing, CPU, planned level), kept, written and published live."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from loadgen.core.scopeseries import ScopeSeries
from loadgen.core.stats import Recorder
from loadgen.engine.control import RunControl
from loadgen.engine.crowd import Crowd
from loadgen.engine.scrape import ScrapeService
from loadgen.engine.writer import ResultWriter

__all__ = ["Intervals"]

# Loop-lag sampling period (s): 100 samples a second make the second's p99 a percentile; at
# 0.1 s it was the largest of 10, one pause deciding the figure. ~1 ms of CPU a second.
_TICK = 0.01
_INTERVAL = 1.0  # statistics interval (s)
_LAST = 0.05  # a last interval shorter than this is left out (unless it holds something)


class Intervals:
    def __init__(
        self,
        recorder: Recorder,
        crowd: Crowd,
        control: RunControl,
        writer: ResultWriter | None,
        *,
        unit: str,
        planned: Callable[[float], float],
        on_close: Callable[[float], None],
        server: ScrapeService | None = None,
    ) -> None:
        """``planned(elapsed)``: the plan's level then, in ``unit``; ``on_close(at)`` runs
        after each interval is kept (the abort rules); ``server`` scrapes the target's
        metrics beside the ticker, and each record gets its window."""
        self.recorder = recorder
        self.crowd = crowd
        self.control = control
        self.writer = writer
        self.unit = unit
        self.planned = planned
        self.on_close = on_close
        self.server = server
        self.records: list[dict[str, Any]] = []
        self._start = recorder.start  # of the interval now open
        self._cpu_mark = time.process_time()
        self._scopes = ScopeSeries()  # each request name's (and class's) interval numbers

    async def tick(self) -> None:
        """Close an interval every second and sample event-loop lag every tick, until
        cancelled; the scrapes run beside it, and a last one is taken when it is cancelled."""
        server = self.server
        if server is None:
            return await self._tick()
        scrapes = asyncio.create_task(server.run(), name="loadgen-scrape")
        try:
            await self._tick()
        finally:
            scrapes.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await scrapes
            await server.final()

    async def _tick(self) -> None:
        clock = self.control.run_clock
        next_interval = self.recorder.start + _INTERVAL
        while True:
            due = min(clock.now() + _TICK, next_interval)
            await clock.sleep_until(due)
            now = clock.now()
            self.recorder.add_loop_lag(max(0.0, now - due))
            self.crowd.sample_finishing()
            while now >= next_interval:
                steps = self.closing(next_interval)
                try:
                    for _ in steps:
                        await asyncio.sleep(0)  # the streams' reads and sends run between
                except asyncio.CancelledError:
                    for _ in steps:  # the run ends: the taken interval is not lost
                        pass
                    raise
                next_interval += _INTERVAL

    def close_last(self, end: float) -> None:
        """At the end of the run: close the interval still open, unless it is empty and short."""
        if end - self._start > _LAST or not self.records or self.recorder.interval_pending:
            self.close(end)

    def close(self, at: float) -> dict[str, Any]:
        """Close the interval open at ``at`` in one go (``closing``'s steps) and return it."""
        for _ in self.closing(at):
            pass
        return self.records[-1]

    def closing(self, at: float) -> Iterator[None]:
        """Close the interval at ``at``, yielding between steps: only the first (the
        interval's numbers swapped out, users and CPU read) must run at the boundary; the
        summaries, each name's series, the journal line and the live snapshot follow in
        later loop turns. Done in one go they paused every stream 1-3 ms (up to 8 ms) once a
        second, and half the replayed requests later than 2 ms were due within 0.1 s of it.
        """
        planned = self.planned(at - self.recorder.start)
        taken = self.recorder.take_interval(at, self.crowd.active_users)
        # The graceful stop's users are counted at their peak in the interval: sampled at its
        # end, answers completing in it would be drawn beside users already at 0.
        finishing = self.crowd.take_finishing_peak()
        cpu_now = time.process_time()
        cpu, self._cpu_mark = cpu_now - self._cpu_mark, cpu_now
        self._start = at
        yield
        window = self.server.window() if self.server is not None else None
        if window is not None:
            yield
        yield from self.recorder.describe(taken)
        record = taken.record
        yield from self._scopes.closing(self.recorder.leaves, record)
        record["finishing"] = finishing
        length = record["length"]
        record["cpu"] = round(cpu / length, 4) if length > 0 else 0.0
        record["planned"] = {self.unit: round(planned, 3)}
        if window is not None:
            record["server"] = window
        self.records.append(record)
        self.on_close(at)
        yield
        if self.writer is not None:
            self.writer.interval(record)
            yield
        self.control.publish(record)
