"""The loop's alarms (a timerfd on Linux): deadline order, cancellation, never early beyond
the slack, one failing callback does not stop the rest, the loop timers where asked, and the
descriptor closed with its loop. Their precision is a figure, in benchmarks/timer_precision.py.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time

import pytest
import uvloop
from support import run_async

from loadgen.engine import alarms as alarms_module
from loadgen.engine.alarms import Alarms, alarms
from loadgen.engine.clock import MONOTONIC

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="timerfd is Linux's")


@linux
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_alarms_fire_in_deadline_order_never_before_their_deadline(loop):
    async def go() -> list[tuple[int, float, float]]:
        found = alarms()
        assert isinstance(found, Alarms)
        fired: list[tuple[int, float, float]] = []
        done = asyncio.get_running_loop().create_future()
        base = time.monotonic() + 0.02
        deadlines = [base + (k * 7919 % 40) / 1000 for k in range(40)]  # shuffled, 1 ms apart
        for k, when in enumerate(deadlines):
            found.call_at(when, lambda k=k, w=when: fired.append((k, w, time.monotonic())))
        found.call_at(base + 0.05, done.set_result, None)
        await asyncio.wait_for(done, 5)
        return fired

    fired = uvloop.run(go()) if loop == "uvloop" else run_async(go())
    assert len(fired) == 40
    assert [w for _, w, _ in fired] == sorted(w for _, w, _ in fired)
    for _, when, at in fired:
        assert at >= when - alarms_module._SLACK


@linux
def test_a_cancelled_alarm_never_fires_and_a_failing_one_stops_nothing():
    async def go() -> tuple[list[str], list[object]]:
        loop = asyncio.get_running_loop()
        errors: list[object] = []
        loop.set_exception_handler(lambda _, context: errors.append(context.get("exception")))
        found = alarms()
        fired: list[str] = []
        now = time.monotonic()
        found.call_at(now + 0.005, fired.append, "first")
        found.call_at(now + 0.006, fired.append, "cancelled").cancel()
        found.call_at(now + 0.007, lambda: 1 / 0)
        found.call_at(now + 0.008, fired.append, "after the failure")
        await MONOTONIC.sleep_until(now + 0.03)
        return fired, errors

    fired, errors = run_async(go())
    assert fired == ["first", "after the failure"]
    assert len(errors) == 1
    assert isinstance(errors[0], ZeroDivisionError)


def test_the_loop_timers_serve_where_asked_and_sleeps_still_end(monkeypatch):
    monkeypatch.setenv("LOADGEN_LOOP_TIMERS", "1")

    async def go() -> tuple[str, float]:
        started = time.monotonic()
        await MONOTONIC.sleep_until(started + 0.02)
        return type(alarms()).__name__, time.monotonic() - started

    kind, slept = run_async(go())
    assert kind == "_LoopTimers"
    assert slept >= 0.019


@linux
def test_a_stop_ends_a_long_wait_and_a_wait_without_one_ends_on_time():
    async def go() -> tuple[float, float]:
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        loop.call_later(0.02, wake.set)
        await MONOTONIC.sleep_until(started + 5.0, wake)  # the stop comes first
        stopped = time.monotonic() - started
        started = time.monotonic()
        await MONOTONIC.sleep_until(started + 0.15, asyncio.Event())  # no stop: the deadline
        return stopped, time.monotonic() - started - 0.15

    stopped, late = run_async(go())
    assert stopped < 1.0
    assert late >= -alarms_module._SLACK


@linux
def test_the_descriptor_closes_with_its_loop():
    loop = asyncio.new_event_loop()

    async def fd_of() -> int:
        found = alarms()
        assert isinstance(found, Alarms)
        return found._fd

    fd = loop.run_until_complete(fd_of())
    os.fstat(fd)  # open while the loop lives
    loop.close()
    del loop
    gc.collect()
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(fd)
