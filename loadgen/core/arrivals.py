"""Arrival processes of the open model: when each request is due, as a pure function of time.

The rate follows piecewise-linear stages. Arrivals are placed in *operational time*
``Λ(t) = ∫₀ᵗ rate``: the n-th arrival is due when ``Λ(t)`` reaches the sum of n increments of
mean 1 — exactly 1 (constant), Exp(1) (Poisson) or Gamma(k, 1/k) (gamma, burstiness k: k = 1 is
Poisson, k < 1 burstier, k > 1 smoother, as vLLM's and GuideLLM's benchmarks define it).
Inverting Λ stage by stage makes a ramping Poisson process exact, not approximated by steps.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["ArrivalSchedule", "RateStage", "rate_at"]

Process = Literal["constant", "poisson", "gamma"]


@dataclass(frozen=True, slots=True)
class RateStage:
    """Ramp linearly from the previous rate to ``rate`` (per second) over ``duration``."""

    duration: float
    rate: float


def rate_at(stages: Sequence[RateStage], start_rate: float, elapsed: float) -> float:
    level, t = start_rate, 0.0
    for s in stages:
        if elapsed < t + s.duration:
            return level + (s.rate - level) * (elapsed - t) / s.duration
        level, t = s.rate, t + s.duration
    return level


class ArrivalSchedule:
    """Yields due times (seconds from the start) of successive arrivals, then None at the end."""

    def __init__(
        self,
        stages: Sequence[RateStage],
        *,
        start_rate: float = 0.0,
        process: Process = "constant",
        burstiness: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        if process == "gamma" and burstiness <= 0:
            raise ValueError("burstiness must be > 0")
        self._stages = list(stages)
        self._start_rate = start_rate
        self._process = process
        self._k = burstiness
        self._rng = rng or random.Random()
        self._target = 0.0  # operational time of the next arrival
        self._stage = 0  # stage index the search resumes from
        self._stage_t = 0.0  # wall time at which that stage starts
        self._stage_lambda = 0.0  # Λ at that stage's start
        self._stage_r0 = start_rate
        self.sent = 0

    def _increment(self) -> float:
        if self._process == "poisson":
            return -math.log(1.0 - self._rng.random())
        return self._rng.gammavariate(self._k, 1.0 / self._k)

    def next_due(self) -> float | None:
        """Seconds from the start at which the next arrival is due; None when the plan ends."""
        # constant: Λ = 0, 1, 2, … (the first arrival at once, N·rate in N seconds);
        # poisson / gamma: sums of random increments of mean 1.
        if self._process == "constant":
            self._target = float(self.sent)
        else:
            self._target += self._increment()
        while self._stage < len(self._stages):
            s = self._stages[self._stage]
            r0, r1, d = self._stage_r0, s.rate, s.duration
            area = (r0 + r1) / 2 * d
            need = self._target - self._stage_lambda
            if need < area or (need <= area + 1e-12 and self._process != "constant"):
                u = _solve(r0, r1, d, need)
                self.sent += 1
                return self._stage_t + u
            self._stage_lambda += area
            self._stage_t += d
            self._stage_r0 = r1
            self._stage += 1
        return None


def _solve(r0: float, r1: float, d: float, need: float) -> float:
    """Smallest u in [0, d] with r0·u + (r1 − r0)·u²/(2d) = need."""
    if need <= 0:
        return 0.0
    a = (r1 - r0) / (2 * d)
    if abs(a) < 1e-12:
        return need / r0 if r0 > 0 else d
    disc = r0 * r0 + 4 * a * need
    u = (-r0 + math.sqrt(max(disc, 0.0))) / (2 * a)
    return min(max(u, 0.0), d)
