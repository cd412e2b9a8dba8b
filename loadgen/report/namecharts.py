"""Each request name's series on the interactive charts: requests/s, errors/s, TTFT and E2E.

An interval record's ``by_name`` (``loadgen.core.scopeseries``) becomes keys of the chart
point: ``n.rps|NAME``, ``n.err|NAME``, ``n.ttft.p95|NAME`` … (the name after the first
``|``: it may hold anything). At most ``MAX_NAMES`` names are drawn, the busiest of the run
(the report) or the first seen (the live page); the rest are added up as ``OTHER`` for
requests and errors (percentiles cannot be added up: ``OTHER`` has none). The charts'
series are the columns found under each chart's ``prefix`` (templates/lgcharts.js).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from loadgen.core.hist import Histogram

__all__ = [
    "MAX_NAMES",
    "NAME_CHARTS",
    "OTHER",
    "PREFIX",
    "extra_point",
    "name_point",
    "num",
    "top_names",
]

MAX_NAMES = 8
OTHER = "(other names)"
PREFIX = "n."
_PCTS = ("p50", "p95", "p99")
_METRICS = ("ttft", "e2e")

NAME_CHARTS: list[dict[str, Any]] = [
    {"id": "name_rps", "title": "Requests per second by name", "unit": "req/s", "prefix": "n.rps|"},
    {"id": "name_err", "title": "Errors per second by name", "unit": "1/s", "prefix": "n.err|"},
    {"id": "name_ttft", "title": "TTFT by name (p95 shown)", "unit": "ms", "prefix": "n.ttft."},
    {"id": "name_e2e", "title": "E2E by name (p95 shown)", "unit": "ms", "prefix": "n.e2e."},
]
for _chart in NAME_CHARTS:
    _chart["series"] = []  # found in the columns under the prefix


def top_names(intervals: Iterable[Mapping[str, Any]], limit: int = MAX_NAMES) -> list[str]:
    """The names with the most requests over the intervals (ties: by name), at most ``limit``."""
    counts: dict[str, int] = {}
    for record in intervals:
        for name, entry in (record.get("by_name") or {}).items():
            counts[name] = counts.get(name, 0) + int(entry.get("requests", 0))
    return sorted(counts, key=lambda n: (-counts[n], n))[:limit]


def name_point(record: Mapping[str, Any], names: Sequence[str]) -> dict[str, float | None]:
    """One interval's per-name values (rates per second; each interval's own percentiles)
    for ``names``; the other names' requests and errors as ``other``."""
    by_name = record.get("by_name") or {}
    if not by_name:
        return {}
    length = float(record.get("length") or 0.0)
    per_s = 1.0 / length if length > 0 else 0.0
    out: dict[str, float | None] = {}
    rest = [e for n, e in by_name.items() if n not in names]
    for name in names:
        entry = by_name.get(name)
        if entry is None:
            continue
        out[f"n.rps|{name}"] = num(int(entry["requests"]) * per_s)
        out[f"n.err|{name}"] = num(int(entry["errors"]) * per_s)
        for m in _METRICS:
            brief = entry.get(m) or {}
            for p in _PCTS:
                out[f"n.{m}.{p}|{name}"] = num(brief.get(p)) if brief.get("count") else None
    if rest:
        out[f"n.rps|{OTHER}"] = num(sum(int(e["requests"]) for e in rest) * per_s)
        out[f"n.err|{OTHER}"] = num(sum(int(e["errors"]) for e in rest) * per_s)
    return out


def extra_point(record: Mapping[str, Any], keys: Iterable[str]) -> dict[str, float | None]:
    """The percentiles a limit line needs that the record's summaries lack (``ttft.p90``,
    ``n.ttft.p99.9|NAME``), from the interval's histograms."""
    out: dict[str, float | None] = {}
    for key in keys:
        scoped = key.startswith(PREFIX)
        series, _, name = key.removeprefix(PREFIX).partition("|")
        metric, _, stat = series.partition(".")
        brief = ((record.get("by_name") or {}).get(name) or {}) if scoped else record
        brief = brief.get(metric) or {}
        if not brief.get("count"):
            out[key] = None
        elif stat in brief:
            out[key] = num(brief[stat])
        elif "hdr" in brief:
            pct = float(stat[1:])
            out[key] = num(Histogram.decode(brief["hdr"]).percentiles_ms((pct,))[pct])
        else:
            out[key] = None
    return out


def num(value: Any) -> float | None:
    """A JSON number with four significant digits (None for missing or not finite); a whole
    number as an int (``12``, not ``12.0``: a one-hour report holds ~100,000 of them)."""
    if value is None or isinstance(value, bool):
        return None
    x = float(value)
    if not math.isfinite(x):
        return None
    x = float(f"{x:.4g}")
    return int(x) if x.is_integer() else x
