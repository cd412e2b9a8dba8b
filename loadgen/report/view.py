"""What the HTML report shows, computed from the result alone: rows, facts, verdict, charts.

Templates only lay this out; every number is formatted here (via ``fmt``) so tests can
compare the page with the result JSON without re-implementing the template.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from loadgen.core import metrics
from loadgen.core.result import Result
from loadgen.core.verdict import judge
from loadgen.report import fmt
from loadgen.report.awsview import aws_view
from loadgen.report.breakpoint import breakpoint_view
from loadgen.report.facts import Facts, facts
from loadgen.report.lengthcharts import length_charts
from loadgen.report.series import MAX_POINTS
from loadgen.report.serverview import server_view
from loadgen.report.viewcharts import percentile_charts, percentile_points, time_charts

__all__ = [
    "COLUMNS",
    "GROUPS",
    "PHASE_COLUMNS",
    "build",
    "check_rows",
    "percentile_points",
    "phase_rows",
    "scope_cells",
]

# (key, header, formatter, getter) of the per-scope tables; the key names the JSON value.
Getter = Callable[[dict[str, Any]], Any]


def _metric(name: str, stat: str) -> Getter:
    def get(scope: dict[str, Any]) -> Any:
        m = scope["metrics"].get(name) or {}
        return m.get(stat) if m.get("count") else None

    return get


def columns() -> list[tuple[str, str, Callable[[Any], str], Getter]]:
    """The per-scope table's columns: counts, each registry metric's ``table`` statistics."""
    return [
        ("requests", "requests", fmt.count, lambda s: s["requests"]),
        ("errors", "errors", fmt.count, lambda s: s["errors"]),
        ("error_rate", "error %", fmt.pct, lambda s: s["error_rate"]),
        ("rps", "req/s", fmt.rate, lambda s: s["rps"]),
        *[(f"{m.name}.{p}", p, fmt.ms, _metric(m.name, p)) for m in _tabled() for p in m.table],
        (
            "output_tps",
            "tokens/s",
            fmt.rate,
            lambda s: s["output_tps"] if s["output_tokens"] else None,
        ),
    ]


def groups() -> list[tuple[str, int]]:
    return [("", 4), *[(f"{m.title} ({m.unit})", len(m.table)) for m in _tabled()], ("output", 1)]


def _tabled() -> list[metrics.Metric]:
    return [m for m in metrics.scoped() if m.table]


COLUMNS, GROUPS = columns(), groups()  # the built-in metrics'; the report asks again

ERROR_MEANING = {
    "connect": "could not connect",
    "timeout": "no complete answer within target.timeout",
    "http_3xx": "redirect (3xx) where an answer was expected",
    "http_4xx": "client error status (4xx other than 401/403/429)",
    "http_429": "rate limited (429)",
    "http_5xx": "server error status (5xx)",
    "stream_broken": "connection ended mid-stream",
    "protocol": "malformed SSE, JSON or WebSocket frame",
    "auth": "401/403 or login failed",
    "check": "a declared check failed",
    "generator": "the generator's own limit (open files, local ports, memory), not the target",
}


def scope_cells(scope: dict[str, Any]) -> list[str]:
    """The formatted cells of one table row, in ``COLUMNS`` order."""
    return [f(get(scope)) for _, _, f, get in columns()]


def _value(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "ms":
        return f"{fmt.ms(value)} ms"
    if unit in ("ratio", "fraction", "%"):
        return fmt.pct(value)  # thresholds and SLOs store rates as fractions (1% = 0.01)
    return f"{float(value):.4g} {unit}".strip()


def check_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The verdict's checks as table rows (the console, ``--json`` and JUnit show the same)."""
    return [
        {
            "kind": c.kind,
            "expr": c.name,
            "scope": c.scope,
            "value": c.observed,
            "limit": c.limit,
            "ok": c.ok,
            "gates": c.gates,
            "mark": c.mark,
            "why": c.why,
        }
        for c in judge(data).checks
    ]


def _verdict(data: dict[str, Any], known: Facts, bp: dict[str, Any] | None) -> dict[str, Any]:
    verdict = known.verdict
    notes: list[str] = []
    if bp and bp.get("summary"):
        notes.append(bp["summary"])
    overall = data["scopes"]["overall"]
    if overall["errors"]:
        notes.append(
            f"{fmt.count(overall['errors'])} failed requests ({fmt.pct(overall['error_rate'])})"
        )
    if known.limited:
        notes.append("the generator limited part of this test: see the warnings below")
    notes += [f"informs only: {why}" for why in known.informs_only]
    return {
        "status": verdict.status,
        "text": verdict.text.partition(" — ")[2],  # the badge already says PASSED/FAILED
        "exit_code": verdict.exit_code,
        "notes": notes,
    }


def _banners(data: dict[str, Any], known: Facts) -> list[str]:
    out = []
    if known.truncated:
        out.append(
            "This report was rendered from a cut-short journal: the run did not finish "
            "writing its result, so totals cover only the intervals it recorded."
        )
    if known.interrupted:
        out.append(
            f"The run was interrupted ({known.stop_reason}); the results cover the time until then."
        )
    out += _lost_parts(data)
    out += [
        f"loadgen internal error in a virtual user (please report): {e}"
        for e in known.internal_errors
    ]
    return out


