"""The interactive charts' data: one point per interval record, the same for the live page
and the report's data island.

The live page is pushed ``point(record)`` each second; the report (and ``loadgen ui``) embeds
``columns(intervals)``, the same points as columns, so a chart in the archived file shows
exactly what it showed live. Values keep four significant digits: a one-hour run's 3,600
points stay a few hundred kilobytes of JSON. Percentiles are each interval's own (never
averaged); the charts draw one point per interval, so a hover reads that interval.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from loadgen.report.namecharts import (
    MAX_NAMES,
    NAME_CHARTS,
    extra_point,
    name_point,
    num,
    top_names,
)
from loadgen.report.serverview import window_value

__all__ = [
    "CHARTS",
    "SERVER_CHARTS",
    "charts",
    "columns",
    "event_label",
    "events",
    "island",
    "limit_lines",
    "page_data",
    "point",
]

_PCTS = ("p50", "p95", "p99")
_LATENCY = (("ttft", "TTFT"), ("itl", "ITL"), ("e2e", "E2E"))
_PCT_COLORS = ("#93c5fd", "#2563eb", "#1e3a8a")
ERROR_PREFIX = "err."  # err.<kind>: the errors of that kind per second


def _chart(
    cid: str, title: str, unit: str, series: Sequence[tuple[str, str, str]]
) -> dict[str, Any]:
    return {
        "id": cid,
        "title": title,
        "unit": unit,
        "series": [{"key": k, "label": label, "color": c} for k, label, c in series],
    }


CHARTS: list[dict[str, Any]] = [
    _chart(
        "level",
        "Users / arrival rate: planned and actual",
        "",
        [("planned", "planned", "#9ca3af"), ("users", "active", "#2563eb")],
    ),
    _chart(
        "throughput",
        "Requests per second",
        "req/s",
        [("rps", "completed", "#2563eb"), ("errors", "errors", "#dc2626")],
    ),
    # the series of "errors" are added as kinds appear (keys err.<kind>)
    _chart("errors", "Errors by kind", "1/s", []),
    *[
        _chart(
            m,
            f"{title} percentiles",
            "ms",
            [(f"{m}.{p}", p, c) for p, c in zip(_PCTS, _PCT_COLORS, strict=True)],
        )
        for m, title in _LATENCY
    ],
    _chart(
        "tokens",
        "Tokens per second",
        "tok/s",
        [("output_tps", "output", "#0d9488"), ("input_tps", "input", "#7c3aed")],
    ),
    _chart(
        "health",
        "Generator health",
        "",
        [
            ("cpu", "CPU % of a core", "#7c3aed"),
            ("loop_lag.p99", "loop lag p99 ms", "#d97706"),
            ("schedule_lag.p99", "schedule lag p99 ms", "#ea580c"),
        ],
    ),
]


#: The scraped server's series (``target.metrics``, issue 22), on the live page and in
#: ``loadgen ui``: the report draws them in its own "Server metrics" section instead.
SERVER_CHARTS: list[dict[str, Any]] = [
    _chart(
        "server_queue",
        "Server: requests running and waiting",
        "",
        [("srv.running", "running", "#2563eb"), ("srv.waiting", "waiting", "#dc2626")],
    ),
    _chart("server_kv", "Server: KV-cache usage", "%", [("srv.kv_cache", "KV cache", "#7c3aed")]),
    _chart(
        "server_ttft",
        "TTFT p50: client and server",
        "ms",
        [("ttft.p50", "client", "#2563eb"), ("srv.ttft.p50", "server", "#ea580c")],
    ),
]


def charts(*, server: bool, names: bool = True) -> list[dict[str, Any]]:
    """The page's charts: each request name's when the run recorded them, the server's
    when the run scrapes one."""
    return [*CHARTS, *(NAME_CHARTS if names else []), *(SERVER_CHARTS if server else [])]


def _server_point(window: Mapping[str, Any]) -> dict[str, float | None]:
    """An interval's server window (scraped gauges are averaged over the interval's
    scrapes; the TTFT p50 comes from the server's own histogram buckets)."""
    kv = window_value(window, "kv_cache")
    return {
        "srv.running": num(window_value(window, "running")),
        "srv.waiting": num(window_value(window, "waiting")),
        "srv.kv_cache": num(None if kv is None else 100.0 * kv),
        "srv.ttft.p50": num(window_value(window, "ttft", "p50")),
    }


