"""Distributions: the YAML and flag grammar, seeded reproducibility, clamping (no sockets)."""

from __future__ import annotations

import random
import statistics
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadgen.target.dists import Dist, parse_dist


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("200ms", "duration", Dist.constant(0.2)),
        (0.5, "duration", Dist.constant(0.5)),
        ({"constant": "200ms"}, "duration", Dist.constant(0.2)),
        ({"uniform": ["10ms", "30ms"]}, "duration", Dist.uniform(0.01, 0.03)),
        ({"normal": {"mean": "1s", "sd": "100ms"}}, "duration", Dist.normal(1, 0.1)),
        ({"lognormal": {"median": "300ms", "sigma": 0.5}}, "duration", Dist.lognormal(0.3, 0.5)),
        ({"lognormal": ["300ms", 0.5]}, "duration", Dist.lognormal(0.3, 0.5)),
        ("uniform:10ms,30ms", "duration", Dist.uniform(0.01, 0.03)),
        ("lognormal:300ms,0.5", "duration", Dist.lognormal(0.3, 0.5)),
        ("normal:1s, 100ms", "duration", Dist.normal(1, 0.1)),
        ("constant:5ms", "duration", Dist.constant(0.005)),
        (32, "count", Dist.constant(32)),
        ({"uniform": [20, 120]}, "count", Dist.uniform(20, 120)),
        ("uniform:20,120", "count", Dist.uniform(20, 120)),
    ],
    ids=[
        "a bare duration is a constant",
        "a bare number is seconds",
        "constant mapping",
        "uniform list",
        "normal mapping",
        "lognormal mapping (sigma has no unit)",
        "lognormal list",
        "uniform flag form",
        "lognormal flag form",
        "flag form tolerates spaces",
        "constant flag form",
        "a count",
        "uniform counts",
        "uniform counts, flag form",
    ],
)
def test_parse_forms(value: Any, unit: str, expected: Dist) -> None:
    """Every documented spelling reads to the same value."""
    assert parse_dist(value, unit=unit) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("fast", "'fast' is not a duration"),
        ({"gamma": [1, 2]}, "unknown distribution 'gamma'"),
        ({"uniform": [1]}, "uniform takes two values"),
        ({"uniform": ["30ms", "10ms"]}, "swap them"),
        ({"normal": {"mean": 1}}, "normal takes {mean: .., sd: ..}"),
        ({"constant": 1, "uniform": [1, 2]}, "exactly one key"),
        ("weibull:1,2", "unknown distribution 'weibull'"),
    ],
    ids=[
        "not a duration",
        "unknown kind",
        "one value for two",
        "low above high",
        "missing parameter",
        "two kinds",
        "unknown kind in a flag",
    ],
)
def test_parse_errors_say_what_to_write(value: Any, fragment: str) -> None:
    """Errors carry the problem and the accepted forms."""
    with pytest.raises(ValueError, match="uniform:low,high") as info:
        parse_dist(value)
    assert fragment in str(info.value)


def test_same_seed_same_draws() -> None:
    """Draws depend only on the seed and their order."""
    dist = Dist.lognormal(0.3, 0.5)
    a, b = random.Random(1), random.Random(1)
    assert [dist.sample(a) for _ in range(50)] == [dist.sample(b) for _ in range(50)]


def test_lognormal_median_and_normal_clamp() -> None:
    """Lognormal's median is its parameter; normal never goes below zero."""
    rng = random.Random(3)
    draws = [Dist.lognormal(0.3, 0.5).sample(rng) for _ in range(4000)]
    assert abs(statistics.median(draws) - 0.3) < 0.02
    assert min(Dist.normal(0.01, 1.0).sample(rng) for _ in range(1000)) == 0.0


def test_counts_are_at_least_one() -> None:
    """A token count is rounded and never 0."""
    rng = random.Random(0)
    assert min(Dist.uniform(0, 2).sample_count(rng) for _ in range(200)) == 1


def test_fixed_values() -> None:
    """Constant-valued distributions are recognised so the hot path skips the RNG."""
    assert Dist.constant(0).is_zero
    assert Dist.uniform(0.2, 0.2).fixed() == 0.2
    assert Dist.lognormal(0, 1).fixed() == 0.0
    assert Dist.uniform(0.1, 0.2).fixed() is None


@given(
    st.one_of(
        st.text(max_size=30),
        st.floats(),
        st.sampled_from(["nan", "inf", "1e400"]),
        st.integers(),
        st.dictionaries(st.text(max_size=10), st.integers(), max_size=3),
    )
)
def test_any_input_reads_or_raises_value_error(value: Any) -> None:
    """The parser returns a Dist or raises ValueError, never anything else."""
    try:
        dist = parse_dist(value)
    except ValueError:
        return
    assert dist.sample(random.Random(0)) >= 0


@given(
    st.sampled_from(["constant", "uniform", "normal", "lognormal"]),
    st.floats(0, 100),
    st.floats(0, 100),
)
def test_yaml_form_round_trips(kind: str, a: float, b: float) -> None:
    """``to_yaml`` writes what ``parse_dist`` reads back."""
    if kind == "uniform":
        a, b = min(a, b), max(a, b)
    dist = Dist(kind, a, 0.0 if kind == "constant" else b)
    assert parse_dist(dist.to_yaml()) == dist
