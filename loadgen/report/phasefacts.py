"""Facts about cancelled answers and connection phases, in plain words, from the result.

``report.facts`` holds them for the console and the HTML report: how many answers the
profile abandoned and when, where the time before the first byte went, and a warning when
opening connections made up most of the TTFT tail (a connect storm hides inside TTFT).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CONNECT_SHARE", "cancelled", "connect_warning", "connections"]

#: Connect p99 above this share of TTFT p99 is a warning: connecting, not the server's
#: answer, made the tail.
CONNECT_SHARE = 0.5


def _ms(v: Any) -> str:
    return f"{float(v):,.1f}"


def cancelled(overall: Mapping[str, Any]) -> str:
    """ "12 (not errors; time to cancel p50 210.0 ms, p99 380.2 ms; 20 content events
    p50)"; "" when none was cancelled."""
    n = int(overall.get("cancelled") or 0)
    if not n:
        return ""
    m = overall.get("metrics") or {}
    parts = ["not errors"]
    ttc = m.get("time_to_cancel") or {}
    if ttc.get("count"):
        parts.append(f"time to cancel p50 {_ms(ttc['p50'])} ms, p99 {_ms(ttc['p99'])} ms")
    tokens = m.get("cancel_tokens") or {}
    if tokens.get("count"):
        parts.append(f"{tokens['p50']:.0f} content events received (p50)")
    if int(tokens.get("count") or 0) < n:
        parts.append(f"{n - int(tokens.get('count') or 0)} before any content")
    return f"{n:,} ({'; '.join(parts)})"


def connections(overall: Mapping[str, Any]) -> str:
    """ "connect p50 0.0 ms, p99 31.2 ms; tls ...; send ...; wait ..." over the requests
    whose phases were measured; "" when none were."""
    m = overall.get("metrics") or {}
    parts = []
    for name in ("connect", "tls", "send", "wait"):
        s = m.get(name) or {}
        if s.get("count"):
            parts.append(f"{name} p50 {_ms(s['p50'])} ms, p99 {_ms(s['p99'])} ms")
    return "; ".join(parts)


def connect_warning(overall: Mapping[str, Any]) -> str:
    """A warning when connect p99 is over ``CONNECT_SHARE`` of TTFT p99; "" otherwise."""
    m = overall.get("metrics") or {}
    connect, ttft = m.get("connect") or {}, m.get("ttft") or {}
    if not connect.get("count") or not ttft.get("count") or not ttft.get("p99"):
        return ""
    share = float(connect["p99"]) / float(ttft["p99"])
    if share <= CONNECT_SHARE:
        return ""
    return (
        f"connecting made up most of the TTFT tail: connect p99 {_ms(connect['p99'])} ms is "
        f"{share:.0%} of ttft p99 {_ms(ttft['p99'])} ms — new connections waited (SYN "
        "retries, a full listen backlog, TLS), not the server's answer; ramp users up "
        "more slowly or raise the server's backlog"
    )
