"""The ticker's interval close in steps: only the swap runs at the boundary, the rest in
later loop turns; a run that ends in the middle of a close still keeps that interval."""

from __future__ import annotations

import asyncio
import contextlib
import heapq

from support import run_async
from test_stats import chat

from loadgen.core.stats import Recorder
from loadgen.engine.clock import FakeClock
from loadgen.engine.control import RunControl
from loadgen.engine.crowd import Crowd
from loadgen.engine.intervals import Intervals


def _intervals(clock: FakeClock, seen: list[float]) -> Intervals:
    recorder = Recorder(start=0.0)
    return Intervals(
        recorder,
        Crowd(open_model=False),
        RunControl(clock),
        None,
        unit="users",
        planned=lambda t: 5.0,
        on_close=seen.append,
    )


def test_a_close_lets_the_loop_run_between_its_steps_and_counts_each_request_once():
    async def go() -> tuple[list[dict], int, list[float]]:
        clock, seen = FakeClock(0.0), []
        intervals = _intervals(clock, seen)
        for i in range(50):
            intervals.recorder.add(chat(i * 0.01, ttft=0.1, gaps=[0.01] * 2))
        steps, between = intervals.closing(1.0), 0
        for _ in steps:  # what the ticker does: a loop turn after each step
            intervals.recorder.add(chat(1.0, ttft=0.3, gaps=[0.01]))  # lands in the next
            between += 1
            await asyncio.sleep(0)
        intervals.close_last(2.0)
        return intervals.records, between, seen

    records, between, seen = run_async(go())
    assert between >= 4  # the swap, the summaries, the series, the journal: turns apart
    assert [r["requests"] for r in records] == [50, between]
    assert records[0]["ttft"]["count"] == 50
    assert records[1]["ttft"]["count"] == between
    assert (
        records[0]["by_name"]["chat.simple"]["requests"]
        + records[1]["by_name"]["chat.simple"]["requests"]
        == 50 + between
    )
    assert seen == [1.0, 2.0]  # the abort rules saw each interval once


def test_a_ticker_cancelled_in_the_middle_of_a_close_still_keeps_that_interval():
    async def go() -> list[dict]:
        clock, seen = FakeClock(0.0), []
        intervals = _intervals(clock, seen)
        for i in range(20):
            intervals.recorder.add(chat(i * 0.01, ttft=0.1, gaps=[0.01]))
        ticker = asyncio.create_task(intervals.tick())
        await clock.settle()  # the ticker sleeps until its first tick
        clock._now = 1.0  # then wakes at the interval's end (one step, not settled)
        heapq.heappop(clock._sleepers)[2].set_result(None)
        for _ in range(3):
            await asyncio.sleep(0)
        assert intervals.recorder.intervals_closed == 1
        assert not intervals.records
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        intervals.close_last(1.0)  # what the engine does next: nothing left open
        return intervals.records

    records = run_async(go())
    assert [r["requests"] for r in records] == [20]
    assert records[0]["t"] == 0.0
    assert records[0]["length"] == 1.0
