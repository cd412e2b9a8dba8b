"""The users and arrivals running now: what the live counts read and what a stop waits for.

The drivers start tasks here; ``drain`` is the graceful stop (SPEC: in-flight requests get
``load.graceful_stop`` to finish, ``stop_now()`` cuts it short, the rest are cancelled and
counted ``interrupted``). Waiting is on the run control's clock, so it is tested with a fake one.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from typing import Any, Protocol

from loadgen.engine.control import RunControl

__all__ = ["Crowd", "User"]

_CANCEL_WAIT = 5.0  # how long cancelled tasks get to unwind (real seconds)


class User(Protocol):
    """A closed-model user as the drivers see it (``loadgen.engine.vu.VU``)."""

    @property
    def stopping(self) -> bool: ...

    @property
    def in_request(self) -> bool: ...

    def stop(self) -> None:
        """Finish the current request (if any), then exit ``run()``."""

    async def run(self) -> None: ...


class Crowd:
    """The closed model's user tasks and the open model's arrival tasks."""

    def __init__(self, *, open_model: bool) -> None:
        self.open_model = open_model
        self.users: dict[asyncio.Task[None], User] = {}
        self.arrivals: set[asyncio.Task[None]] = set()
        self.users_by_class: Counter[str] = Counter()
        self.internal_errors: list[str] = []  # exceptions escaping a user: bugs, never hidden
        self.draining = False
        self.finishing_peak = 0  # most users finishing at once during the graceful stop

    def start_user(self, user: User, name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(user.run(), name=name)
        task.add_done_callback(self._user_done)
        self.users[task] = user
        return task

    def start_arrival(self, arrival: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(arrival)
        self.arrivals.add(task)
        task.add_done_callback(self.arrivals.discard)
        return task

    def _user_done(self, task: asyncio.Task[None]) -> None:
        self.users.pop(task, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # A bug in loadgen, not the target: the run goes on, but it is never hidden.
            self.internal_errors.append(f"{type(exc).__name__}: {exc}")

    @property
    def active_users(self) -> int:
        """Closed model: running users; open model: requests in flight."""
        if self.open_model:
            return len(self.arrivals)
        return sum(1 for user in self.users.values() if not user.stopping)

    @property
    def finishing_users(self) -> int:
        """Closed model: users told to stop (ramp-down, graceful stop) still finishing."""
        if self.open_model:
            return 0
        return sum(1 for user in self.users.values() if user.stopping)

    @property
    def in_flight(self) -> int:
        """Requests running now: what a stop waits for."""
        if self.open_model:
            return len(self.arrivals)
        return sum(1 for user in self.users.values() if user.in_request)

    def sample_finishing(self) -> None:
        """During the graceful stop every user left is finishing: note the peak (cheap)."""
        if self.draining:
            self.finishing_peak = max(self.finishing_peak, len(self.users))

    def take_finishing_peak(self) -> int:
        """Users finishing in the interval now closing, counted at their peak; resets it."""
        peak = max(self.finishing_users, self.finishing_peak)
        self.finishing_peak = 0
        return peak

    async def drain(self, grace: float, control: RunControl) -> None:
        """Let in-flight requests finish for ``grace`` seconds (or until ``stop_now()``), then
        cancel them (→ interrupted)."""
        for user in self.users.values():
            user.stop()
        self.draining = True
        self.finishing_peak = max(self.finishing_peak, self.finishing_users)
        pending: set[asyncio.Task[None]] = {*self.users, *self.arrivals}
        clock = control.run_clock
        deadline = clock.now() + grace
        now = asyncio.ensure_future(control.stopped_now())
        timer = asyncio.ensure_future(clock.sleep_until(deadline))
        try:  # until every task ends, the grace runs out or stop_now() (a second Ctrl-C)
            while (
                pending and not control.stopping_now and not timer.done() and clock.now() < deadline
            ):
                done, _ = await asyncio.wait(
                    {*pending, now, timer}, return_when=asyncio.FIRST_COMPLETED
                )
                pending -= done
        finally:
            now.cancel()
            timer.cancel()
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=_CANCEL_WAIT)
