"""Named stages ("phases") summarised on their own from the interval records (pure).

A spike test's users care about the first minute after the spike, not the run's average: a
stage with a ``name`` gets its own requests, errors, rps and merged latency percentiles.
Percentiles come from the intervals' HdrHistograms merged exactly, never averaged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loadgen.hist import Histogram
from loadgen.shapes import PlanStep

__all__ = ["phase_summaries"]


def phase_summaries(
    plan: Sequence[PlanStep], intervals: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for step in plan:
        if not step.name:
            continue
        inside = [
            r
            for r in intervals
            if step.at - 1e-6 <= float(r["t"])
            and float(r["t"]) + float(r["length"]) <= step.until + 0.5
        ]
        requests = sum(int(r["requests"]) for r in inside)
        errors = sum(int(r["errors"]) for r in inside)
        seconds = sum(float(r["length"]) for r in inside)
        entry: dict[str, Any] = {
            "name": step.name,
            "start": step.at,
            "end": step.until,
            "level_from": step.start,
            "level_to": step.end,
            "requests": requests,
            "errors": errors,
            "error_rate": errors / requests if requests else 0.0,
            "rps": requests / seconds if seconds else 0.0,
        }
        for metric in ("ttft", "e2e"):
            merged = Histogram()
            for r in inside:
                encoded = r.get(metric, {}).get("hdr")
                if encoded:
                    merged.merge(Histogram.decode(encoded))
            entry[metric] = dict(merged.summary().items()) if merged.count else {"count": 0}
        out.append(entry)
    return out
