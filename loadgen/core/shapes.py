"""Pure load-shape logic: stage plans, user-class assignment, weighted choice, think time.

Nothing here sleeps or reads a clock: functions take the elapsed time or a seeded
``random.Random`` and return values, so they are table-tested without an event loop.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from loadgen.core.profile.model import Load, ThinkTime

__all__ = ["ClassAssigner", "PlanStep", "WeightedChoice", "draw_think", "level_at", "plan"]


def level_at(load: Load, elapsed: float) -> float:
    """Users (closed model) the plan asks for ``elapsed`` seconds into the run.

    Each stage ramps linearly from the level at its start to its target; past the end the
    last target holds (the engine stops the run there).
    """
    level = load.start
    t = 0.0
    for stage in load.stages:
        if elapsed < t + stage.duration:
            frac = (elapsed - t) / stage.duration if stage.duration > 0 else 1.0
            return level + (stage.target - level) * frac
        level = stage.target
        t += stage.duration
    return level


@dataclass(frozen=True, slots=True)
class PlanStep:
    """From ``at`` seconds, the plan ramps from ``start`` to ``end`` users by ``until``."""

    at: float
    until: float
    start: float
    end: float
    name: str | None = None


def plan(load: Load) -> list[PlanStep]:
    """The stage plan as data: what ``validate`` prints and the report draws."""
    steps = []
    t, level = 0.0, load.start
    for stage in load.stages:
        steps.append(
            PlanStep(at=t, until=t + stage.duration, start=level, end=stage.target, name=stage.name)
        )
        t += stage.duration
        level = stage.target
    return steps


class ClassAssigner:
    """Deterministic smooth weighted round-robin over user classes.

    With weights 70/20/10 every 10 consecutive VUs hold exactly 7/2/1, so small runs keep the
    mix instead of depending on luck (nginx's smooth weighted balancing).
    """

    def __init__(self, weights: Sequence[float]) -> None:
        if not weights or any(w <= 0 for w in weights):
            raise ValueError("weights must be positive")
        self._weights = list(weights)
        self._current = [0.0] * len(weights)
        self._total = sum(weights)

    def next(self) -> int:
        best = 0
        for i, w in enumerate(self._weights):
            self._current[i] += w
            if self._current[i] > self._current[best]:
                best = i
        self._current[best] -= self._total
        return best


class WeightedChoice:
    """Pick an index by weight with a seeded RNG in O(log n)."""

    def __init__(self, weights: Sequence[float]) -> None:
        self._cum = list(itertools.accumulate(weights))
        self._total = self._cum[-1]

    def pick(self, rng: random.Random) -> int:
        if len(self._cum) == 1:
            return 0
        return bisect.bisect_right(self._cum, rng.random() * self._total)


def draw_think(think: ThinkTime, rng: random.Random) -> float:
    """Seconds to pause before the next task."""
    if think.kind == "constant":
        return think.low
    if think.kind == "uniform":
        return rng.uniform(think.low, think.high)
    if think.mean <= 0:
        return 0.0
    return -math.log(1.0 - rng.random()) * think.mean
