"""Token-length distributions: the forms a profile writes, seeded draws, and problems with
their fix (issue 20.2)."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadgen.core.lengths import (
    MAX_TOKENS,
    Empirical,
    Fixed,
    LogNormal,
    Normal,
    Uniform,
    parse_length,
    read_length,
)

DRAWS = 20_000


def draws(length, seed=1):
    rng = random.Random(seed)
    return [length.sample(rng) for _ in range(DRAWS)]


@pytest.mark.parametrize(
    ("raw", "length"),
    [
        pytest.param(512, Fixed(512), id="a number is fixed"),
        pytest.param("512", Fixed(512), id="quick path text is fixed"),
        pytest.param(512.0, Fixed(512), id="a whole float is fixed"),
        pytest.param("512:64", Normal(512, 64), id="mean:stdev is normal from 1"),
        pytest.param(
            {"mean": 512, "stdev": 64, "min": 100, "max": 900},
            Normal(512, 64, 100, 900),
            id="a mapping is normal with bounds",
        ),
        pytest.param({"uniform": [128, 1024]}, Uniform(128, 1024), id="uniform"),
        pytest.param(
            {"lognormal": {"mean": 512, "stdev": 256, "max": 4096}},
            LogNormal(512, 256, 1, 4096),
            id="lognormal by its own mean and stdev",
        ),
        pytest.param(
            [{"value": 128, "weight": 3}, {"value": 2048}],
            Empirical((128, 2048), (3.0, 1.0)),
            id="empirical, weight defaults to 1",
        ),
    ],
)
def test_every_form_parses(raw, length):
    assert parse_length(raw) == length


@pytest.mark.parametrize(
    ("raw", "path", "what", "fix"),
    [
        pytest.param(0, (), "0 tokens is out of range", "from 1 to", id="zero tokens"),
        pytest.param(True, (), "expected a token count", "write 512", id="a boolean"),
        pytest.param("lots", (), "'lots' is not a token count", "512:64", id="text"),
        pytest.param(12.5, (), "expected a token count", "whole number", id="a fraction"),
        pytest.param(MAX_TOKENS + 1, (), "out of range", "from 1 to", id="past any context"),
        pytest.param({"mean": 512}, (), "stdev is missing", "{mean: 512", id="no stdev"),
        pytest.param(
            {"mean": 512, "stddev": 5}, ("stddev",), "unknown key", "'stdev'", id="a typo"
        ),
        pytest.param(
            {"mean": 0.5, "stdev": 5}, ("mean",), "out of range", ">= 1", id="a negative mean"
        ),
        pytest.param(
            {"mean": 10, "stdev": 5, "min": 20, "max": 10},
            ("max",),
            "below min",
            "max >= min",
            id="max below min",
        ),
        pytest.param(
            {"uniform": [900, 100]}, ("uniform",), "below low", "[100, 900]", id="swapped"
        ),
        pytest.param({"uniform": 5}, ("uniform",), "expected [low, high]", "", id="no list"),
        pytest.param(
            {"uniform": [1, 2], "lognormal": {}}, (), "give one distribution", "", id="two"
        ),
        pytest.param(
            {"lognormal": 5}, ("lognormal",), "expected {mean, stdev}", "", id="bare lognormal"
        ),
        pytest.param([], (), "empty", "value: 512", id="empty empirical"),
        pytest.param(
            [{"value": 5, "weight": 0}], (0, "weight"), "out of range", "> 0", id="zero weight"
        ),
        pytest.param([7], (0,), "expected {value, weight}", "", id="a bare list item"),
    ],
)
def test_each_mistake_is_reported_at_its_path_with_a_fix(raw, path, what, fix):
    """Problems go to the checker's ``bad(path, what, fix)`` with the sub-path of the value."""
    problems = []
    assert read_length(raw, ("users", 0, "input_tokens"), lambda *p: problems.append(p)) is None
    assert problems, raw
    where, said, how = problems[0]
    assert where == ("users", 0, "input_tokens", *path)
    assert what in said
    assert fix in how


def test_every_problem_is_reported_not_only_the_first():
    """A mapping with two mistakes reports both, as the profile validator collects."""
    problems = []
    read_length({"mean": 0, "stdev": -1, "min": 0}, (), lambda *p: problems.append(p))
    assert {p[0] for p in problems} == {("mean",), ("stdev",), ("min",)}


