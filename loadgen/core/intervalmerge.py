"""Merge the interval records of a test's parts, matched on wall-clock seconds (pure).

Interval summaries that carry their histogram (ttft, e2e, itl; each request name's and
class's ttft and e2e) merge exactly. Those kept without one (ttfb and the generator's own
``schedule_lag``/``loop_lag``) get an exact ``count`` and ``mean``, and as percentiles and
``max`` the largest of the parts' (an upper bound, marked ``"bound": "max_of_parts"``),
which is what the health check needs: whether *any* generator fell behind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from loadgen.core import metrics
from loadgen.core.hist import Histogram
from loadgen.core.scopeseries import merge_scoped
from loadgen.core.serverseries import merge_windows

__all__ = ["merge_interval", "merge_intervals", "part_starts", "sum_counters"]

_SUMMED = (
    "users",
    "finishing",
    "requests",
    "ok",
    "errors",
    "interrupted",
    "cancelled",
    "dropped",
    "sent",
    "rate_limited",
    "good",
)


def merge_intervals(
    parts: Sequence[Mapping[str, Any]], *, offsets: Sequence[float] | None = None
) -> list[dict[str, Any]]:
    """The parts' interval records matched on wall-clock seconds and added up.

    Part i's interval at ``t`` covers wall-clock second ``started_i - offsets[i] + t``;
    merged records are keyed by that second relative to the earliest start. Parts started
    together (``--start-at``) fall on the same seconds exactly; parts started apart are
    matched to the nearest second.
    """
    offs = list(offsets) if offsets is not None else [0.0] * len(parts)
    starts = part_starts(parts, offs)
    base = min(starts, default=0.0)
    buckets: dict[int, list[Mapping[str, Any]]] = {}
    for part, start in zip(parts, starts, strict=True):
        for record in part.get("intervals", []):
            key = round(start + float(record["t"]) - base)
            buckets.setdefault(key, []).append(record)
    return [merge_interval(float(k), buckets[k]) for k in sorted(buckets)]


def merge_interval(t: float, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One merged interval record (the shape ``Recorder.close_interval`` writes)."""
    length = max(float(r.get("length", 1.0)) for r in records)
    out: dict[str, Any] = {"t": t, "length": length, "parts": len(records)}
    out |= _interval_counts(records, length)
    for metric in (m.name for m in metrics.per_second()):
        briefs = [r.get(metric, {}) for r in records]
        exact = all("hdr" in b for b in briefs if b.get("count"))
        out[metric] = _exact_brief(briefs) if exact else _bound_brief(briefs)
    out |= merge_scoped(records)  # each request name's and class's, when recorded
    _add_generator_fields(out, records)
    servers = [r["server"] for r in records if r.get("server")]
    if servers:
        out["server"] = merge_windows(servers)
    return out


def _interval_counts(records: Sequence[Mapping[str, Any]], length: float) -> dict[str, Any]:
    """The interval's counts, summed over the parts, and the rates they make over ``length``."""
    out: dict[str, Any] = {key: sum(int(r.get(key, 0)) for r in records) for key in _SUMMED}
    out["errors_by_kind"] = dict(sum_counters(r.get("errors_by_kind", {}) for r in records))
    out["counters"] = dict(sum_counters(r.get("counters", {}) for r in records))
    out["output_tokens"] = sum(int(r.get("output_tokens", 0)) for r in records)
    out["rps"] = out["requests"] / length if length > 0 else 0.0
    out["output_tps"] = out["output_tokens"] / length if length > 0 else 0.0
    if any("input_tokens" in r for r in records):  # a result older than input tokens has none
        out["input_tokens"] = sum(int(r.get("input_tokens", 0)) for r in records)
        out["input_tps"] = out["input_tokens"] / length if length > 0 else 0.0
    return out


def _add_generator_fields(out: dict[str, Any], records: Sequence[Mapping[str, Any]]) -> None:
    """The generators' CPU and the planned level, where the parts recorded them."""
    cpus = [float(r["cpu"]) for r in records if r.get("cpu") is not None]
    if cpus:
        out["cpu"] = max(cpus)  # the busiest generator: health judges each process
        out["cpu_total"] = round(sum(cpus), 4)
    planned = [r["planned"] for r in records if r.get("planned")]
    if planned:
        out["planned"] = planned[0]  # every segment records the whole test's planned level


def part_starts(parts: Sequence[Mapping[str, Any]], offsets: Sequence[float]) -> list[float]:
    """Each part's start on the driver's clock: its own ``started`` less its clock's offset."""
    return [float(p["started"]) - o for p, o in zip(parts, offsets, strict=True)]


def _exact_brief(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    total = Histogram()
    for item in items:
        if item.get("count"):
            total.merge(Histogram.decode(item["hdr"]))
    if not total.count:
        return {"count": 0}
    p = total.percentiles_ms((50.0, 95.0, 99.0))
    return {
        "count": total.count,
        "p50": p[50.0],
        "p95": p[95.0],
        "p99": p[99.0],
        "max": total.max_ms,
        "mean": total.mean_ms,
        "hdr": total.encode(),
    }


def _bound_brief(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    present = [i for i in items if i.get("count")]
    count = sum(int(i["count"]) for i in present)
    if not count:
        return {"count": 0}
    out: dict[str, Any] = {"count": count}
    for key in ("p50", "p95", "p99", "max"):
        out[key] = max(float(i[key]) for i in present)
    out["mean"] = sum(float(i["mean"]) * int(i["count"]) for i in present) / count
    out["bound"] = "max_of_parts"
    return out


def sum_counters(items: Any) -> Counter[str]:
    total: Counter[str] = Counter()
    for item in items:
        total.update({str(k): int(v) for k, v in item.items()})
    return total
