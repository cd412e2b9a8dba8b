"""A window of scrapes → the server's numbers for that window (pure).

For each replica the window runs from a base scrape (the last one before it, or its own
first) to its last scrape: counters become the increase and the rate over that span (a
counter that went down restarted: its new value is the increase, as Prometheus's
``rate()`` takes it), gauges the last, mean and max of the scrapes in the window, server
histograms percentiles of the bucket increase, interpolated linearly inside a bucket as
``histogram_quantile`` does. Replicas are then combined: increases and rates added,
histogram buckets added, gauges added or averaged as the series says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadgen.core.promtext import Snapshot
from loadgen.core.serverpresets import Series

__all__ = [
    "Replica",
    "combine",
    "merge_sections",
    "merge_windows",
    "quantile",
    "replica_window",
    "resolve",
]

_QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99))
_TO_MS = {"s": 1000.0, "ms": 1.0, "us": 0.001}

Replica = dict[str, Any]  # one replica's part of a window, before combining


def _counter(snap: Snapshot, name: str, labels: Mapping[str, str]) -> float | None:
    value = snap.value(name, labels)
    return snap.value(f"{name}_total", labels) if value is None else value


def _increase(first: float | None, last: float | None) -> float | None:
    if first is None or last is None:
        return None
    return last - first if last >= first else last


def resolve(series: Sequence[Series], snap: Snapshot) -> list[Series]:
    """The series a page has: per key, the first entry whose metric it exposes."""
    chosen: dict[str, Series] = {}
    for s in series:
        if s.key in chosen:
            continue
        labels = dict(s.labels)
        if s.kind == "histogram":
            present = bool(snap.buckets(s.metric, labels))
        elif s.kind == "gauge":
            present = snap.value(s.metric, labels) is not None
        else:
            present = _counter(snap, s.metric, labels) is not None
        if present:
            chosen[s.key] = s
    return list(chosen.values())


def replica_window(
    series: Sequence[Series], base: Snapshot, scrapes: Sequence[Snapshot]
) -> Replica:
    """One replica: ``base`` is the scrape the window starts from, ``scrapes`` those in it."""
    last = scrapes[-1]
    out: Replica = {"seconds": max(0.0, last.t - base.t), "gauges": {}, "counts": {}, "hists": {}}
    ratios: dict[str, tuple[float, float, float]] = {}
    for s in series:
        labels = dict(s.labels)
        if s.kind == "gauge":
            values = [
                v for v in (snap.value(s.metric, labels) for snap in scrapes) if v is not None
            ]
            if values:
                out["gauges"][s.key] = (values[-1], sum(values) / len(values), max(values))
        elif s.kind == "counter":
            inc = _increase(_counter(base, s.metric, labels), _counter(last, s.metric, labels))
            if inc is not None:
                out["counts"][s.key] = inc
        elif s.kind == "ratio":
            num = _increase(_counter(base, s.metric, labels), _counter(last, s.metric, labels))
            den = _increase(_counter(base, s.per, labels), _counter(last, s.per, labels))
            if num is not None and den is not None:
                ratios[s.key] = (num, den, s.scale)
        else:
            out["hists"][s.key] = _bucket_increase(base, last, s, labels)
    out["ratios"] = ratios
    return out


def _bucket_increase(
    base: Snapshot, last: Snapshot, s: Series, labels: Mapping[str, str]
) -> tuple[dict[float, float], float]:
    """The cumulative bucket counts added in the window (in ms), and the sum added."""
    before, after = base.buckets(s.metric, labels), last.buckets(s.metric, labels)
    restarted = any(after.get(le, 0.0) < v for le, v in before.items())
    scale = _TO_MS.get(s.unit, 1.0)
    counts = {le * scale: (v if restarted else v - before.get(le, 0.0)) for le, v in after.items()}
    total = _increase(base.value(f"{s.metric}_sum", labels), last.value(f"{s.metric}_sum", labels))
    return counts, (total or 0.0) * scale


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """``histogram_quantile(q)`` over cumulative ``buckets``: linear inside the bucket; the
    highest finite bound when the rank falls in ``+Inf``. None without observations."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for le in bounds:
        count = buckets[le]
        if count >= rank:
            if le == float("inf"):
                return lower
            if count == below:
                return le
            return lower + (le - lower) * (rank - below) / (count - below)
        lower, below = le, count
    return lower


