"""Breakpoint search: step the load up until the SLOs break, then say where and why (pure).

``Search`` decides the next level from the verdicts so far: a stepped ramp from ``start`` by
``step`` to ``max``, stopping after ``consecutive`` broken steps, then optionally bisecting
between the last good and the first broken level. ``judge`` reads one step's steady window
(its interval records after the warm-up) and returns the step's numbers and verdict.
``summary`` is the result's ``breakpoint`` record: highest level that met every SLO, the first
that broke and by what, and the knee of the ttft curve.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from loadgen.hist import Histogram
from loadgen.slo import Slo

__all__ = ["BreakpointSpec", "Search", "judge", "knee", "summary"]


@dataclass(frozen=True, kw_only=True, slots=True)
class BreakpointSpec:
    start: float
    step: float
    step_duration: float
    max: float
    warmup: float = 0.0
    consecutive: int = 1
    refine: int = 0  # bisection steps between last good and first broken
    require_at_least: float | None = None
    integer: bool = True  # users are whole; rates need not be


@dataclass
class Search:
    spec: BreakpointSpec
    steps: list[dict[str, Any]] = field(default_factory=list)
    _next: float | None = None
    _broken_run: int = 0
    _refining: int = 0
    _done: bool = False

    def next_level(self) -> float | None:
        """The level of the next step, or None when the search is over."""
        if self._done:
            return None
        if not self.steps:
            return self.spec.start
        return self._next

    def record(self, level: float, step: dict[str, Any]) -> None:
        """Take a judged step and decide what comes next."""
        self.steps.append({**step, "level": level})
        spec = self.spec
        limited = step["verdict"] == "generator-limited"
        broken = step["verdict"] == "broken"
        if self._refining:
            self._refining -= 1
            self._next = self._bisect()
            if self._refining == 0 or self._next is None:
                self._done = True
            return
        if limited:
            self._done = True  # the generator, not the target, is the limit: say so, stop
            return
        self._broken_run = self._broken_run + 1 if broken else 0
        if self._broken_run >= spec.consecutive:
            if spec.refine > 0 and (mid := self._bisect()) is not None:
                self._refining = spec.refine
                self._next = mid
            else:
                self._done = True
            return
        upcoming = level + spec.step
        if upcoming > spec.max + 1e-9:
            self._done = True
            return
        self._next = upcoming

    def _bisect(self) -> float | None:
        good = [s["level"] for s in self.steps if s["verdict"] == "ok"]
        bad = [s["level"] for s in self.steps if s["verdict"] == "broken"]
        if not bad:
            return None
        low: float | None = max((g for g in good if g < min(bad)), default=None)
        if low is None:
            return None
        high = float(min(b for b in bad if b > low))
        mid = (low + high) / 2
        if self.spec.integer:
            mid = float(round(mid))
        if mid in (low, high) or any(abs(mid - s["level"]) < 1e-9 for s in self.steps):
            return None
        return mid


def _merged(intervals: Sequence[dict[str, Any]], metric: str) -> Histogram:
    h = Histogram()
    for r in intervals:
        encoded = r.get(metric, {}).get("hdr")
        if encoded:
            h.merge(Histogram.decode(encoded))
    return h


def judge(intervals: Sequence[dict[str, Any]], slo: Slo, *, limited: list[str]) -> dict[str, Any]:
    """One step's steady window → its numbers and verdict (ok, broken, generator-limited)."""
    seconds = sum(float(r["length"]) for r in intervals)
    requests = sum(int(r["requests"]) for r in intervals)
    errors = sum(int(r["errors"]) for r in intervals)
    good = sum(int(r.get("good", 0)) for r in intervals)
    ttft, e2e, itl = (_merged(intervals, m) for m in ("ttft", "e2e", "itl"))
    tp = ttft.percentiles_ms((50.0, 95.0, 99.0)) if ttft.count else {}
    ep = e2e.percentiles_ms((95.0, 99.0)) if e2e.count else {}
    ip = itl.percentiles_ms((99.0,)) if itl.count else {}
    values: dict[str, float | None] = {
        "ttft_p95": tp.get(95.0),
        "ttft_p99": tp.get(99.0),
        "e2e_p95": ep.get(95.0),
        "e2e_p99": ep.get(99.0),
        "itl_p99": ip.get(99.0),
        "error_rate": errors / requests if requests else None,
        "goodput_ratio": good / requests if requests else None,
    }
    broken_by = slo.judge(values)
    verdict = "generator-limited" if limited else ("broken" if broken_by else "ok")
    return {
        "rps": requests / seconds if seconds else 0.0,
        "goodput": good / seconds if seconds else 0.0,
        "requests": requests,
        "ttft": {"p50": tp.get(50.0), "p95": tp.get(95.0), "p99": tp.get(99.0)},
        "e2e_p95": ep.get(95.0),
        "itl_p99": ip.get(99.0),
        "error_rate": values["error_rate"] or 0.0,
        "goodput_ratio": values["goodput_ratio"],
        "verdict": verdict,
        "broken_by": broken_by,
        "limited_by": limited,
    }


def knee(steps: Sequence[dict[str, Any]]) -> float | None:
    """The first level where ttft p95 rises faster than the load (relative changes).

    Between consecutive levels L₁ < L₂ with ttft p95 T₁, T₂: the knee is L₂ when
    (T₂ − T₁) / T₁ > (L₂ − L₁) / L₁ — past it, each bit of load costs more latency than
    it adds throughput."""
    ordered = sorted((s for s in steps if s["ttft"].get("p95")), key=lambda s: s["level"])
    for a, b in itertools.pairwise(ordered):
        la, lb, ta, tb = a["level"], b["level"], a["ttft"]["p95"], b["ttft"]["p95"]
        if la > 0 and ta > 0 and (tb - ta) / ta > (lb - la) / la:
            return float(b["level"])
    return None


def summary(search: Search, unit: str) -> dict[str, Any]:
    """The result's ``breakpoint`` record."""
    steps = search.steps
    ok_levels = [s["level"] for s in steps if s["verdict"] == "ok"]
    broken = sorted((s for s in steps if s["verdict"] == "broken"), key=lambda s: s["level"])
    highest_ok = max(ok_levels, default=None)
    first_broken = next(
        (s for s in broken if highest_ok is None or s["level"] > highest_ok),
        broken[0] if broken else None,
    )
    require = search.spec.require_at_least
    limited = [s["level"] for s in steps if s["verdict"] == "generator-limited"]
    return {
        "unit": unit,
        "steps": steps,
        "highest_ok": highest_ok,
        "first_broken": first_broken["level"] if first_broken else None,
        "broken_by": first_broken["broken_by"] if first_broken else [],
        "knee": knee(steps),
        "generator_limited_at": limited[0] if limited else None,
        "require_at_least": require,
        "ok": require is None or (highest_ok is not None and highest_ok >= require),
        "warmup": search.spec.warmup,
        "step_duration": search.spec.step_duration,
    }
