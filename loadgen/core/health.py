"""Generator health: tell when loadgen itself, not the target, limited a test.

A load generator that runs out of CPU, or whose event loop falls behind, reports its own
delays as the server's. Each one-second interval records the generator's CPU use, event-loop
lag and schedule lag; ``assess`` turns windows past a limit into plain-words warnings,
merged into time ranges. Pure: interval records in, a health record out.

Two kinds of interval would otherwise warn on nearly every run without saying anything
about the test: the start-up (imports, first connections, logins — a cost paid once, before
the load is steady) is reported apart and never as a limit; the final partial interval,
often a few milliseconds of teardown, is judged together with the second before it over
their real length (``loadgen.core.windows``).

Requests that failed on the generator's own limits (error kind ``generator``: out of open
files, local ports, memory) are a limit too, from the first second on: the warning names
them, so that they are never read as the target's failures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from loadgen.core.units import format_duration
from loadgen.core.windows import length, windows

__all__ = ["Limits", "assess"]


@dataclass(frozen=True, slots=True)
class Limits:
    schedule_lag_p99_ms: float = 10.0  # requests started this late after their intended start
    loop_lag_p99_ms: float = 10.0  # the event loop woke this late for its own timers
    cpu: float = 0.9  # fraction of one core the generator process used
    startup: float = 1.0  # seconds from the start judged apart: imports, connections, logins


def _cpu(window: Sequence[Mapping[str, Any]]) -> float | None:
    """CPU share over the window's real length (each interval weighted by its length)."""
    timed = [
        (float(r["cpu"]), float(r.get("length", 1.0))) for r in window if r.get("cpu") is not None
    ]
    seconds = sum(t for _, t in timed)
    return sum(c * t for c, t in timed) / seconds if seconds > 0 else None


def _p99(window: Sequence[Mapping[str, Any]], key: str) -> float | None:
    """The worst interval's p99 (an upper bound for the window's: no histograms are kept)."""
    values = [float(b["p99"]) for r in window if (b := r.get(key) or {}).get("count")]
    return max(values, default=None)


def _excess(window: Sequence[Mapping[str, Any]], limits: Limits) -> dict[str, float]:
    """Each measure past its limit in this window, by kind, with its value."""
    out: dict[str, float] = {}
    cpu = _cpu(window)
    if cpu is not None and cpu > limits.cpu:
        out["cpu"] = cpu
    sched = _p99(window, "schedule_lag")
    if sched is not None and sched > limits.schedule_lag_p99_ms:
        out["schedule_lag"] = sched
    loop = _p99(window, "loop_lag")
    if loop is not None and loop > limits.loop_lag_p99_ms:
        out["loop_lag"] = loop
    return out


def _what(excess: Mapping[str, float], limits: Limits) -> str:
    """One phrase per kind, at its worst value over the range: each reason said once."""
    parts = []
    if "cpu" in excess:
        parts.append(f"CPU {excess['cpu']:.0%} of a core > {limits.cpu:.0%}")
    if "schedule_lag" in excess:
        parts.append(
            f"schedule lag p99 {excess['schedule_lag']:.0f} ms > {limits.schedule_lag_p99_ms:g} ms"
        )
    if "loop_lag" in excess:
        parts.append(
            f"event-loop lag p99 {excess['loop_lag']:.0f} ms > {limits.loop_lag_p99_ms:g} ms"
        )
    return "; ".join(parts)


def _ranges(
    judged: Sequence[tuple[float, float, dict[str, float]]],
) -> list[tuple[float, float, dict[str, float]]]:
    """Adjacent windows past a limit merged into one range, keeping each kind's worst value."""
    out: list[tuple[float, float, dict[str, float]]] = []
    for start, end, excess in judged:
        if not excess:
            continue
        if out and abs(out[-1][1] - start) < 1e-6:
            first, _, worst = out[-1]
            merged = dict(worst)
            for kind, value in excess.items():
                merged[kind] = max(value, merged.get(kind, value))
            out[-1] = (first, end, merged)
        else:
            out.append((start, end, dict(excess)))
    return out


def _own_limits(intervals: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """One warning over the time requests failed on the generator's own limits, or None."""
    hit = [r for r in intervals if (r.get("errors_by_kind") or {}).get("generator")]
    if not hit:
        return None
    count = sum(int(r["errors_by_kind"]["generator"]) for r in hit)
    start = float(hit[0]["t"])
    end = float(hit[-1]["t"]) + float(hit[-1].get("length", 1.0))
    what = (
        f"{count} request{'' if count == 1 else 's'} failed on the generator's own limits "
        "(open files, local ports or memory: errors of kind generator)"
    )
    return {
        "t": start,
        "until": end,
        "what": what,
        "plain": f"the generator, not the target, limited the test from "
        f"{format_duration(start)} to {format_duration(end)} ({what})",
    }


def assess(intervals: Sequence[Mapping[str, Any]], limits: Limits | None = None) -> dict[str, Any]:
    """The result's ``health`` record: limited or not, and when and why.

    ``startup`` holds what the first ``limits.startup`` seconds exceeded (or None): shown to
    the user as a note, never counted in ``limited``.
    """
    limits = limits or Limits()
    early = [r for r in intervals if float(r["t"]) < limits.startup - 1e-6]
    judged = []
    for window in windows([r for r in intervals if float(r["t"]) >= limits.startup - 1e-6]):
        start = float(window[0]["t"])
        judged.append((start, start + length(window), _excess(window, limits)))
    warnings = []
    for start, end, excess in _ranges(judged):
        what = _what(excess, limits)
        warnings.append(
            {
                "t": start,
                "until": end,
                "what": what,
                "plain": f"the generator, not the target, limited the test from "
                f"{format_duration(start)} to {format_duration(end)} ({what})",
            }
        )
    own = _own_limits(intervals)
    if own is not None:
        warnings.append(own)
    startup = None
    if early and (excess := _excess(early, limits)):
        end = float(early[0]["t"]) + length(early)
        what = _what(excess, limits)
        startup = {
            "t": float(early[0]["t"]),
            "until": end,
            "what": what,
            "plain": f"start-up (imports, first connections, logins) kept the generator busy "
            f"in its first {format_duration(end)} ({what}); not counted as a limit",
        }
    cpus = [c for w in windows(intervals) if (c := _cpu(w)) is not None]
    return {
        "limited": bool(warnings),
        "warnings": warnings,
        "startup": startup,
        "cpu": {"mean": _cpu(intervals) or 0.0, "max": max(cpus, default=0.0)},
        "limits": asdict(limits),
    }
