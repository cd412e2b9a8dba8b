"""Named stages ("phases") summarised on their own from the interval records (pure).

A spike test's users care about the first minute after the spike, not the run's average: a
stage with a ``name`` gets its own requests, errors, rps and merged latency percentiles.
Percentiles come from the intervals' HdrHistograms merged exactly, never averaged.

Stage boundaries rarely fall on whole seconds (``--scale``, ``--duration`` and stages like
``1.5s`` move them), so an interval cut by a boundary is shared by its overlap: a phase's
counts are the overlapping intervals' counts times the share of each inside it, and its rates
divide by its own span (as far as the run reached), never by a count of whole seconds. A
phase shorter than a second still gets the interval it overlaps most for its percentiles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadgen.core import metrics
from loadgen.core.hist import Histogram
from loadgen.core.shapes import PlanStep

__all__ = ["phase_summaries"]


def _overlaps(
    step: PlanStep, intervals: Sequence[Mapping[str, Any]]
) -> list[tuple[Mapping[str, Any], float, float]]:
    """(record, seconds inside the phase, share of the record inside) for each overlap."""
    out = []
    for r in intervals:
        t, length = float(r["t"]), float(r["length"])
        inside = min(step.until, t + length) - max(step.at, t)
        if inside > 1e-9 and length > 0:
            out.append((r, inside, inside / length))
    return out


def _latencies(parts: Sequence[tuple[Mapping[str, Any], float, float]]) -> dict[str, Any]:
    """The registry's ``phases`` metrics (ttft, e2e) merged over the intervals mostly inside
    (or the one most inside)."""
    mostly = [r for r, _, share in parts if share >= 0.5]
    if not mostly and parts:
        mostly = [max(parts, key=lambda p: p[1])[0]]
    out: dict[str, Any] = {}
    for metric in (m.name for m in metrics.phased()):
        merged = Histogram()
        for r in mostly:
            encoded = (r.get(metric) or {}).get("hdr")
            if encoded:
                merged.merge(Histogram.decode(encoded))
        out[metric] = dict(merged.summary().items()) if merged.count else {"count": 0}
    return out


def phase_summaries(
    plan: Sequence[PlanStep], intervals: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for step in plan:
        if not step.name:
            continue
        parts = _overlaps(step, intervals)
        seconds = sum(inside for _, inside, _ in parts)
        requests = sum(int(r["requests"]) * share for r, _, share in parts)
        errors = sum(int(r["errors"]) * share for r, _, share in parts)
        out.append(
            {
                "name": step.name,
                "start": step.at,
                "end": step.until,
                "seconds": round(seconds, 3),
                "level_from": step.start,
                "level_to": step.end,
                "requests": round(requests),
                "errors": round(errors),
                "error_rate": errors / requests if requests else 0.0,
                "rps": requests / seconds if seconds else 0.0,
                **_latencies(parts),
            }
        )
    return out
