"""Load shapes: stage plan, user-class mix, weighted choice and think time, without a clock."""

import random
import statistics
from collections import Counter

import pytest

from loadgen.core.profile.model import Load, Stage, ThinkTime
from loadgen.core.shapes import ClassAssigner, WeightedChoice, draw_think, level_at, plan

RAMP = Load(
    stages=(
        Stage(duration=10, target=100),
        Stage(duration=20, target=100),
        Stage(duration=10, target=0),
    )
)


@pytest.mark.parametrize(
    ("elapsed", "users"),
    [
        (0, 0),  # stages start from load.start (0)
        (5, 50),  # halfway up the first ramp
        (10, 100),  # top of the ramp
        (25, 100),  # holding
        (35, 50),  # halfway down
        (40, 0),  # the end
        (99, 0),  # past the end the last level holds
    ],
    ids=lambda v: str(v),
)
def test_level_ramps_linearly_between_stages(elapsed, users):
    """Each stage ramps linearly from the previous level to its target, up and down."""
    assert level_at(RAMP, elapsed) == pytest.approx(users)


def test_plan_is_data_that_matches_the_stages():
    """The plan printed by validate and drawn in reports lists each ramp."""
    steps = plan(RAMP)
    assert [(s.at, s.until, s.start, s.end) for s in steps] == [
        (0, 10, 0, 100),
        (10, 30, 100, 100),
        (30, 40, 100, 0),
    ]


def test_class_assigner_keeps_exact_ratios_in_every_window():
    """70/20/10 weights give exactly 7/2/1 in every 10 consecutive users."""
    a = ClassAssigner([70, 20, 10])
    picks = [a.next() for _ in range(100)]
    for i in range(0, 100, 10):
        assert Counter(picks[i : i + 10]) == {0: 7, 1: 2, 2: 1}


def test_weighted_choice_follows_weights_and_seed():
    """Seeded choices repeat exactly and follow the weights."""
    wc = WeightedChoice([5, 3, 1])
    a = [wc.pick(random.Random(7)) for _ in range(3)]
    b = [wc.pick(random.Random(7)) for _ in range(3)]
    assert a == b
    rng = random.Random(1)
    counts = Counter(wc.pick(rng) for _ in range(9000))
    assert counts[0] == pytest.approx(5000, rel=0.05)
    assert counts[2] == pytest.approx(1000, rel=0.1)


@pytest.mark.parametrize(
    ("think", "mean"),
    [
        (ThinkTime(kind="constant", low=2, high=2, mean=2), 2.0),
        (ThinkTime(kind="uniform", low=2, high=8, mean=5), 5.0),
        (ThinkTime(kind="exponential", mean=3), 3.0),
    ],
    ids=["constant", "uniform", "exponential"],
)
def test_think_time_distributions_have_their_mean(think, mean):
    """The drawn pauses average to the configured mean and stay in range."""
    rng = random.Random(3)
    draws = [draw_think(think, rng) for _ in range(20000)]
    assert statistics.fmean(draws) == pytest.approx(mean, rel=0.03)
    assert min(draws) >= think.low if think.kind != "exponential" else min(draws) >= 0
