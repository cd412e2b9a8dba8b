"""Generator health: tell when loadgen itself, not the target, limited a test.

A load generator that runs out of CPU, or whose event loop falls behind, reports its own
delays as the server's. Each one-second interval records the generator's CPU use, event-loop
lag and schedule lag; ``assess`` turns intervals past a limit into plain-words warnings,
merged into time ranges. Pure: interval records in, a health record out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from loadgen.units import format_duration

__all__ = ["Limits", "assess"]


@dataclass(frozen=True, slots=True)
class Limits:
    schedule_lag_p99_ms: float = 10.0  # requests started this late after their intended start
    loop_lag_p99_ms: float = 10.0  # the event loop woke this late for its own timers
    cpu: float = 0.9  # fraction of one core the generator process used


def _reasons(record: dict[str, Any], limits: Limits) -> list[str]:
    out = []
    cpu = record.get("cpu")
    if cpu is not None and cpu > limits.cpu:
        out.append(f"CPU {cpu:.0%} of a core > {limits.cpu:.0%}")
    sched = record.get("schedule_lag", {})
    if sched.get("count") and sched["p99"] > limits.schedule_lag_p99_ms:
        out.append(f"schedule lag p99 {sched['p99']:.0f} ms > {limits.schedule_lag_p99_ms:g} ms")
    loop = record.get("loop_lag", {})
    if loop.get("count") and loop["p99"] > limits.loop_lag_p99_ms:
        out.append(f"event-loop lag p99 {loop['p99']:.0f} ms > {limits.loop_lag_p99_ms:g} ms")
    return out


def assess(intervals: Sequence[dict[str, Any]], limits: Limits | None = None) -> dict[str, Any]:
    """The result's ``health`` record: limited or not, and when and why."""
    limits = limits or Limits()
    warnings: list[dict[str, Any]] = []
    for record in intervals:
        reasons = _reasons(record, limits)
        if not reasons:
            continue
        start, end = float(record["t"]), float(record["t"]) + float(record.get("length", 1.0))
        last = warnings[-1] if warnings else None
        if last is not None and abs(last["until"] - start) < 1e-6:
            last["until"] = end
            last["what"] = sorted(set(last["what"]) | set(reasons))
        else:
            warnings.append({"t": start, "until": end, "what": reasons})
    for w in warnings:
        w["what"] = "; ".join(w["what"]) if isinstance(w["what"], list) else w["what"]
        w["plain"] = (
            f"the generator, not the target, limited the test from "
            f"{format_duration(w['t'])} to {format_duration(w['until'])} ({w['what']})"
        )
    cpus = [float(r["cpu"]) for r in intervals if r.get("cpu") is not None]
    return {
        "limited": bool(warnings),
        "warnings": warnings,
        "cpu": {"mean": sum(cpus) / len(cpus) if cpus else 0.0, "max": max(cpus, default=0.0)},
        "limits": asdict(limits),
    }
