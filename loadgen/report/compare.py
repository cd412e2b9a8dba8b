"""Compare two results metric by metric, overall and per request name, and flag regressions.

Pure: two result documents in, a ``Comparison`` out; ``text`` and the compare template render
it. The rules (docs/reports.md): a latency percentile regresses when the new value exceeds the
base by more than ``tolerance`` (relative) *and* ``min_ms`` (absolute, so 0.4 → 0.5 ms is not
a 25 % regression) *and* its confidence interval lies above the base's (``noise``: two runs
of one target differ by chance, more so in the tail and with few samples); a change past the
floors whose intervals overlap is "within noise". Throughput regresses when it falls by more
than ``tolerance``; the error rate regresses when it rises by more than ``error_tolerance``
(absolute). Scopes with fewer than ``min_requests`` requests on either side are shown but not
judged. ``warnings`` say when the two runs had different profiles or targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from loadgen.report import fmt, noise
from loadgen.report.comparable import differences
from loadgen.report.serverview import window_value

__all__ = ["METRICS", "Comparison", "Diff", "compare", "rule", "text"]

#: Metrics with several samples per answer: their noise is counted in answers (noise.py).
_PER_GAP = frozenset({"itl"})

# key, unit, kind: "latency" (higher is worse), "rate" (lower is worse), "errors" (absolute)
METRICS: tuple[tuple[str, str, str], ...] = (
    ("ttft.p50", "ms", "latency"),
    ("ttft.p95", "ms", "latency"),
    ("ttft.p99", "ms", "latency"),
    ("itl.p50", "ms", "latency"),
    ("itl.p99", "ms", "latency"),
    ("tpot.p50", "ms", "latency"),
    ("e2e.p50", "ms", "latency"),
    ("e2e.p95", "ms", "latency"),
    ("e2e.p99", "ms", "latency"),
    ("error_rate", "%", "errors"),
    ("rps", "req/s", "rate"),
    ("output_tps", "tokens/s", "rate"),
)

# The scraped server's whole-run series (docs/server-metrics.md): key, statistic, unit, kind;
# "gauge" is shown, not judged (more waiting may be the point of the new run's load).
SERVER_METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("ttft", "p50", "ms", "latency"),
    ("ttft", "p95", "ms", "latency"),
    ("e2e", "p95", "ms", "latency"),
    ("queue", "p95", "ms", "latency"),
    ("queue_mean", "mean", "ms", "latency"),
    ("running", "mean", "requests", "gauge"),
    ("waiting", "mean", "requests", "gauge"),
    ("waiting", "max", "requests", "gauge"),
    ("kv_cache", "max", "%", "gauge"),
    ("prefix_hit", "mean", "%", "gauge"),
    ("prompt_tps", "mean", "tokens/s", "rate"),
    ("generation_tps", "mean", "tokens/s", "rate"),
    ("requests", "mean", "req/s", "rate"),
)


@dataclass(frozen=True)
class Diff:
    scope: str
    metric: str
    unit: str
    base: float | None
    new: float | None
    verdict: str  # regression | improvement | same | within noise | not judged
    base_ci: noise.Interval | None = None
    new_ci: noise.Interval | None = None

    @property
    def change(self) -> float | None:
        """Relative change (0.25 = +25 %); None without both values or from zero."""
        if self.base is None or self.new is None or self.base == 0:
            return None
        return (self.new - self.base) / self.base

    def cells(self) -> tuple[str, str, str]:
        """Base, new and change as the reports print them."""
        show = fmt.pct if self.unit == "%" else fmt.ms if self.unit == "ms" else fmt.rate
        if self.unit == "%" and self.base is not None and self.new is not None:
            change = f"{(self.new - self.base) * 100:+.2f} pp"
        else:
            change = "–" if self.change is None else f"{self.change * 100:+.1f}%"
        return show(self.base), show(self.new), change

    def intervals(self) -> str:
        """``base-interval vs new-interval`` in ms, or "" when not computed."""
        if self.base_ci is None or self.new_ci is None:
            return ""
        (bl, bh), (nl, nh) = self.base_ci, self.new_ci
        return f"{fmt.ms(bl)}–{fmt.ms(bh)} vs {fmt.ms(nl)}–{fmt.ms(nh)}"


@dataclass
class Comparison:
    base_label: str
    new_label: str
    rules: dict[str, float]
    diffs: list[Diff] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Diff]:
        return [d for d in self.diffs if d.verdict == "regression"]

    def scopes(self) -> list[str]:
        return list(dict.fromkeys(d.scope for d in self.diffs))


def _get(scope: dict[str, Any], key: str) -> float | None:
    if "." in key:
        name, stat = key.split(".", 1)
        m = scope["metrics"].get(name) or {}
        return float(m[stat]) if m.get("count") and stat in m else None
    if key == "output_tps" and not scope.get("output_tokens"):
        return None
    value = scope.get(key)
    return None if value is None else float(value)


def _intervals(
    b: dict[str, Any], n: dict[str, Any], key: str, z: float | None
) -> tuple[noise.Interval | None, noise.Interval | None]:
    """Both sides' confidence intervals of a latency percentile, or Nones without histograms."""
    name, stat = key.split(".", 1)
    if z is None or not stat.startswith("p"):
        return None, None
    out = []
    for scope in (b, n):
        m = scope["metrics"].get(name) or {}
        if not m.get("hdr"):
            return None, None
        clusters = None
        if name in _PER_GAP:
            answers = (scope["metrics"].get("tpot") or {}).get("count") or scope["requests"]
            clusters = int(answers)
        out.append(noise.interval(str(m["hdr"]), float(stat[1:]), z, clusters))
    return out[0], out[1]


