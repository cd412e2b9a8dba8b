"""The closed model: a number of VUs following the stage plan."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Sequence

from loadgen.core.profile.model import UserClass
from loadgen.core.shapes import ClassAssigner
from loadgen.engine.control import RunControl
from loadgen.engine.crowd import Crowd, User

__all__ = ["ClosedDriver", "Spawn"]

_TICK = 0.1  # how often the plan is re-read (s)

Spawn = Callable[[int, UserClass, random.Random, str], User]
"""Build the user of slot k: ``spawn(k, user_class, rng, tag)``."""


class ClosedDriver:
    """Keep the VUs on ``level(elapsed)`` until ``duration`` or a stop.

    VU slot k (1, 2, …) runs while the planned level is ≥ k, so ramping down stops the
    newest users first. Slot k's class comes from one global weighted sequence and its
    random choices from a seed of its own, so a segment (``--segment i/n`` runs slots
    with (k - 1) mod n = i - 1) makes exactly the choices the whole test would.
    """

    def __init__(
        self,
        *,
        classes: Sequence[UserClass],
        level: Callable[[float], float],
        duration: float,
        seed: int,
        segment: tuple[int, int],
        spawn: Spawn,
        crowd: Crowd,
        control: RunControl,
    ) -> None:
        self.classes = classes
        self.level = level
        self.duration = duration
        self.seed = seed
        self.segment = segment
        self.spawn = spawn
        self.crowd = crowd
        self.control = control
        self._assigner = ClassAssigner([u.weight for u in classes])
        self._drawn: list[int] = []  # the class of each slot, in slot order
        self._generation: Counter[int] = Counter()
        self._slots: dict[int, asyncio.Task[None]] = {}

    async def drive(self, start: float) -> None:
        clock = self.control.run_clock
        while True:
            elapsed = clock.now() - start
            if elapsed >= self.duration:
                return
            want = round(self.level(elapsed))
            self._start_up_to(want)
            self._stop_above(want)
            if await self.control.wait(min(clock.now() + _TICK, start + self.duration)):
                return

    def _start_up_to(self, want: int) -> None:
        """Start a user in every slot of this segment up to ``want`` that has none running."""
        while len(self._drawn) < want:
            self._drawn.append(self._assigner.next())
        index, count = self.segment
        for k in range(index + 1, want + 1, count):
            task = self._slots.get(k)
            if task is not None and not task.done() and not self.crowd.users[task].stopping:
                continue
            cls = self.classes[self._drawn[k - 1]]
            self.crowd.users_by_class[cls.name] += 1
            gen = self._generation[k]
            self._generation[k] += 1
            rng = random.Random(f"{self.seed}:{k}:{gen}")
            user = self.spawn(k, cls, rng, str(k) if gen == 0 else f"{k}.{gen}")
            self._slots[k] = self.crowd.start_user(user, f"vu-{k}")

    def _stop_above(self, want: int) -> None:
        """Tell the users of slots above ``want`` to finish (newest first in effect)."""
        for k in [k for k in self._slots if k > want]:
            task = self._slots.pop(k)
            if not task.done():
                self.crowd.users[task].stop()
