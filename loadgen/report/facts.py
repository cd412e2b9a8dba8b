"""The facts a report states about a run, decided once for the console and the HTML page.

Both outputs say the same things: the verdict and why some checks only inform, where the
output tokens were counted from, how many arrivals were dropped, the generator's health
(its start-up note and the ranges it limited the test), the loadgen errors inside virtual
users. Each output lays these out in its own words and widths; what they are, and which
apply, is computed here from the result alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loadgen.core.resultdoc import ResultDoc, as_doc
from loadgen.core.verdict import Verdict, judge
from loadgen.report import phasefacts
from loadgen.report.serverview import server_fact

__all__ = ["Facts", "facts", "token_sources"]


@dataclass(frozen=True, slots=True)
class Facts:
    verdict: Verdict
    informs_only: tuple[str, ...]  # each reason a check only informs, once, in check order
    token_sources: str  # "usage (40 requests), counted (2 requests)"; "" when none
    lengths: str  # "input 515 tokens (p50), output 64 (p50), reasoning 120 (p50)"; "" when none
    dropped: int  # open model: arrivals not sent (max_in_flight reached)
    startup: str | None  # the generator's start-up note
    warnings: tuple[str, ...]  # generator-limited ranges, in plain words
    limited: bool  # the generator limited part of the test
    internal_errors: tuple[str, ...]  # loadgen's own errors inside virtual users
    interrupted: bool
    truncated: bool  # rebuilt from a cut-short journal
    stop_reason: str
    input_tokens: str = ""  # "2,060 (678 tokens/s), counted by usage (4 requests)"; "" when none
    calibration: tuple[str, ...] = ()  # server-counted vs requested lengths, input then output
    server: str = ""  # the scrapes of the server's metrics, in one line; "" when none
    cancelled: str = ""  # answers the profile abandoned (report.phasefacts); "" when none
    connections: str = ""  # connect, tls, send, wait percentiles; "" when not measured
    connect_warning: str = ""  # connecting made up most of the TTFT tail


def token_sources(sources: Mapping[str, int]) -> str:
    return ", ".join(f"{k} ({v} requests)" for k, v in sources.items())


def lengths(metrics: Mapping[str, Any]) -> str:
    """The per-request token lengths a model-server benchmark is read by, when recorded."""
    parts: list[str] = []
    for name, label in (
        ("input_tokens", "input"),
        ("output_tokens", "output"),
        ("reasoning_tokens", "reasoning"),
    ):
        m = metrics.get(name) or {}
        if m.get("count") and (name != "output_tokens" or parts):
            parts.append(f"{label} p50 {m['p50']:.0f}, max {m['max']:.0f}")
    return "; ".join(parts) + " tokens per request" if parts else ""


def facts(data: Mapping[str, Any] | ResultDoc) -> Facts:
    doc = as_doc(data)
    verdict = judge(doc)
    run = doc["run"]
    health = doc.get("health")
    startup = health.get("startup") if health else None
    return Facts(
        verdict=verdict,
        informs_only=tuple(dict.fromkeys(c.why for c in verdict.checks if c.why)),
        token_sources=token_sources(doc["scopes"]["overall"].get("token_source") or {}),
        lengths=lengths(doc["scopes"]["overall"]["metrics"]),
        dropped=int((doc.get("load") or {}).get("dropped", 0)),
        startup=startup["plain"] if startup else None,
        warnings=tuple(w["plain"] for w in health.get("warnings") or []) if health else (),
        limited=bool(health and health.get("limited")),
        internal_errors=tuple(run.get("internal_errors") or []),
        interrupted=bool(run.get("interrupted")),
        truncated=bool(run.get("truncated")),
        stop_reason=str(run.get("stop_reason", "stopped")),
        input_tokens=input_tokens(doc["scopes"]["overall"]),
        calibration=calibration(doc["scopes"]["overall"]),
        server=server_fact(doc),
        cancelled=phasefacts.cancelled(doc["scopes"]["overall"]),
        connections=phasefacts.connections(doc["scopes"]["overall"]),
        connect_warning=phasefacts.connect_warning(doc["scopes"]["overall"]),
    )


def input_tokens(overall: Mapping[str, Any]) -> str:
    """The run's input tokens, their rate and who counted them (mixed sources named)."""
    total = int(overall.get("input_tokens") or 0)
    if not total:
        return ""
    sources = token_sources(overall.get("input_token_source") or {})
    rate = float(overall.get("input_tps") or 0.0)
    return f"{total:,} ({rate:,.0f} tokens/s)" + (f", counted by {sources}" if sources else "")


def calibration(overall: Mapping[str, Any]) -> tuple[str, ...]:
    """ "input: server counts +3 tokens per request over the requested 512 (+3 each, 40
    requests; …)", for the lengths both asked for and counted by the server."""
    out = []
    both = overall.get("requested_vs_server") or {}
    for side in ("input", "output"):
        c = both.get(side) or {}
        n = int(c.get("requests") or 0)
        if not n:
            continue
        low, high = int(c["min"]), int(c["max"])
        spread = f"{low:+d} each" if low == high else f"{low:+d} to {high:+d}"
        why = "; a chat template adds tokens" if side == "input" and c["mean"] > 0 else ""
        out.append(
            f"{side}: server counts {_signed(c['mean'])} tokens per request over the requested "
            f"{_signed(c['requested'] / n, sign=False)} ({spread}, {n:,} requests{why})"
        )
    return tuple(out)


def _signed(v: float, *, sign: bool = True) -> str:
    text = f"{v:+.1f}" if sign else f"{v:.1f}"
    return text.removesuffix(".0")
