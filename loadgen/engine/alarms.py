"""Wake-ups on time to the tens of microseconds: a Linux timerfd on the event loop.

The event loops' own timers are millisecond timers: uvloop keeps libuv's clock in whole
milliseconds, cached once per loop turn, and asyncio's selector waits in whole milliseconds
rounded up. Measured on an idle loop (``benchmarks/timer_precision.py``: 2,000 sleeps of
0.5-6 ms, ``loop.call_at`` on ``time.monotonic``'s clock as the VUs and the clock used it):
0.61 ms late at the median and 1.49 ms at p99 on uvloop, some 0.24 ms early, 19 % more than
1 ms late (asyncio: 0.58 / 1.17 ms). That is most of the budget of a replay that promises each
request within 2 ms of its timestamp, and a bias of every think time's intended start.

A timerfd armed at an absolute CLOCK_MONOTONIC time (``time.monotonic``'s clock) becomes
readable at that nanosecond, and the loop's poll returns at once for a ready descriptor
whatever its own timeout's granularity: the same sleeps woke 0.06 ms late at the median and
0.26 ms at p99 on both loops, never early. One descriptor per loop serves every alarm: a heap
of deadlines, the descriptor armed for the earliest (re-armed when that changes, ~1 µs).
The price is a loop wake-up per distinct deadline: with 20,000 timers due within a second,
16.6 µs of CPU per timer against 7.7 µs for uvloop's own (``_SLACK`` batches the closest).

Linux only; elsewhere, or when the descriptor cannot be made, ``alarms()`` returns the loop's
own timers behind the same ``call_at``. Python 3.13's ``os.timerfd_create`` does the same as
the ctypes calls here; this keeps 3.11 and 3.12.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import heapq
import itertools
import os
import sys
import weakref
from collections.abc import Callable
from time import monotonic
from typing import Any, Protocol

__all__ = ["Alarms", "Cancellable", "alarms"]

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = 0o2000000  # O_CLOEXEC on Linux
_TFD_TIMER_ABSTIME = 1
# Alarms due this soon after the one that fired run with it: a wake-up of the loop costs
# ~15 µs (poll, read, re-arm), and dense alarms (thousands of think times a second) would
# each pay it; 50 µs early is well inside what a timer is for here.
_SLACK = 50e-6


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class _Alarm:
    """One pending ``call_at``; cancelled ones stay in the heap until they reach its top."""

    __slots__ = ("args", "callback", "cancelled")

    def __init__(self, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Alarms:
    """``call_at(when, callback, *args)`` on ``time.monotonic``'s clock, fired from one
    timerfd the loop polls; callbacks run in the loop's thread, in deadline order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, settime: Any) -> None:
        self._fd = fd
        self._settime = settime
        self._spec = _Itimerspec()
        self._heap: list[tuple[float, int, _Alarm]] = []
        self._order = itertools.count()
        self._armed = float("inf")
        loop.add_reader(fd, self._fire)

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> Cancellable:
        alarm = _Alarm(callback, args)
        heapq.heappush(self._heap, (when, next(self._order), alarm))
        if when < self._armed:
            self._arm(when)
        return alarm

    def _arm(self, when: float) -> None:
        self._armed = when
        value = self._spec.it_value
        if when <= 0.0:  # zero would disarm it: the earliest time there is instead
            value.tv_sec, value.tv_nsec = 0, 1
        else:
            sec = int(when)
            value.tv_sec, value.tv_nsec = sec, max(1, int((when - sec) * 1e9))
        self._settime(self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(self._spec), None)

    def _fire(self) -> None:
        # Re-armed since it became readable, it may read nothing: the heap decides.
        with contextlib.suppress(BlockingIOError, InterruptedError):
            os.read(self._fd, 8)
        heap, now = self._heap, monotonic() + _SLACK
        self._armed = float("inf")
        while heap and heap[0][0] <= now:
            alarm = heapq.heappop(heap)[2]
            if not alarm.cancelled:
                try:
                    alarm.callback(*alarm.args)
                except Exception as exc:  # as the loop's own timers: reported, not fatal
                    asyncio.get_running_loop().call_exception_handler(
                        {"message": "alarm callback failed", "exception": exc}
                    )
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        if heap:
            self._arm(heap[0][0])


class _LoopTimers:
    """The loop's own (millisecond) timers, where no timerfd can be had."""

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> Cancellable:
        loop = asyncio.get_running_loop()
        return loop.call_later(max(0.0, when - monotonic()), callback, *args)


# Weak keys, and values that hold no reference to their loop: a process that runs many loops
# (tests, ``loadgen.run`` called again and again) keeps neither them nor their descriptors.
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Alarms | _LoopTimers] = (
    weakref.WeakKeyDictionary()
)


def alarms() -> Alarms | _LoopTimers:
    """The running loop's alarms (made on first use; the descriptor closes with the loop)."""
    loop = asyncio.get_running_loop()
    found = _by_loop.get(loop)
    if found is None:
        found = _by_loop[loop] = _make(loop)
    return found


def _make(loop: asyncio.AbstractEventLoop) -> Alarms | _LoopTimers:
    if not sys.platform.startswith("linux") or os.environ.get("LOADGEN_LOOP_TIMERS"):
        return _LoopTimers()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        create, settime = libc.timerfd_create, libc.timerfd_settime
        create.argtypes = [ctypes.c_int, ctypes.c_int]
        settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        fd = create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if fd < 0:
            return _LoopTimers()
        weakref.finalize(loop, os.close, fd)
        return Alarms(loop, fd, settime)
    except (OSError, AttributeError, NotImplementedError):
        return _LoopTimers()
