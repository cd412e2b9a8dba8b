"""Turn the per-second interval records into the time series the charts draw.

A one-hour run has 3,600 intervals; drawing every one makes a large page and a line no one
can read. Consecutive intervals are merged into at most ``max_points`` buckets: counts are
summed, rates are recomputed from the sums, and latency percentiles come from the *merged*
HdrHistograms of the bucket (SPEC §1: percentiles are never averaged). The final partial
interval, often a few milliseconds long, joins the bucket before it (``loadgen.core.windows``):
3 requests in 5 ms are not a spike to 600 req/s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from loadgen.core import metrics
from loadgen.core.hist import Histogram
from loadgen.core.windows import windows

__all__ = ["MAX_POINTS", "TimeSeries", "time_series"]

MAX_POINTS = 600


@dataclass(frozen=True)
class TimeSeries:
    """Bucket mid-times (s since start) and one list of values per key (None: no data)."""

    t: list[float]
    step: float
    values: dict[str, list[float | None]] = field(default_factory=dict)

    def points(self, key: str) -> list[tuple[float, float | None]]:
        return list(zip(self.t, self.values[key], strict=True))


def _percentiles(
    bucket: Sequence[dict[str, Any]], metric: str, ps: Sequence[float]
) -> list[float | None]:
    briefs = [iv.get(metric) or {} for iv in bucket]
    briefs = [b for b in briefs if b.get("count")]
    if not briefs:
        return [None] * len(ps)
    if len(briefs) == 1:
        b = briefs[0]
        if all(f"p{p:g}" in b for p in ps):
            return [float(b[f"p{p:g}"]) for p in ps]
    merged = Histogram()
    for b in briefs:
        if "hdr" in b:
            merged.merge(Histogram.decode(b["hdr"]))
    if not merged.count:  # no histograms stored: the worst interval's value, an upper bound
        return [max(float(b.get(f"p{p:g}", 0.0)) for b in briefs) for p in ps]
    got = merged.percentiles_ms(ps)
    return [got[p] for p in ps]


def time_series(
    intervals: Sequence[dict[str, Any]],
    max_points: int = MAX_POINTS,
    plan_end: float | None = None,
) -> TimeSeries:
    """Series keyed ``users``, ``planned``, ``rps``, ``sent``, ``errors``, ``dropped``,
    ``output_tps``, ``input_tps``, then ``METRIC_pNN`` for each percentile the registry charts
    (``ttft_p50``/``p95``/``p99`` and ``e2e_p50``/``p95``/``p99``) (rates per second).

    ``users`` counts the users still finishing a request after being told to stop, so a
    graceful stop does not read as "users dropped to 0" while answers still complete;
    ``planned`` ends at ``plan_end`` (the plan asks nothing after it); ``sent`` is the open
    model's arrivals sent per second (None for results that did not record them).
    """
    k = max(1, math.ceil(len(intervals) / max(1, max_points)))
    charted = [(m.name, m.chart) for m in metrics.charted()]
    keys = ["users", "planned", "rps", "sent", "errors", "dropped", "output_tps", "input_tps"]
    keys += [f"{m}_p{p:g}" for m, ps in charted for p in ps]
    values: dict[str, list[float | None]] = {key: [] for key in keys}
    t: list[float] = []
    lengths = []
    for bucket in windows(intervals, per=k):
        length = sum(float(iv.get("length") or 0.0) for iv in bucket)
        lengths.append(length)
        t.append(float(bucket[0].get("t", 0.0)) + length / 2)
        row = _counts(bucket, length, plan_end)
        for metric, ps in charted:
            for p, value in zip(ps, _percentiles(bucket, metric, ps), strict=True):
                row[f"{metric}_p{p:g}"] = value
        for key in keys:
            values[key].append(row[key])
    step = sum(lengths) / len(lengths) if lengths else 0.0
    return TimeSeries(t=t, step=step, values=values)


def _counts(
    bucket: Sequence[dict[str, Any]], length: float, plan_end: float | None
) -> dict[str, float | None]:
    """One bucket's users and planned level (averages) and its rates per second."""
    per_s = 1.0 / length if length > 0 else 0.0
    active = [float(iv.get("users", 0)) + float(iv.get("finishing", 0)) for iv in bucket]
    planned = [
        next(iter(iv["planned"].values()))
        for iv in bucket
        if iv.get("planned") and (plan_end is None or float(iv["t"]) < plan_end - 1e-6)
    ]
    sent = [int(iv["sent"]) for iv in bucket if "sent" in iv]
    return {
        "users": sum(active) / len(bucket),
        "planned": sum(planned) / len(planned) if planned else None,
        "rps": sum(int(iv.get("requests", 0)) for iv in bucket) * per_s,
        "sent": sum(sent) * per_s if sent else None,
        "errors": sum(int(iv.get("errors", 0)) for iv in bucket) * per_s,
        "dropped": sum(int(iv.get("dropped", 0)) for iv in bucket) * per_s,
        "output_tps": sum(int(iv.get("output_tokens", 0)) for iv in bucket) * per_s,
        "input_tps": sum(int(iv.get("input_tokens", 0)) for iv in bucket) * per_s,
    }