def _judge(
    kind: str,
    base: float | None,
    new: float | None,
    rules: dict[str, float],
    cis: tuple[noise.Interval | None, noise.Interval | None] = (None, None),
) -> str:
    if base is None or new is None:
        return "not judged"
    tol = rules["tolerance"]
    if kind == "errors":
        delta = new - base
        limit = rules["error_tolerance"]
        return "regression" if delta > limit else "improvement" if delta < -limit else "same"
    if kind == "rate":
        if new < base * (1 - tol):
            return "regression"
        return "improvement" if new > base * (1 + tol) else "same"
    floor = rules["min_ms"]
    b_ci, n_ci = cis
    if new > base * (1 + tol) and new - base > floor:
        return "within noise" if b_ci and n_ci and n_ci[0] <= b_ci[1] else "regression"
    if new < base * (1 - tol) and base - new > floor:
        return "within noise" if b_ci and n_ci and n_ci[1] >= b_ci[0] else "improvement"
    return "same"


def compare(
    base: dict[str, Any],
    new: dict[str, Any],
    *,
    base_label: str = "base",
    new_label: str = "new",
    tolerance: float = 0.10,
    error_tolerance: float = 0.01,
    min_ms: float = 1.0,
    min_requests: int = 10,
    confidence: float = 0.95,
    metrics: Sequence[str] | None = None,
) -> Comparison:
    """Diff the overall scope and every request name found in either result.

    ``confidence`` 0 turns the noise rule off: latencies are judged by the floors alone.
    """
    rules = {
        "tolerance": tolerance,
        "error_tolerance": error_tolerance,
        "min_ms": min_ms,
        "min_requests": float(min_requests),
        "confidence": confidence,
    }
    z = noise.z_score(confidence) if confidence else None
    chosen = [m for m in METRICS if metrics is None or m[0] in metrics]
    out = Comparison(base_label, new_label, rules, warnings=differences(base, new))
    pairs: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = [
        ("overall", base["scopes"]["overall"], new["scopes"]["overall"])
    ]
    b_names, n_names = base["scopes"].get("by_name") or {}, new["scopes"].get("by_name") or {}
    for name in sorted(set(b_names) | set(n_names)):
        pairs.append((name, b_names.get(name), n_names.get(name)))
    for scope, b, n in pairs:
        if b is None or n is None:
            out.notes.append(f"{scope}: only in the {'new' if b is None else 'base'} result")
            continue
        few = min(int(b["requests"]), int(n["requests"])) < min_requests
        if few:
            out.notes.append(
                f"{scope}: fewer than {min_requests} requests on one side, shown but not judged"
            )
        for key, unit, kind in chosen:
            bv, nv = _get(b, key), _get(n, key)
            cis = _intervals(b, n, key, z) if kind == "latency" else (None, None)
            verdict = "not judged" if few else _judge(kind, bv, nv, rules, cis)
            out.diffs.append(Diff(scope, key, unit, bv, nv, verdict, *cis))
    _server_diffs(out, base.get("server"), new.get("server"))
    return out


def _server_diffs(out: Comparison, base: Any, new: Any) -> None:
    """The scraped server series of both runs, as the scope "server"."""
    if not base and not new:
        return
    if not base or not new:
        out.notes.append(f"server metrics: only in the {'new' if not base else 'base'} result")
        return
    b, n = base.get("run") or {}, new.get("run") or {}
    for key, stat, unit, kind in SERVER_METRICS:
        bv, nv = window_value(b, key, stat), window_value(n, key, stat)
        if bv is None and nv is None:
            continue
        verdict = "not judged" if kind == "gauge" else _judge(kind, bv, nv, out.rules)
        name = f"{key}.{stat}" if stat != "mean" or kind == "gauge" else key
        out.diffs.append(Diff("server", name, unit, bv, nv, verdict))


def rule(c: Comparison) -> str:
    """The rules in one line, as the console and the HTML page state them."""
    r = c.rules
    latency = f"latency +{r['tolerance']:.0%} and > {r['min_ms']:g} ms"
    if r.get("confidence"):
        latency += (
            f" and its {r['confidence']:.0%} interval above the base's (order statistics of "
            "the histograms' counts; ITL per answer)"
        )
    return (
        f"regression: {latency}, throughput -{r['tolerance']:.0%}, error rate "
        f"+{r['error_tolerance'] * 100:.2f} pp"
    )


def text(c: Comparison) -> str:
    """The console table: every overall metric, then per-name rows beyond tolerance."""
    lines = [
        f"loadgen compare: base {c.base_label}  vs  new {c.new_label}",
        *(f"warning: {w}" for w in c.warnings),
        rule(c),
        "",
    ]
    rows = [("scope", "metric", "base", "new", "change", "")]
    hidden = 0
    for d in c.diffs:
        if d.scope not in ("overall", "server") and d.verdict in ("same", "not judged"):
            hidden += 1
            continue
        flag = {"regression": "REGRESSION", "improvement": "better"}.get(d.verdict, "")
        if d.verdict == "within noise":
            flag = f"within noise (intervals {d.intervals()} ms overlap)"
        rows.append((d.scope, d.metric, *d.cells(), flag))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(w) for cell, w in zip(row[2:5], widths[2:5], strict=True)]
        lines.append(("  ".join(cells) + "  " + row[5]).rstrip())
    if hidden:
        lines.append(f"({hidden} per-name values within tolerance or not judged: see the HTML)")
    lines += c.notes
    n = len(c.regressions)
    noisy = sum(d.verdict == "within noise" for d in c.diffs)
    lines.append("")
    lines.append(
        (
            f"{n} regression{'s' if n != 1 else ''} beyond tolerance"
            if n
            else "no regression beyond tolerance"
        )
        + (f"; {noisy} change{'s' if noisy != 1 else ''} within noise" if noisy else "")
    )
    return "\n".join(lines)