def combine(parts: Sequence[Replica], series: Sequence[Series]) -> dict[str, Any]:
    """The replicas' windows as one: what an interval record's ``server`` holds."""
    across = {s.key: s.across for s in series}
    gauges: dict[str, dict[str, float]] = {}
    counts: dict[str, float] = {}
    rates: dict[str, float] = {}
    ratio_sums: dict[str, list[float]] = {}
    hists: dict[str, tuple[dict[float, float], float]] = {}
    for part in parts:
        for key, (last, mean, top) in part["gauges"].items():
            g = gauges.setdefault(key, {"last": 0.0, "mean": 0.0, "max": 0.0, "n": 0.0})
            g["last"] += last
            g["mean"] += mean
            g["max"] = g["max"] + top if across.get(key) == "sum" else max(g["max"], top)
            g["n"] += 1
        for key, inc in part["counts"].items():
            counts[key] = counts.get(key, 0.0) + inc
            if part["seconds"] > 0:
                rates[key] = rates.get(key, 0.0) + inc / part["seconds"]
        for key, (num, den, scale) in part["ratios"].items():
            acc = ratio_sums.setdefault(key, [0.0, 0.0, scale])
            acc[0] += num
            acc[1] += den
        for key, (buckets, total) in part["hists"].items():
            have, have_sum = hists.get(key, ({}, 0.0))
            merged = dict(have)
            for le, v in buckets.items():
                merged[le] = merged.get(le, 0.0) + v
            hists[key] = (merged, have_sum + total)
    return {
        "seconds": round(max((p["seconds"] for p in parts), default=0.0), 3),
        "gauges": {k: _gauge(g, across.get(k, "sum")) for k, g in gauges.items()},
        "counts": {k: round(v, 6) for k, v in counts.items()},
        "rates": {k: round(v, 6) for k, v in rates.items()},
        "ratios": {k: round(n / d * sc, 6) for k, (n, d, sc) in ratio_sums.items() if d > 0},
        "histograms": {k: _hist(b, total) for k, (b, total) in hists.items()},
    }


def _gauge(g: dict[str, float], across: str) -> dict[str, float]:
    n = g["n"] if across == "mean" else 1.0
    return {"last": round(g["last"] / n, 6), "mean": round(g["mean"] / n, 6), "max": g["max"]}


def _hist(buckets: Mapping[float, float], total: float) -> dict[str, float]:
    count = max(buckets.values(), default=0.0)
    out: dict[str, float] = {"count": count}
    if count > 0:
        out["mean"] = round(total / count, 3)
        for name, q in _QUANTILES:
            value = quantile(q, buckets)
            if value is not None:
                out[name] = round(value, 3)
    return out


def merge_windows(windows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One second of a split test (``merge``, ``--processes``, ``--ray``): only part 1
    scrapes, so there is one window; results of runs where several parts scraped the same
    server keep one view (the part's with the most scrapes, not a sum that would count the
    server N times). The failures of all parts are added."""
    best = max(windows, key=lambda w: int(w.get("scrapes", 0)))
    failures = sum(int(w.get("failures", 0)) for w in windows)
    return {**best, "failures": failures, "parts": len(windows)}


def merge_sections(sections: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The parts' ``server`` sections as one: scrapes and failures added, the whole-run
    numbers of the part that scraped most (the same server, seen by each part)."""
    if not sections:
        return None
    best = max(sections, key=lambda s: int(s.get("scrapes", 0)))
    errors = [e for s in sections for e in s.get("errors") or []]
    return {
        **best,
        "urls": sorted({u for s in sections for u in s.get("urls") or []}),
        "scrapes": sum(int(s.get("scrapes", 0)) for s in sections),
        "failures": sum(int(s.get("failures", 0)) for s in sections),
        "errors": list(dict.fromkeys(errors))[-5:],
    }