def _lost_parts(data: dict[str, Any]) -> list[str]:
    """One banner per worker of a distributed run that did not finish: what is kept of it."""
    out = []
    for p in data.get("parts") or []:
        status = p.get("status")
        if status in (None, "ok"):
            continue
        error = (str(p.get("error") or "").strip().splitlines() or ["no output"])[-1]
        if status == "partial":
            kept = (
                f"its {p.get('journaled_intervals', 0)} journaled intervals are kept "
                "(counts, errors, TTFT and E2E; not ITL, TTFB or the per-name tables)"
            )
        else:
            kept = "nothing of it is in these numbers"
        out.append(
            f"Segment {p.get('segment')} of the distributed run did not finish "
            f"({error}, exit {p.get('exit_code')}): {kept}; the totals cover less load "
            "than the plan."
        )
    return out


def _load_text(data: dict[str, Any]) -> str:
    model = (data.get("load") or {}).get("model", "closed")
    bp = data.get("breakpoint")
    if bp and bp.get("steps"):
        levels = [float(s["level"]) for s in bp["steps"]]
        unit = "/s" if model == "open" else " users"
        return (
            f"{model} model, breakpoint search: {len(levels)} steps "
            f"from {levels[0]:g}{unit} to {max(levels):g}{unit}"
        )
    if model == "replay":  # the plan is the trace: say which, and how fast
        load = ((data.get("profile") or {}).get("raw") or {}).get("load") or {}
        trace = str(load.get("trace", "a trace")).replace("\\", "/").rsplit("/", 1)[-1]
        return f"replay of {trace} (its own timestamps), time_scale {load.get('time_scale', 1)}"
    steps = data.get("plan") or []
    peak = max((max(float(s["start"]), float(s["end"])) for s in steps), default=0.0)
    if model == "open":
        return f"open model (arrival rate), peak {peak:g}/s, {len(steps)} stages"
    return f"closed model (virtual users), peak {peak:g} users, {len(steps)} stages"