def point(
    record: Mapping[str, Any],
    names: Sequence[str] | None = None,
    want: Collection[str] = (),
) -> dict[str, float | None]:
    """One interval record as the charts' point: t is the interval's end (s into the run).

    ``names``: the request names drawn (``loadgen.report.namecharts``; None: the first
    ``MAX_NAMES`` in order); ``want``: the keys the limit lines need (``limit_lines``), read
    from the interval's histograms when its summaries lack them (``ttft.p99.9``)."""
    length = float(record.get("length") or 0.0)
    per_s = 1.0 / length if length > 0 else 0.0
    planned = record.get("planned") or {}
    out: dict[str, float | None] = {
        "t": num(float(record["t"]) + length),
        "users": num(record.get("users")),
        "planned": num(next(iter(planned.values()), None)),
        "rps": num(record.get("rps")),
        "errors": num(int(record.get("errors", 0)) * per_s),
        "output_tps": num(record.get("output_tps")),
        "input_tps": num(record.get("input_tps")),  # None in results before issue 20.3
        "dropped": num(record.get("dropped")),
        "cpu": num(100.0 * float(record["cpu"]) if "cpu" in record else None),
    }
    if record.get("server"):
        out.update(_server_point(record["server"]))
    for kind, n in sorted((record.get("errors_by_kind") or {}).items()):
        out[ERROR_PREFIX + kind] = num(int(n) * per_s)
    for metric in ("ttft", "itl", "e2e", "loop_lag", "schedule_lag"):
        brief = record.get(metric) or {}
        for p in _PCTS:
            out[f"{metric}.{p}"] = num(brief.get(p)) if brief.get("count") else None
    by_name = record.get("by_name") or {}
    out.update(name_point(record, sorted(by_name)[:MAX_NAMES] if names is None else names))
    out.update(extra_point(record, [k for k in want if k not in out]))
    return out


def columns(
    intervals: Sequence[Mapping[str, Any]], want: Collection[str] = ()
) -> dict[str, list[float | None]]:
    """Points as columns (every key present in every column, None where a point lacks it):
    the run's busiest request names, and the keys ``want`` (``point``)."""
    names = top_names(intervals)
    points = [point(r, names, want) for r in intervals]
    keys = sorted({k for p in points for k in p})
    return {k: [p.get(k) for p in points] for k in keys}


def events(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the charts mark on the time axis: steering by hand, stage boundaries."""
    marks = [
        {"t": e["t"], "label": event_label(e), "kind": "control"} for e in data.get("control", [])
    ]
    for step in data.get("plan", [])[1:]:
        marks.append({"t": step["at"], "label": step.get("name") or "stage", "kind": "stage"})
    return marks


def event_label(e: Mapping[str, Any]) -> str:
    if e["action"] == "hold":
        unit = "/s" if e["unit"] == "rate" else " users"
        return f"hold {e['value']:g}{unit}"
    return str(e["action"])


_STAT = re.compile(r"p\d+(\.\d+)?")


def limit_lines(limits: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Thresholds and SLOs on a percentile of TTFT, ITL or E2E (``ttft.p95 < 400ms``, any
    percentile; ``ttft{name=chat}.p99.9``: on that name's series) as horizontal lines on
    the chart of that series: each interval's point can be read against the limit (the
    check itself is on the whole run, not on any one second)."""
    out = []
    for t in limits:
        metric, stat, scope = t.get("metric"), str(t.get("stat")), t.get("scope") or {}
        if metric not in ("ttft", "itl", "e2e") or not _STAT.fullmatch(stat):
            continue
        if t.get("unit") != "ms":
            continue
        if not scope:
            chart, key = str(metric), f"{metric}.{stat}"
        elif list(scope) == ["name"] and metric != "itl":
            chart, key = f"name_{metric}", f"n.{metric}.{stat}|{scope['name']}"
        else:  # a class's or a category's series are not drawn
            continue
        out.append(
            {"chart": chart, "key": key, "value": float(t["limit"]), "label": str(t["expr"])}
        )
    return out


def page_data(data: Mapping[str, Any], *, server: bool = False) -> dict[str, Any]:
    """Everything a page needs to draw a finished run (the report; ``loadgen ui`` with
    ``server``, which adds the scraped server's charts when the run has them)."""
    intervals = data.get("intervals", [])
    limits = limit_lines([*data.get("slo", []), *data.get("thresholds", [])])
    return {
        "name": data["profile"]["name"],
        "unit": (data.get("load", {}).get("model") in ("open", "replay") and "rate") or "users",
        "charts": charts(
            server=server and bool(data.get("server")),
            names=any(r.get("by_name") for r in intervals),
        ),
        "columns": columns(intervals, [line["key"] for line in limits]),
        "events": events(data),
        "limits": limits,
    }


def island(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>`` can end it,
    whatever a server or profile wrote into a name."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
