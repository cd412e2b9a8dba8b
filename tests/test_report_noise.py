"""Confidence intervals of percentiles from a histogram's own counts (loadgen/report/noise.py)."""

from __future__ import annotations

import pytest

from loadgen.core.hist import Histogram
from loadgen.report.noise import interval, rank_bounds, z_score


def hdr(values_ms: list[float]) -> str:
    h = Histogram()
    for v in values_ms:
        h.record_us(round(v * 1000))
    return h.encode()


@pytest.mark.parametrize(
    ("n", "q", "clusters", "bounds"),
    [
        pytest.param(100, 0.5, None, (40, 61), id="the median of 100 lies between ranks 40 and 61"),
        pytest.param(44, 0.99, None, (42, 44), id="the p99 of 44 samples may be the maximum"),
        pytest.param(
            10_000, 0.99, None, (9880, 9921), id="the p99 of 10000 samples is pinned to 0.4 percent"
        ),
        pytest.param(
            1000, 0.99, 50, (962, 1000), id="1000 gaps from 50 answers are as wide as 50 samples"
        ),
        pytest.param(1, 0.5, None, (1, 1), id="one sample bounds itself"),
    ],
)
def test_rank_bounds(n, q, clusters, bounds):
    """The order statistics n·q ± z·sqrt(n·q·(1−q)), widened to the number of clusters."""
    assert rank_bounds(n, q, z_score(0.95), clusters) == bounds


def test_interval_reads_the_values_at_the_bounding_ranks():
    """1..100 ms once each: the median's 95 % interval is the 40th and 61st value."""
    low, high = interval(hdr([float(v) for v in range(1, 101)]), 50.0, z_score(0.95))
    assert low == pytest.approx(40.0, rel=1e-3)
    assert high == pytest.approx(61.0, rel=1e-3)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(hdr([]), id="an empty histogram"),
        pytest.param("nonsense", id="not a histogram"),
    ],
)
def test_no_interval_without_samples(data):
    """Nothing to bound: the caller judges by its floors alone."""
    assert interval(data, 99.0, 1.96) is None


@pytest.mark.parametrize(
    ("confidence", "z"),
    [
        pytest.param(0.95, 1.95996, id="95 percent is 1.96 standard errors"),
        pytest.param(0.99, 2.57583, id="99 percent is 2.58 standard errors"),
    ],
)
def test_z_score(confidence, z):
    """The two-sided normal quantile."""
    assert z_score(confidence) == pytest.approx(z, abs=1e-4)


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5], ids=["zero", "one", "negative"])
def test_z_score_rejects_levels_outside_0_and_1(confidence):
    """A level of 0 or 100 % has no interval."""
    with pytest.raises(ValueError, match="between 0 and 1"):
        z_score(confidence)
