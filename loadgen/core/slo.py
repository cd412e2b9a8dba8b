"""Service-level objectives: what "good" means for a request and for a window of requests.

``slo:`` in a profile names limits such as ``ttft_p95: 2s``, ``e2e_p95: 10s``, ``itl_p99:
200ms``, ``error_rate: 5%`` and ``goodput_ratio: 90%``. A request is *good* when it succeeded
and its own ttft and e2e are within the ttft and e2e limits (goodput, as vLLM and DistServe
define it, counts good requests per second). A window meets the SLOs when every declared
aggregate holds. Pure: values in, verdicts out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from loadgen.core.sample import Sample

__all__ = ["SLO_KEYS", "Slo", "overall_values"]

# key → (metric, statistic, unit) as the result and JUnit show them
SLO_KEYS: dict[str, tuple[str, str, str]] = {
    "ttft_p95": ("ttft", "p95", "ms"),
    "ttft_p99": ("ttft", "p99", "ms"),
    "e2e_p95": ("e2e", "p95", "ms"),
    "e2e_p99": ("e2e", "p99", "ms"),
    "itl_p99": ("itl", "p99", "ms"),
    "error_rate": ("errors", "rate", "%"),
    "goodput_ratio": ("goodput", "ratio", "%"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Slo:
    """Limits in ms (latencies) or fractions (rates); None = not declared."""

    ttft_p95: float | None = None
    ttft_p99: float | None = None
    e2e_p95: float | None = None
    e2e_p99: float | None = None
    itl_p99: float | None = None
    error_rate: float | None = None
    goodput_ratio: float | None = None
    gate: bool = False  # slo: {gate: true}: a miss fails the run (exit 1), see verdict.py

    @property
    def declared(self) -> dict[str, float]:
        return {
            f.name: v
            for f in fields(self)
            if f.name != "gate" and (v := getattr(self, f.name)) is not None
        }

    def good(self, s: Sample) -> bool:
        """Did this one request meet the per-request objectives (no error, ttft, e2e)?"""
        if s.error is not None or s.interrupted or s.cancelled or s.end is None:
            return False
        ttft_limit = min((v for v in (self.ttft_p95, self.ttft_p99) if v is not None), default=None)
        ttft, e2e = s.ttft, s.end - s.t0  # Sample.ttft and Sample.e2e (the end is known here)
        if ttft_limit is not None and (ttft is None or ttft * 1000 > ttft_limit):
            return False
        e2e_limit = min((v for v in (self.e2e_p95, self.e2e_p99) if v is not None), default=None)
        return not (e2e_limit is not None and e2e * 1000 > e2e_limit)

    def judge(self, values: dict[str, float | None]) -> list[str]:
        """Which objectives a window broke, in words: ``ttft_p95 312 ms > 300 ms``.

        ``values`` holds the measured value per key (None when nothing was measured, which
        breaks a latency objective: no answers is not a fast answer)."""
        broken = []
        for key, limit in self.declared.items():
            value = values.get(key)
            _, _, unit = SLO_KEYS[key]
            if key == "goodput_ratio":
                if value is None or value < limit:
                    broken.append(f"goodput {_pct(value)} < {_pct(limit)}")
            elif unit == "%":
                if value is not None and value > limit:
                    broken.append(f"{key} {_pct(value)} > {_pct(limit)}")
            elif value is None or value > limit:
                shown = "no answers" if value is None else f"{value:.0f} ms"
                broken.append(f"{key} {shown} > {limit:.0f} ms")
        return broken

    def records(self, values: dict[str, float | None]) -> list[dict[str, Any]]:
        """One record per objective, in the shape of threshold verdicts (for JUnit, reports)."""
        out = []
        for key, limit in self.declared.items():
            metric, stat, unit = SLO_KEYS[key]
            value = values.get(key)
            op = ">=" if key == "goodput_ratio" else "<="
            ok = value is not None and (value >= limit if op == ">=" else value <= limit)
            if unit == "%" and key != "goodput_ratio" and value is None:
                ok = True
            shown = f"{limit:.0%}" if unit == "%" else f"{limit:g}ms"
            out.append(
                {
                    "expr": f"{metric}.{stat} {op} {shown}",
                    "metric": metric,
                    "stat": stat,
                    "scope": {},
                    "op": op,
                    "limit": limit,
                    "unit": unit,
                    "value": value,
                    "ok": ok,
                    "abort_on_fail": False,
                    "kind": "slo",
                    "key": key,
                    "gates": self.gate,
                }
            )
        return out


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def overall_values(overall: Mapping[str, Any]) -> dict[str, float | None]:
    """A run's (or merged run's) value for each SLO key, from its overall scope."""
    m = overall["metrics"]
    requests = overall["requests"]

    def pct(metric: str, stat: str) -> float | None:
        return float(m[metric][stat]) if m[metric]["count"] else None

    good = overall.get("good")
    values = {
        key: pct(metric, stat) for key, (metric, stat, unit) in SLO_KEYS.items() if unit == "ms"
    }
    values["error_rate"] = overall["error_rate"] if requests else None
    values["goodput_ratio"] = good / requests if requests and good is not None else None
    return values
