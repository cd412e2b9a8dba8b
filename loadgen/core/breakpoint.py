"""Breakpoint search: step the load up until the SLOs break, then say where and why (pure).

``Search`` decides the next level from the verdicts so far: a stepped ramp from ``start`` by
``step`` to ``max``, stopping after ``consecutive`` broken steps, then optionally bisecting
between the last good and the first broken level. ``judge`` reads one step's steady window
(its interval records after the warm-up) and returns the step's numbers and verdict.
``summary`` is the result's ``breakpoint`` record: highest level that met every SLO, the first
that broke and by what, and the knee of the ttft curve.

``Conductor`` is the same search run by a driver over several parts (processes or Ray
actors): it hands out step commands (a level and a start time) and judges each step on the
parts' merged interval records, so the verdict is the whole test's, not one part's.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from loadgen.core.health import assess
from loadgen.core.hist import Histogram
from loadgen.core.slo import Slo

__all__ = ["BreakpointSpec", "Conductor", "Search", "judge", "judge_step", "knee", "summary"]


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


def judge_step(
    intervals: Sequence[dict[str, Any]],
    slo: Slo,
    spec: BreakpointSpec,
    step_start: float,
    step_end: float,
) -> dict[str, Any]:
    """Judge one step on its steady window: the interval records after the warm-up.

    ``intervals`` may hold any records; those of the window are picked here (``t`` is seconds
    since the run's start). The generator-health warnings of the window make the verdict
    ``generator-limited``.
    """
    window = [
        r
        for r in intervals
        if r["t"] >= step_start + spec.warmup - 1e-6 and r["t"] + r["length"] <= step_end + 0.05
    ]
    limited = assess(window)["warnings"]
    step = judge(window, slo, limited=[w["what"] for w in limited])
    step.update(start=step_start, end=step_end, warmup=spec.warmup)
    return step


class Conductor:
    """A breakpoint search over several parts, as their driver runs it (pure).

    ``begin(now)`` gives the first step command; ``add(record, now)`` takes each merged
    interval record in time order and returns the next command once the current step's
    window is complete. A command is ``{"level": L, "start": S}`` (``S`` whole seconds since
    the agreed start, at least ``lead`` seconds ahead of ``now`` so every part gets it in
    time) or ``{"end": True}``. Between two steps the parts hold the last level (closed
    model) or send nothing (open model) while the driver waits for the merged window: a gap
    of one to three seconds that no step's window includes.
    """

    def __init__(self, spec: BreakpointSpec, slo: Slo, *, lead: float = 1.0) -> None:
        self.spec = spec
        self.slo = slo
        self.lead = lead
        self.search = Search(spec)
        self.step: tuple[float, float] | None = None  # (level, start) of the running step
        self._records: list[dict[str, Any]] = []
        self.ended = False

    def begin(self, now: float) -> dict[str, Any]:
        return self._announce(now, 0.0)

    def add(self, record: dict[str, Any], now: float) -> dict[str, Any] | None:
        if self.step is None or self.ended:
            return None
        self._records.append(record)
        level, start = self.step
        end = start + self.spec.step_duration
        if float(record["t"]) + float(record["length"]) < end - 0.05:
            return None
        self.search.record(level, judge_step(self._records, self.slo, self.spec, start, end))
        self._records = []
        return self._announce(now, end)

    def _announce(self, now: float, not_before: float) -> dict[str, Any]:
        level = self.search.next_level()
        if level is None:
            self.step = None
            self.ended = True
            return {"end": True}
        start = float(max(math.ceil(now + self.lead), math.ceil(not_before)))
        self.step = (level, start)
        return {"level": level, "start": start}

    def longest(self) -> float:
        """An upper bound on the search's length in seconds (every step, gaps included)."""
        spec = self.spec
        steps = math.floor((spec.max - spec.start) / spec.step + 1e-9) + 1 + spec.refine
        return steps * (spec.step_duration + self.lead + 3.0)


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