def _facts(data: dict[str, Any], known: Facts) -> list[tuple[str, str]]:
    run, env, target = data["run"], data.get("environment") or {}, data.get("target") or {}
    started = dt.datetime.fromtimestamp(float(data.get("started", 0)), dt.UTC)
    profile = data.get("profile") or {}
    facts = [
        (
            "profile",
            f"{profile.get('name', '?')}"
            + (f" ({profile['path']})" if profile.get("path") else ""),
        ),
        (
            "target",
            f"{target.get('base_url', '?')}"
            + (" (built-in target)" if target.get("builtin") else ""),
        ),
        ("started", started.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("duration", f"{fmt.seconds(run.get('duration'))}, stopped: {run.get('stop_reason')}"),
        ("load", _load_text(data)),
        ("seed", str(data.get("seed", "–"))),
        (
            "versions",
            f"loadgen {data.get('loadgen_version', '?')}, Python "
            f"{env.get('python', '?')}, {env.get('event_loop', '?')} event loop",
        ),
        ("machine", f"{env.get('platform', '?')}, {env.get('cpu_count', '?')} CPUs"),
        ("output tokens from", known.token_sources or "–"),
        *([("token lengths", known.lengths)] if known.lengths else []),
        *([("input tokens", known.input_tokens)] if known.input_tokens else []),
        *[("requested vs server", line) for line in known.calibration],
        *([("server metrics", known.server)] if known.server else []),
        *([("cancelled", known.cancelled)] if known.cancelled else []),
        *([("before the first byte", known.connections)] if known.connections else []),
        *([("warning", known.connect_warning)] if known.connect_warning else []),
    ]
    sched, loop = data.get("schedule_lag") or {}, data.get("loop_lag") or {}
    facts.append(
        (
            "generator lag",
            f"schedule lag p99 {fmt.ms(sched.get('p99'))} ms, "
            f"event-loop lag p99 {fmt.ms(loop.get('p99'))} ms",
        )
    )
    if known.dropped:
        facts.append(("dropped arrivals", f"{fmt.count(known.dropped)} (max_in_flight reached)"))
    return facts


def _columns() -> list[dict[str, Any]]:
    spans = groups()
    starts = {sum(span for _, span in spans[:i]) for i in range(1, len(spans))}
    return [
        {"key": key, "header": header, "sep": i in starts}
        for i, (key, header, _, _) in enumerate(columns())
    ]


def _table(scopes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": k, "cells": scope_cells(v)} for k, v in scopes.items()]


def _errors(data: dict[str, Any]) -> dict[str, Any]:
    overall = data["scopes"]["overall"]
    total = max(1, int(overall["requests"]))
    kinds = [
        {
            "kind": k,
            "count": fmt.count(v),
            "share": fmt.pct(v / total),
            "meaning": ERROR_MEANING.get(k, ""),
        }
        for k, v in sorted(overall["errors_by_kind"].items(), key=lambda kv: -kv[1])
    ]
    statuses = [{"status": k, "count": fmt.count(v)} for k, v in overall["statuses"].items()]
    examples = [
        {
            "kind": e.get("kind"),
            "name": e.get("name"),
            "status": e.get("status") or "–",
            "count": fmt.count(e.get("count")),
            "example": str(e.get("example") or "")[:400],
        }
        for e in data.get("errors") or []
    ]
    return {"kinds": kinds, "statuses": statuses, "examples": examples}


PHASE_COLUMNS = (
    "phase",
    "from",
    "to",
    "level",
    "requests",
    "errors",
    "error %",
    "req/s",
    "ttft p50",
    "ttft p95",
    "ttft p99",
    "e2e p95",
)


def phase_rows(data: dict[str, Any]) -> list[list[str]]:
    """Named stages (``phases`` in the result), cells in ``PHASE_COLUMNS`` order."""
    unit = "/s" if (data.get("load") or {}).get("model") == "open" else " users"
    rows = []
    for ph in data.get("phases") or []:
        lo, hi = float(ph["level_from"]), float(ph["level_to"])
        level = f"{hi:g}{unit}" if lo == hi else f"{lo:g} → {hi:g}{unit}"
        t, e = ph.get("ttft") or {}, ph.get("e2e") or {}
        rows.append(
            [
                str(ph["name"]),
                fmt.seconds(ph["start"]),
                fmt.seconds(ph["end"]),
                level,
                fmt.count(ph["requests"]),
                fmt.count(ph["errors"]),
                fmt.pct(ph["error_rate"]),
                fmt.rate(ph["rps"]),
                *(fmt.ms(t.get(p)) if t.get("count") else "–" for p in ("p50", "p95", "p99")),
                fmt.ms(e.get("p95")) if e.get("count") else "–",
            ]
        )
    return rows


def _headline(overall: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The big numbers at the top: (label, value, unit)."""
    return [
        (label, f(get(overall)), unit)
        for label, f, get, unit in (
            ("requests", fmt.count, lambda s: s["requests"], ""),
            ("error rate", fmt.pct, lambda s: s["error_rate"], ""),
            ("throughput", fmt.rate, lambda s: s["rps"], "req/s"),
            ("TTFT p95", fmt.ms, _metric("ttft", "p95"), "ms"),
            ("ITL p99", fmt.ms, _metric("itl", "p99"), "ms"),
            ("E2E p95", fmt.ms, _metric("e2e", "p95"), "ms"),
            ("output", fmt.rate, lambda s: s["output_tps"], "tokens/s"),
        )
    ]


def _custom(data: dict[str, Any]) -> dict[str, Any]:
    """Custom counters, checks and histograms (``count:``, ``check:``, ``observe:``)."""
    custom = data.get("custom") or {}
    counters = (custom.get("counters") or {}).items()
    return {
        "counters": [(k, fmt.count(v)) for k, v in sorted(counters)],
        "custom_checks": [
            (k, fmt.count(c["passes"]), fmt.count(c["fails"]))
            for k, c in sorted((custom.get("checks") or {}).items())
        ],
        "custom_histograms": [
            (
                k,
                fmt.count(h["count"]),
                *(f"{float(h[s]):.4g}" for s in ("mean", "p50", "p95", "p99", "max")),
            )
            for k, h in sorted((custom.get("histograms") or {}).items())
        ],
    }


def build(result: Result, *, max_points: int = MAX_POINTS) -> dict[str, Any]:
    """The template context of ``report.html.j2``."""
    data = result.data
    scopes = data["scopes"]
    known = facts(data)
    bp = breakpoint_view(data.get("breakpoint"), data.get("intervals"))
    time_svgs, step = time_charts(data, max_points)
    return {
        "title": f"{(data.get('profile') or {}).get('name', 'loadgen')} — loadgen report",
        "data": data,
        "banners": _banners(data, known),
        "checks": check_rows(data),
        "verdict": _verdict(data, known, bp),
        "warnings": list((data.get("health") or {}).get("warnings") or []),
        "phases": phase_rows(data),
        "phase_columns": PHASE_COLUMNS,
        "health_startup": known.startup,
        "headline": _headline(scopes["overall"]),
        "facts": _facts(data, known),
        "time_charts": time_svgs,
        "step": step,
        "source": result.path.name if result.path else "a result",
        "has_marks": len(data.get("plan") or []) > 1,
        "percentile_charts": percentile_charts(data),
        "length_charts": length_charts(data),
        "columns": _columns(),
        "groups": groups(),
        "tables": [
            (f"by-{kind}", title, _table(scopes.get(f"by_{kind}") or {}))
            for kind, title in (
                ("name", "Per request name"),
                ("class", "Per user class"),
                ("category", "Per question category"),
            )
        ],
        "overall_cells": scope_cells(scopes["overall"]),
        "errors": _errors(data),
        **_custom(data),
        "breakpoint": bp,
        "aws": aws_view(data, float(data["run"].get("duration") or 1.0)),
        "server": server_view(data),
    }