def test_parse_length_raises_what_and_fix_split_by_a_semicolon():
    """``parse_length`` fits ``Checker.unit``: ``ValueError("what; fix")``."""
    with pytest.raises(ValueError, match=r"^uniform: high 1 is below low 9; write uniform"):
        parse_length({"uniform": [9, 1]})
    with pytest.raises(ValueError, match=r"^'x:y' is not a token count; write 512"):
        parse_length("x:y")


def test_normal_draws_have_the_mean_and_stdev_asked_for():
    """20,000 seeded draws: mean within 1 %, stdev within 3 %."""
    sample = draws(Normal(512, 64))
    assert statistics.fmean(sample) == pytest.approx(512, rel=0.01)
    assert statistics.stdev(sample) == pytest.approx(64, rel=0.03)


def test_normal_draws_are_clamped_onto_their_bounds():
    """A clamp puts the cut-off mass on the bound: about half the draws sit at min."""
    sample = draws(Normal(100, 50, min=100, max=120))
    assert min(sample) == 100
    assert max(sample) == 120
    assert sample.count(100) / DRAWS == pytest.approx(0.5, abs=0.02)


def test_lognormal_draws_have_the_distributions_own_mean_and_stdev():
    """The user's mean and stdev are the distribution's, not mu and sigma of the log."""
    sample = draws(LogNormal(512, 256))
    assert statistics.fmean(sample) == pytest.approx(512, rel=0.02)
    assert statistics.stdev(sample) == pytest.approx(256, rel=0.06)
    assert min(sample) >= 1


def test_uniform_draws_cover_both_bounds_and_nothing_outside():
    sample = draws(Uniform(10, 20))
    assert set(sample) == set(range(10, 21))
    assert statistics.fmean(sample) == pytest.approx(15, rel=0.01)


def test_empirical_draws_follow_the_weights():
    """Weights 3:1 give three quarters of the draws to the first value."""
    sample = draws(Empirical((128, 2048), (3.0, 1.0)))
    assert set(sample) == {128, 2048}
    assert sample.count(128) / DRAWS == pytest.approx(0.75, abs=0.01)


@pytest.mark.parametrize(
    "length",
    [Fixed(7), Normal(512, 64), Uniform(1, 9), LogNormal(50, 5), Empirical((1, 2), (1.0, 1.0))],
    ids=str,
)
def test_the_same_seed_gives_the_same_lengths_within_low_and_high(length):
    """Draws repeat for a seed and stay within ``low``/``high`` (what a profile compares a
    prefix with)."""
    assert draws(length, seed=5)[:100] == draws(length, seed=5)[:100]
    sample = draws(length)
    assert min(sample) >= length.low
    assert length.high is None or max(sample) <= length.high


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["mean", "stdev", "min", "max", "uniform", "lognormal", "value"]),
                inner,
                max_size=3,
            )
        ),
        max_leaves=8,
    )
)
def test_any_plain_data_gives_a_length_or_problems_never_an_exception(raw):
    """Whatever a YAML file holds: a length whose draws are whole numbers >= 1, or at least
    one problem."""
    problems = []
    length = read_length(raw, (), lambda *p: problems.append(p))
    if length is None:
        assert problems
    else:
        n = length.sample(random.Random(0))
        assert isinstance(n, int)
        assert n >= 1
        assert math.isfinite(n)


def test_a_tiny_mean_with_a_huge_stdev_is_a_problem_not_an_overflow():
    """The mean of a token count is at least 1, so lognormal's sigma never overflows."""
    problems = []
    assert (
        read_length(
            {"lognormal": {"mean": 1e-300, "stdev": 1e6}}, (), lambda *p: problems.append(p)
        )
        is None
    )
    assert draws(LogNormal(1, MAX_TOKENS))[0] >= 1


def test_an_empty_mean_or_stdev_is_named_not_ignored():
    """``output_tokens: {mean:, stdev:}`` in YAML is two nulls: each is a problem at its key
    (found by the property test above: they were dropped without a word)."""
    problems = []
    assert read_length({"mean": None, "stdev": 64}, ("x",), lambda *p: problems.append(p)) is None
    assert [(p[0], p[1]) for p in problems] == [(("x", "mean"), "mean is empty")]
