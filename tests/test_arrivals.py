"""Arrival processes: due times as a pure function of the rate plan and a seed."""

import itertools
import math
import random

import pytest

from loadgen.core.arrivals import ArrivalSchedule, RateStage, rate_at


def due_times(schedule: ArrivalSchedule) -> list[float]:
    out = []
    while (t := schedule.next_due()) is not None:
        out.append(t)
    return out


def ks_exponential(gaps: list[float], rate: float) -> float:
    """Kolmogorov–Smirnov distance between the gaps and Exp(rate)."""
    gaps = sorted(gaps)
    n = len(gaps)
    return max(
        max((i + 1) / n - (1 - math.exp(-rate * g)), (1 - math.exp(-rate * g)) - i / n)
        for i, g in enumerate(gaps)
    )


@pytest.mark.parametrize(
    ("stages", "start", "count", "first", "last"),
    [
        ([RateStage(10, 5)], 5, 50, 0.0, 9.8),  # 5/s for 10 s: every 0.2 s from t = 0
        ([RateStage(2, 100)], 100, 200, 0.0, 1.99),  # N seconds × rate exactly
        ([RateStage(10, 10)], 0, 50, 0.0, 9.9),  # ramp 0 → 10/s: area 50 arrivals
        ([RateStage(1, 0), RateStage(1, 10)], 0, 5, 1.0, 1.9),  # nothing while the rate is 0
    ],
    ids=["constant", "n-seconds-times-rate", "linear-ramp", "after-a-pause"],
)
def test_constant_arrivals_follow_the_plan_exactly(stages, start, count, first, last):
    """Constant arrivals place Λ(t) = 0, 1, 2, …: the count is the area under the rate."""
    times = due_times(ArrivalSchedule(stages, start_rate=start))
    assert len(times) == count
    assert times[0] == pytest.approx(first, abs=1e-9)
    assert times[-1] == pytest.approx(last, abs=0.02)
    assert times == sorted(times)


def test_poisson_gaps_are_exponential():
    """KS distance of 20,000 Poisson gaps at 50/s stays below the 1 % critical value."""
    times = due_times(
        ArrivalSchedule(
            [RateStage(400, 50)], start_rate=50, process="poisson", rng=random.Random(11)
        )
    )
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == pytest.approx(20_000, rel=0.03)
    assert ks_exponential(gaps, 50) < 1.63 / math.sqrt(len(gaps))


def test_gamma_burstiness_changes_the_spread_not_the_rate():
    """Gamma with k < 1 is burstier than Poisson (CV > 1) at the same mean rate."""

    def cv(k: float) -> tuple[float, float]:
        times = due_times(
            ArrivalSchedule(
                [RateStage(200, 20)],
                start_rate=20,
                process="gamma",
                burstiness=k,
                rng=random.Random(3),
            )
        )
        gaps = [b - a for a, b in itertools.pairwise(times)]
        mean = sum(gaps) / len(gaps)
        sd = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps))
        return len(times) / 200, sd / mean

    rate_bursty, cv_bursty = cv(0.25)
    rate_smooth, cv_smooth = cv(4.0)
    assert rate_bursty == pytest.approx(20, rel=0.1)
    assert rate_smooth == pytest.approx(20, rel=0.05)
    assert cv_bursty == pytest.approx(2.0, rel=0.15)  # CV = 1/sqrt(k)
    assert cv_smooth == pytest.approx(0.5, rel=0.15)


def test_same_seed_same_arrivals():
    """A seed reproduces the schedule exactly."""

    def make() -> list[float]:
        return due_times(
            ArrivalSchedule(
                [RateStage(5, 30)], start_rate=30, process="poisson", rng=random.Random(9)
            )
        )

    assert make() == make()


def test_rate_at_interpolates():
    """The planned rate ramps linearly within a stage and holds after the end."""
    stages = [RateStage(10, 100), RateStage(10, 0)]
    assert rate_at(stages, 0, 5) == pytest.approx(50)
    assert rate_at(stages, 0, 15) == pytest.approx(50)
    assert rate_at(stages, 0, 99) == 0
