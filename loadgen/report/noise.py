"""How far a percentile could move by chance alone, read from the result's own histogram.

Two runs of one profile against one target never give the same p99: with n samples, the
p-th percentile is itself a random order statistic. Without assuming any distribution, the
ranks ``n·q ± z·sqrt(n·q·(1−q))`` (q = p/100) bound the true percentile with confidence
``c`` (z is the normal quantile of ``(1 + c) / 2``); the histogram gives the values at those
ranks. ``compare`` calls a change a regression only when the new interval lies wholly above
the base one (docs/reports.md).

Samples of one answer are not independent: inter-token gaps of a slow answer are slow
together. For a metric with several samples per answer the width comes from the number of
answers (``clusters``), the most cautious effective sample size, and is then read from the
pooled histogram at those fractions.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from loadgen.core.hist import Histogram

__all__ = ["Interval", "interval", "z_score"]

Interval = tuple[float, float]


def z_score(confidence: float) -> float:
    """The two-sided normal quantile for ``confidence`` in (0, 1), e.g. 1.96 for 0.95."""
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1, exclusive")
    return NormalDist().inv_cdf((1.0 + confidence) / 2.0)


def rank_bounds(n: int, q: float, z: float, clusters: int | None = None) -> tuple[int, int]:
    """The 1-based ranks of the order statistics that bound the ``q`` quantile of ``n`` values.

    The width is that of ``clusters`` independent samples (default ``n``), scaled to ``n``;
    the upper rank gets one more for the discreteness of ranks.
    """
    m = n if clusters is None else max(1, min(clusters, n))
    half = z * math.sqrt(q * (1.0 - q) / m) * n
    low = max(1, math.floor(n * q - half))
    high = min(n, math.ceil(n * q + half) + 1)
    return low, high


def interval(hdr: str, p: float, z: float, clusters: int | None = None) -> Interval | None:
    """The confidence interval (ms) of the ``p``-th percentile (0..100) of an encoded latency
    histogram; None when it is empty or not a histogram."""
    try:
        h = Histogram.decode(hdr)
    except ValueError:
        return None
    n = h.count
    if not n:
        return None
    low, high = rank_bounds(n, p / 100.0, z, clusters)
    # percentiles_ms reads the value at rank round(p·n/100): ask for the ranks exactly.
    values = h.percentiles_ms([100.0 * low / n, 100.0 * high / n])
    return values[100.0 * low / n], values[100.0 * high / n]
