"""The drivers and the graceful stop in virtual time: a ``FakeClock`` that never sleeps.

The users and arrivals here are stand-ins that only wait on the same clock, so each test
pins down what the driver decides at each virtual instant, in milliseconds of real time.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest

from loadgen.core.arrivals import ArrivalSchedule, RateStage
from loadgen.core.profile.model import Load, Stage, UserClass
from loadgen.engine.clock import FakeClock, MonotonicClock
from loadgen.engine.control import RunControl
from loadgen.engine.crowd import Crowd
from loadgen.engine.drivers import ClosedDriver, OpenDriver


class FakeUser:
    """Sends a request of ``busy`` seconds, thinks ``think`` seconds, repeats until stopped."""

    def __init__(self, clock: FakeClock, slot: int, *, busy: float = 1.0, think: float = 0.5):
        self.clock, self.slot, self.busy, self.think = clock, slot, busy, think
        self.stopping = False
        self.in_request = False
        self.requests = 0
        self._wake = asyncio.Event()

    def stop(self) -> None:
        self.stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self.stopping:
            self.in_request = True
            try:
                await self.clock.sleep(self.busy)  # a request is never cut short by stop()
            finally:
                self.in_request = False
            self.requests += 1
            await self.clock.sleep_until(self.clock.now() + self.think, self._wake)


def closed_driver(
    clock: FakeClock, level: Any, duration: float, crowd: Crowd, **user: float
) -> tuple[ClosedDriver, list[FakeUser]]:
    spawned: list[FakeUser] = []

    def spawn(k: int, cls: UserClass, rng: random.Random, tag: str) -> FakeUser:
        spawned.append(FakeUser(clock, k, **user))
        return spawned[-1]

    driver = ClosedDriver(
        classes=(UserClass(name="a"), UserClass(name="b")),
        level=level,
        duration=duration,
        seed=7,
        segment=(0, 1),
        spawn=spawn,
        crowd=crowd,
        control=RunControl(clock),
    )
    return driver, spawned


def ramp(elapsed: float) -> float:
    """0 → 10 users over 10 s, held for 5 s, down to 0 over 5 s."""
    if elapsed < 10:
        return elapsed
    if elapsed < 15:
        return 10.0
    return max(0.0, 10 - 2 * (elapsed - 15))


@pytest.mark.parametrize(
    ("at", "running"),
    [
        (0.05, 0),  # level 0 at the first read: nobody yet
        (2.25, 2),  # the plan is re-read every 0.1 s: level 2.2 at the last read
        (5.25, 5),
        (10.25, 10),  # the peak
        (14.95, 10),  # held
        (17.05, 6),  # ramping down 2 a second
        (19.95, 0),
    ],
    ids=lambda v: str(v),
)
def test_closed_driver_follows_a_ramp_from_0_to_10_users_and_back(at, running):
    """At virtual time ``at`` the driver has ``running`` users that are not stopping."""
    t0 = time.monotonic()

    async def main() -> int:
        clock = FakeClock()
        crowd = Crowd(open_model=False)
        driver, _ = closed_driver(clock, ramp, 20.0, crowd, busy=0.2, think=0.0)
        task = asyncio.create_task(driver.drive(0.0))
        await clock.advance_to(at)
        active = crowd.active_users
        task.cancel()
        for t in [task, *crowd.users]:
            t.cancel()
        await asyncio.gather(task, *crowd.users, return_exceptions=True)
        return active

    assert asyncio.run(main()) == running
    assert time.monotonic() - t0 < 5  # virtual seconds cost no real ones


def test_ramping_down_stops_the_newest_slots_and_replaces_none():
    """Slots above the level are told to stop (highest first); the rest keep their user."""

    async def main() -> tuple[list[int], list[int], int]:
        clock = FakeClock()
        crowd = Crowd(open_model=False)
        driver, spawned = closed_driver(clock, ramp, 20.0, crowd, busy=0.3, think=0.0)
        task = asyncio.create_task(driver.drive(0.0))
        await clock.advance_to(16.05)  # level 8: slots 9 and 10 stopping
        stopping = sorted(u.slot for u in spawned if u.stopping)
        running = sorted(u.slot for u in spawned if not u.stopping)
        await clock.advance_to(25.0)
        await task
        return stopping, running, sum(crowd.users_by_class.values())

    stopping, running, started = asyncio.run(main())
    assert stopping == [9, 10]
    assert running == list(range(1, 9))
    assert started == 10  # one user per slot: nothing restarted


def test_closed_driver_returns_at_the_end_of_the_plan_or_at_the_tick_after_a_stop():
    """The plan's duration ends the drive; a stop ends it at the next re-read of the plan
    (its 0.1 s waits are too short to wake on a stop), long before the duration."""

    async def main() -> tuple[float, float]:
        clock = FakeClock()
        driver, _ = closed_driver(clock, lambda _: 2.0, 3.0, Crowd(open_model=False))

        async def drive() -> float:
            await driver.drive(0.0)
            return clock.now()

        ended, _ = await asyncio.gather(drive(), clock.advance_to(10.0))
        clock2 = FakeClock()
        driver2, _ = closed_driver(clock2, lambda _: 2.0, 30.0, Crowd(open_model=False))
        task = asyncio.create_task(driver2.drive(0.0))
        await clock2.advance_to(1.05)
        driver2.control.stop("test")
        await clock2.settle()
        assert not task.done()
        await clock2.advance_to(1.16)
        assert task.done()
        return ended, clock2.now()

    ended, stopped = asyncio.run(main())
    assert ended == pytest.approx(3.0)
    assert stopped == 1.16


class Tally:
    def __init__(self) -> None:
        self.sent = self.dropped = 0

    def add_sent(self) -> None:
        self.sent += 1

    def add_dropped(self) -> None:
        self.dropped += 1


class FakeArrivals:
    """Each arrival records its t0 and when it started, then is busy ``busy`` seconds."""

    def __init__(self, clock: FakeClock, *, busy: float, max_in_flight: int = 1000) -> None:
        self.clock, self.busy = clock, busy
        self.rng = random.Random(3)
        self.arrival = -1
        self.max_in_flight = max_in_flight
        self.started: list[tuple[float, float]] = []

    def draw(self) -> Any:
        async def serve(t0: float) -> None:
            self.started.append((t0, self.clock.now()))
            await self.clock.sleep(self.busy)

        return serve


def open_driver(
    clock: FakeClock, arrivals: FakeArrivals, load: Load, *, segment: tuple[int, int] = (0, 1)
) -> tuple[OpenDriver, Tally, Crowd]:
    tally, crowd = Tally(), Crowd(open_model=True)
    driver = OpenDriver(
        load=load,
        segment=segment,
        arrivals=arrivals,
        tally=tally,
        crowd=crowd,
        control=RunControl(clock),
    )
    return driver, tally, crowd


def expected_dues(load: Load) -> list[float]:
    """The due times the schedule gives, computed the way the driver seeds it."""
    rng = random.Random(random.Random(3).getrandbits(64))
    stages = [RateStage(s.duration, s.target) for s in load.stages]
    schedule = ArrivalSchedule(
        stages, start_rate=load.start, process=load.arrival, burstiness=load.burstiness, rng=rng
    )
    dues = []
    while (due := schedule.next_due()) is not None:
        dues.append(due)
    return dues


@pytest.mark.parametrize("arrival", ["constant", "poisson"])
def test_open_driver_starts_each_arrival_at_its_due_time(arrival):
    """Every arrival starts at the schedule's due time (its t0 is that time, and so is the
    clock when it starts), even while earlier ones are still busy."""
    load = Load(
        model="open",
        stages=(Stage(duration=3.0, target=20.0),),
        start=20.0,
        arrival=arrival,
    )

    async def main() -> tuple[FakeArrivals, Tally]:
        clock = FakeClock(100.0)
        arrivals = FakeArrivals(clock, busy=0.5)
        driver, tally, _ = open_driver(clock, arrivals, load)
        await asyncio.gather(driver.drive(100.0), clock.advance_to(110.0))
        return arrivals, tally

    arrivals, tally = asyncio.run(main())
    dues = [100.0 + d for d in expected_dues(load)]
    assert [t0 for t0, _ in arrivals.started] == dues
    assert [at for _, at in arrivals.started] == dues  # started on time, never late
    assert tally.sent == len(dues)
    assert tally.dropped == 0
    if arrival == "constant":
        assert len(dues) == 60


def test_open_driver_drops_arrivals_beyond_max_in_flight():
    """With 2 slots and requests of 1 s at 10/s, 2 of every 10 arrivals run; the rest are
    counted as dropped, never delayed."""
    load = Load(model="open", stages=(Stage(duration=2.0, target=10.0),), start=10.0)

    async def main() -> tuple[FakeArrivals, Tally]:
        clock = FakeClock()
        arrivals = FakeArrivals(clock, busy=1.0, max_in_flight=2)
        driver, tally, _ = open_driver(clock, arrivals, load)
        await asyncio.gather(driver.drive(0.0), clock.advance_to(5.0))
        return arrivals, tally

    arrivals, tally = asyncio.run(main())
    assert tally.sent == len(arrivals.started) == 4
    assert tally.dropped == 16
    assert all(t0 == at for t0, at in arrivals.started)


def test_segments_split_the_arrivals_between_them():
    """Segment i of n sends every n-th arrival of the whole schedule (arrival % n == i)."""
    load = Load(model="open", stages=(Stage(duration=1.0, target=9.0),), start=9.0)

    async def sent_by(segment: tuple[int, int]) -> list[float]:
        clock = FakeClock()
        arrivals = FakeArrivals(clock, busy=0.0)
        driver, _, _ = open_driver(clock, arrivals, load, segment=segment)
        await asyncio.gather(driver.drive(0.0), clock.advance_to(2.0))
        return [t0 for t0, _ in arrivals.started]

    whole = asyncio.run(sent_by((0, 1)))
    parts = [asyncio.run(sent_by((i, 3))) for i in range(3)]
    assert sorted(t for part in parts for t in part) == whole
    assert parts[1] == whole[1::3]


def test_graceful_stop_waits_for_requests_in_flight_that_end_within_the_grace():
    """Users told to stop finish their request (1 s) inside a 5 s grace: nothing cancelled."""

    async def main() -> tuple[float, list[int], int]:
        clock = FakeClock()
        crowd = Crowd(open_model=False)
        control = RunControl(clock)
        users = [FakeUser(clock, k, busy=1.0, think=0.0) for k in (1, 2, 3)]
        tasks = [crowd.start_user(u, f"vu-{u.slot}") for u in users]
        await clock.advance_to(0.4)  # each is 0.4 s into its first request
        drain = asyncio.create_task(crowd.drain(5.0, control))
        ended: list[float] = []
        drain.add_done_callback(lambda _: ended.append(clock.now()))
        await clock.advance_to(0.5)
        assert crowd.finishing_users == crowd.finishing_peak == 3
        await clock.advance_to(10.0)
        await drain
        return ended[0], [u.requests for u in users], sum(t.cancelled() for t in tasks)

    ended, requests, cancelled = asyncio.run(main())
    assert ended == 1.0  # when the last request ended, not when the grace would have
    assert requests == [1, 1, 1]
    assert cancelled == 0


def test_graceful_stop_cancels_what_is_still_running_when_the_grace_ends():
    """A request of 10 s gets the 2 s grace, then is cancelled; the drain ends at t = 2."""

    async def main() -> tuple[float, bool, bool]:
        clock = FakeClock()
        crowd = Crowd(open_model=False)
        control = RunControl(clock)
        slow = FakeUser(clock, 1, busy=10.0)
        quick = FakeUser(clock, 2, busy=0.5)
        slow_task = crowd.start_user(slow, "vu-1")
        quick_task = crowd.start_user(quick, "vu-2")
        await clock.settle()
        drain = asyncio.create_task(crowd.drain(2.0, control))
        await clock.advance_to(1.0)
        assert not drain.done()
        assert quick_task.done()
        assert not slow_task.done()
        await clock.advance_to(2.0)
        await drain
        return clock.now(), slow_task.cancelled(), quick_task.cancelled()

    ended, slow_cancelled, quick_cancelled = asyncio.run(main())
    assert ended == 2.0
    assert slow_cancelled
    assert not quick_cancelled


def test_stop_now_cuts_the_grace_short():
    """``stop_now()`` during the grace cancels the requests in flight at once."""

    async def main() -> tuple[float, bool]:
        clock = FakeClock()
        crowd = Crowd(open_model=True)
        control = RunControl(clock)
        task = crowd.start_arrival(clock.sleep(30.0))
        drain = asyncio.create_task(crowd.drain(10.0, control))
        await clock.advance_to(3.0)
        assert crowd.in_flight == 1
        assert not drain.done()
        control.stop_now("second Ctrl-C")
        await clock.settle()
        assert drain.done()
        return clock.now(), task.cancelled()

    assert asyncio.run(main()) == (3.0, True)


def test_run_control_wait_returns_at_the_deadline_or_at_a_stop():
    """``wait`` sleeps to the deadline (False) or returns as soon as the run stops (True)."""

    async def main() -> list[tuple[bool, float]]:
        clock = FakeClock()
        control = RunControl(clock)
        out = []
        waiting = asyncio.create_task(control.wait(5.0))
        await clock.advance_to(5.0)
        out.append((await waiting, clock.now()))
        waiting = asyncio.create_task(control.wait(60.0))
        await clock.advance_to(7.0)
        control.stop("test")
        await clock.settle()
        out.append((await waiting, clock.now()))
        return out

    assert asyncio.run(main()) == [(False, 5.0), (True, 7.0)]


def test_the_real_clock_wakes_a_sleeper_early_when_its_event_is_set():
    """``MonotonicClock.sleep_until`` with ``wake`` returns on the event, not the deadline."""

    async def main() -> float:
        clock = MonotonicClock()
        wake = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, wake.set)
        t0 = clock.now()
        await clock.sleep_until(t0 + 30.0, wake)
        return clock.now() - t0

    assert asyncio.run(main()) < 5.0
