"""Text for people: the end-of-run summary table and the live status line.

Renders from the result data (or an interval record), never from a live engine; the CLI
decides where and whether to print.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadgen.core import metrics
from loadgen.core.resultdoc import ResultDoc, Scope, as_doc
from loadgen.core.safetext import terminal
from loadgen.core.shapes import PlanStep
from loadgen.core.units import format_duration
from loadgen.report.facts import Facts, facts
from loadgen.report.serverview import break_note

__all__ = [
    "ProgressState",
    "columns",
    "health_lines",
    "progress_fields",
    "progress_line",
    "summary",
    "text_table",
]


def _shown() -> list[metrics.Metric]:
    """The registry metrics the per-scope table shows (its ``console`` statistics)."""
    return [m for m in metrics.scoped() if m.console]


def _columns() -> list[str]:
    stats = [f"{m.name} {s}" if i == 0 else s for m in _shown() for i, s in enumerate(m.console)]
    return ["name", "reqs", "errors", "rps", *stats, "tok/s"]


def _without_done_line(ended: dict[str, int], answers: int) -> str:
    """Say once that streams lacked ``data: [DONE]`` and why they still count as answers."""
    after, neither = ended.get("finish_reason", 0), ended.get("clean", 0)
    if not neither:
        why = "finish_reason then a clean end"
    elif not after:
        why = "a clean end; the server sent no finish_reason either"
    else:
        why = f"{after} with finish_reason then a clean end, {neither} with a clean end alone"
    return (
        f"{after + neither} of {max(answers, after + neither)} streams ended without "
        f"data: [DONE] (accepted: {why})"
    )


def _ms(value: Any) -> str:
    if value is None:
        return "-"
    v = float(value)
    if v >= 10_000:
        return f"{v / 1000:.1f}s"
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def _row(name: str, scope: Scope) -> list[str]:
    cells = [
        name,
        str(scope["requests"]),
        f"{scope['errors']}" + (f" ({scope['error_rate']:.1%})" if scope["errors"] else ""),
        f"{scope['rps']:.1f}",
    ]
    for metric in _shown():
        m: Mapping[str, Any] = scope["metrics"].get(metric.name) or {}
        cells += [_ms(m[s]) if m.get("count", 0) > 0 else "-" for s in metric.console]
    return [*cells, f"{scope['output_tps']:.0f}" if scope["output_tokens"] else "-"]


def one_line(text: str) -> str:
    """A server's multi-line error body as one line, so it cannot break a table's rows, with
    no escape sequence or control character left to reach the terminal."""
    return " ".join(terminal(text).split())


def columns(text: str) -> int:
    """Terminal columns ``text`` takes: wide characters (CJK, most emoji) take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def text_table(rows: list[list[str]]) -> list[str]:
    """Left-aligned first column, right-aligned numbers, a rule under the header; every cell
    on one line."""
    rows = [[one_line(c) for c in r] for r in rows]
    widths = [max(columns(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, r in enumerate(rows):
        cells = [r[0] + " " * (widths[0] - columns(r[0]))] + [
            " " * (w - columns(c)) + c for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def summary(data: dict[str, Any]) -> str:
    """The end-of-run table (latencies in ms) and the facts a reader needs to trust it."""
    doc = as_doc(data)
    known = facts(doc)
    lines = _heading(doc)
    lines += _notes(doc, known)
    lines += _phases(doc)
    lines += _custom(doc)
    lines += _breakpoint(data)
    lines += _verdict(known)
    lines += _health_lines(known.startup, known.warnings)
    for err in known.internal_errors:
        lines.append(f"loadgen internal error in a VU (please report): {err}")
    # Names, reasons and messages come from profiles and servers: nothing raw reaches a terminal.
    return "\n".join(terminal(line) for line in lines)


def _heading(doc: ResultDoc) -> list[str]:
    """Who ran what against which target, and the table of scopes."""
    run, scopes, target = doc["run"], doc["scopes"], doc["target"]
    lines = [
        f"loadgen {doc['loadgen_version']} — {doc['profile']['name']} against "
        f"{target['base_url']}" + (" (built-in target)" if target["builtin"] else ""),
        f"duration {format_duration(run['duration'])}, stopped: {run['stop_reason']}, "
        f"seed {doc['seed']}",
        "",
    ]
    rows = [_columns()]
    for name, scope in scopes["by_name"].items():
        rows.append(_row(name, scope))
    rows.append(_row("total", scopes["overall"]))
    return [
        *lines,
        *text_table(rows),
        "",
        "latencies in ms from each request's intended start; itl = gap between content events",
    ]


def _notes(doc: ResultDoc, known: Facts) -> list[str]:
    """Errors, drops, interruptions, token counting and the generator's own lag."""
    overall = doc["scopes"]["overall"]
    lines = []
    if overall["errors_by_kind"]:
        kinds = ", ".join(f"{k} {v}" for k, v in overall["errors_by_kind"].items())
        lines.append(f"errors by kind: {kinds}")
        for row in doc.get("errors", [])[:5]:
            example = one_line(str(row["example"]))
            lines.append(f"  {row['count']:>6} × {row['kind']} on {row['name']}: {example}")
    if known.dropped:
        lines.append(f"dropped arrivals (max_in_flight reached, not sent): {known.dropped}")
    if overall["interrupted"]:
        lines.append(f"interrupted at the end (not errors): {overall['interrupted']}")
    said = (
        ("cancelled as the profile asked: ", known.cancelled),
        ("before the first byte: ", known.connections),
        ("warning: ", known.connect_warning),
        ("output tokens from: ", known.token_sources),
        ("lengths: ", known.lengths),
        ("input tokens: ", known.input_tokens),
    )
    lines += [label + text for label, text in said if text]
    lines += ["calibration " + line for line in known.calibration]
    if known.server:
        lines.append("server metrics: " + known.server)
    lines += _token_counting(overall)
    lag = doc.get("schedule_lag") or {}
    if lag.get("count"):
        lines.append(
            f"schedule lag p99 {_ms(lag.get('p99'))} ms, event-loop lag p99 "
            f"{_ms((doc.get('loop_lag') or {}).get('p99'))} ms"
        )
    return lines


def _token_counting(overall: Scope) -> list[str]:
    """Where the server's usage count and the content events disagreed, and streams that
    ended without ``data: [DONE]``."""
    lines = []
    diff = overall.get("usage_vs_events") or {}
    if diff.get("usage_tokens") and diff.get("difference"):
        lines.append(
            f"server usage counted {diff['usage_tokens']} tokens in "
            f"{diff['content_events']} content events (difference {diff['difference']:+d})"
        )
    if diff.get("rejected"):
        lines.append(
            f"{diff['rejected']} answers reported a usage count no answer can have (below 0 or "
            "over 10,000,000 tokens): their content events were counted instead"
        )
    ended = overall.get("without_done") or {}
    if ended:
        sources = overall.get("token_source") or {}
        lines.append(_without_done_line(ended, sum(sources.values())))
    return lines


def _phases(doc: ResultDoc) -> list[str]:
    phases = doc.get("phases") or []
    if not phases:
        return []
    rows = [["phase", "from", "to", "reqs", "errors", "rps", "ttft p50", "p95", "p99", "e2e p95"]]
    for ph in phases:
        t, e = ph["ttft"], ph["e2e"]
        rows.append(
            [
                ph["name"],
                format_duration(ph["start"]),
                format_duration(ph["end"]),
                str(ph["requests"]),
                f"{ph['errors']}",
                f"{ph['rps']:.1f}",
                _ms(t.get("p50")) if t.get("count") else "-",
                _ms(t.get("p95")) if t.get("count") else "-",
                _ms(t.get("p99")) if t.get("count") else "-",
                _ms(e.get("p95")) if e.get("count") else "-",
            ]
        )
    return ["", *text_table(rows)]


def _custom(doc: ResultDoc) -> list[str]:
    custom = doc.get("custom") or {}
    lines = []
    if custom.get("checks"):
        lines.append(
            "checks: "
            + ", ".join(
                f"{name} {c['passes']}/{c['passes'] + c['fails']}"
                for name, c in custom["checks"].items()
            )
        )
    if custom.get("counters"):
        lines.append("counters: " + ", ".join(f"{k} {v}" for k, v in custom["counters"].items()))
    return lines


def health_lines(health: dict[str, Any]) -> list[str]:
    """Generator-limited ranges, each reason once; the start-up apart, as a note."""
    startup = health.get("startup")
    warnings = health.get("warnings") or []
    return _health_lines(startup["plain"] if startup else None, [w["plain"] for w in warnings])


def _health_lines(startup: str | None, warnings: Sequence[str]) -> list[str]:
    lines = []
    if startup is not None:
        lines.append(f"note: {startup}")
    lines += [f"WARNING: {w}" for w in warnings[:5]]
    if len(warnings) > 5:
        lines.append(f"WARNING: … and {len(warnings) - 5} more generator-limited ranges")
    return lines


@dataclass
class ProgressState:
    """What the progress display knows: the plan, and the run so far from its snapshots."""

    total: float | None  # the plan's length in seconds; None for a breakpoint search
    steps: tuple[PlanStep, ...] = ()
    open_model: bool = False
    elapsed: float = 0.0
    record: dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    errors: int = 0
    in_flight: int | None = None
    stopping: bool = False

    def take(self, record: dict[str, Any]) -> None:
        """One interval record (a snapshot): the latest, and the totals so far."""
        self.record = record
        self.elapsed = float(record.get("t", 0.0)) + float(record.get("length", 0.0))
        self.requests += int(record.get("requests", 0))
        self.errors += int(record.get("errors", 0))

    @property
    def stage(self) -> str:
        for i, step in enumerate(self.steps):
            if step.at <= self.elapsed < step.until:
                return step.name or f"{i + 1} of {len(self.steps)}"
        if self.total is None:
            return "breakpoint search"
        return "graceful stop" if self.elapsed >= self.total else "-"


def progress_fields(p: ProgressState) -> list[tuple[str, str]]:
    """(label, value) pairs the live area and the plain CI line both show."""
    r = p.record
    planned = r.get("planned") or {}
    elapsed = format_duration(round(p.elapsed))
    fields = [("elapsed", elapsed + (f" / {format_duration(p.total)}" if p.total else ""))]
    fields.append(("stage", p.stage))
    if p.open_model:
        rate = planned.get("rate")
        sent = r.get("sent", r.get("requests", 0))
        fields.append(("arrivals/s", f"{sent}" + (f" of {rate:g}" if rate is not None else "")))
    else:
        users = planned.get("users")
        fields.append(
            ("users", f"{r.get('users', 0)}" + (f" of {users:g}" if users is not None else ""))
        )
    if p.in_flight is not None:
        fields.append(("in flight", str(p.in_flight)))
    fields.append(("rps", f"{float(r.get('rps', 0.0)):.1f}"))
    share = f" ({p.errors / p.requests:.1%})" if p.requests and p.errors else ""
    fields.append(("errors", f"{p.errors}{share}"))
    ttft = r.get("ttft") or {}
    fields.append(("ttft p95", f"{_ms(ttft['p95'])} ms" if ttft.get("count") else "-"))
    if p.total is not None:
        left = max(0.0, p.total - p.elapsed)
        fields.append(("eta", format_duration(round(left)) if left else "-"))
    if p.stopping:
        flight = f", {p.in_flight} in flight" if p.in_flight is not None else ""
        fields.append(("state", f"stopping{flight}"))
    return fields


def progress_line(p: ProgressState) -> str:
    """The plain form, one line for CI logs: ``progress: elapsed 10s / 30s  stage …``."""
    return "progress: " + "  ".join(f"{label} {value}" for label, value in progress_fields(p))


def _verdict(known: Facts) -> list[str]:
    """Every check with its outcome, then the verdict: the same as --json, HTML and JUnit."""
    verdict = known.verdict
    checks = verdict.checks
    width = max(len(c.name) for c in checks)
    lines = ["", "checks:"]
    for c in checks:
        scope = "" if c.scope == "all" else f" [{c.scope}]"
        lines.append(f"  {c.mark:<6}  {c.name.ljust(width)}  {c.observed} (limit {c.limit}){scope}")
    for why in known.informs_only:
        lines.append(f"  (ok/missed: informs only — {why})")
    lines.append(f"verdict: {verdict.text} — exit {verdict.exit_code}")
    return lines


def _breakpoint(data: dict[str, Any]) -> list[str]:
    """The steps of a breakpoint search and its answer."""
    bp = data.get("breakpoint")
    if not bp:
        return []
    unit = "users" if bp["unit"] == "users" else "req/s"
    rows = [[unit, "rps", "goodput", "ttft p50", "p95", "p99", "e2e p95", "errors", "verdict"]]
    for s in bp["steps"]:
        t = s["ttft"]
        rows.append(
            [
                f"{s['level']:g}",
                f"{s['rps']:.1f}",
                f"{s['goodput']:.1f}",
                _ms(t.get("p50")),
                _ms(t.get("p95")),
                _ms(t.get("p99")),
                _ms(s.get("e2e_p95")),
                f"{s['error_rate']:.1%}",
                s["verdict"] + (f" ({'; '.join(s['broken_by'])})" if s["broken_by"] else ""),
            ]
        )
    lines = [
        "",
        f"breakpoint search (each step judged after a {format_duration(bp['warmup'])} warm-up):",
    ]
    lines += ["  " + line for line in text_table(rows)]
    ok, broken = bp["highest_ok"], bp["first_broken"]
    if ok is None:
        lines.append(
            f"  no level met the SLOs (the first, {bp['steps'][0]['level']:g} {unit}, "
            "already broke them)"
            if bp["steps"]
            else "  no step ran"
        )
    else:
        lines.append(f"  highest load within the SLOs: {ok:g} {unit}")
    if broken is not None:
        lines.append(f"  first broken: {broken:g} {unit}, by {'; '.join(bp['broken_by'])}")
        note = break_note(bp["steps"], data.get("intervals") or [])
        if note:
            lines.append(f"  the server then: {note}")
    elif bp.get("generator_limited_at") is not None:
        lines.append(
            f"  stopped at {bp['generator_limited_at']:g} {unit}: the generator, not "
            "the target, was the limit there — add processes or machines"
        )
    else:
        lines.append("  nothing broke up to the maximum: raise breakpoint.max")
    if bp.get("knee") is not None:
        lines.append(f"  knee of the ttft curve: {bp['knee']:g} {unit}")
    if bp.get("require_at_least") is not None:
        verdict = "met" if bp["ok"] else "NOT met (exit 1)"
        lines.append(f"  required at least {bp['require_at_least']:g} {unit}: {verdict}")
    return lines
