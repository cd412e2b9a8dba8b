"""The HTML report's charts, computed from the result alone: over time and by percentile.

``loadgen.report.view`` puts them in the template context; ``charts`` draws the SVG.
"""

from __future__ import annotations

import math
from typing import Any

from loadgen.core.hist import Histogram
from loadgen.report import charts, fmt
from loadgen.report.livedata import event_label
from loadgen.report.series import TimeSeries, time_series

__all__ = ["percentile_charts", "percentile_points", "plan_end", "time_charts"]

C = charts.COLORS


def plan_end(data: dict[str, Any]) -> float | None:
    """When the stage plan ends (a graceful stop may follow); None for a breakpoint search."""
    steps = data.get("plan") or []
    if data.get("breakpoint") or not steps:
        return None
    return max(float(s["until"]) for s in steps)


def _marks(data: dict[str, Any]) -> list[charts.Mark]:
    unit = "/s" if (data.get("load") or {}).get("model") == "open" else ""
    out = []
    for step in (data.get("plan") or [])[1:]:
        start, end = float(step["start"]), float(step["end"])
        label = step.get("name") or (f"hold {end:g}{unit}" if start == end else f"→ {end:g}{unit}")
        out.append(charts.Mark(float(step["at"]), label))
    for event in data.get("control") or []:  # changes made from the live page (--ui)
        out.append(charts.Mark(float(event["t"]), f"live page: {event_label(event)}"))
    stop = plan_end(data)
    if stop is not None and float(data["run"].get("duration") or 0.0) > stop + 0.5:
        out.append(charts.Mark(stop, "graceful stop"))
    return out


def time_charts(data: dict[str, Any], max_points: int) -> tuple[list[str], float]:
    """The charts over time (load, throughput, TTFT, E2E, tokens/s) and their step (s)."""
    ts = time_series(data.get("intervals") or [], max_points, plan_end(data))
    duration = float(data["run"].get("duration") or (ts.t[-1] if ts.t else 1.0))
    marks, bands = _marks(data), _bands(data)
    svgs = [
        charts.time_chart(
            lines,
            title=title,
            y_label=unit,
            duration=duration,
            marks=marks,
            bands=bands,
            height=200,
        )
        for title, unit, lines in _time_specs(data, ts)
    ]
    return svgs, ts.step


def _bands(data: dict[str, Any]) -> list[charts.Band]:
    """The generator-limited ranges, shaded on every chart."""
    return [
        charts.Band(
            float(w.get("t", 0)),
            float(w.get("until", w.get("t", 0)) or 0),
            str(w.get("plain") or w.get("what") or ""),
        )
        for w in (data.get("health") or {}).get("warnings") or []
    ]


def _load_chart(data: dict[str, Any], ts: TimeSeries) -> tuple[str, str, list[charts.Line]]:
    """Planned against sent arrivals (open model; replay: the trace's rows due) or
    against active users (closed)."""
    p = ts.points
    model = (data.get("load") or {}).get("model")
    if model in ("open", "replay"):
        sent = any(v is not None for v in ts.values["sent"])
        planned = "the trace's arrivals/s" if model == "replay" else "planned arrival rate"
        return (
            "Arrival rate",
            "requests/s",
            [
                charts.Line(planned, p("planned"), C["gray"], dashed=True),
                charts.Line("sent arrivals/s", p("sent"), C["blue"])
                if sent  # older results recorded completions only
                else charts.Line("completed req/s", p("rps"), C["blue"]),
            ],
        )
    return (
        "Active users",
        "users",
        [
            charts.Line("planned users", p("planned"), C["gray"], dashed=True),
            charts.Line("active users", p("users"), C["blue"]),
        ],
    )


def _time_specs(data: dict[str, Any], ts: TimeSeries) -> list[tuple[str, str, list[charts.Line]]]:
    p = ts.points
    throughput = [
        charts.Line("requests/s", p("rps"), C["blue"]),
        charts.Line("errors/s", p("errors"), C["red"]),
    ]
    if any(ts.values["dropped"]):
        throughput.append(charts.Line("dropped/s", p("dropped"), C["amber"]))
    return [
        _load_chart(data, ts),
        ("Throughput", "requests/s", throughput),
        (
            "Time to first token",
            "ms",
            [
                charts.Line("p50", p("ttft_p50"), C["lightblue"]),
                charts.Line("p95", p("ttft_p95"), C["blue"]),
                charts.Line("p99", p("ttft_p99"), C["navy"]),
            ],
        ),
        (
            "End-to-end latency",
            "ms",
            [
                charts.Line("p50", p("e2e_p50"), C["teal"], dashed=True),
                charts.Line("p95", p("e2e_p95"), C["teal"]),
            ],
        ),
        (
            "Output tokens per second",
            "tokens/s",
            [charts.Line("tokens/s", p("output_tps"), C["purple"])],
        ),
        *_input_tps(ts),
    ]


def _input_tps(ts: TimeSeries) -> list[tuple[str, str, list[charts.Line]]]:
    """Input tokens per second, when the run recorded any (a model-server benchmark)."""
    if not any(ts.values["input_tps"]):
        return []
    line = charts.Line("input tokens/s", ts.points("input_tps"), C["blue"])
    return [("Input tokens per second", "tokens/s", [line])]


def percentile_points(hdr: str, count: int) -> list[tuple[float, float | None]]:
    """(percentile, ms) pairs at 10 points per decade of 1/(1−p), as far as ``count`` reaches."""
    if not count:
        return []
    decades = max(1.0, math.log10(count))
    ps = sorted({100.0 * (1 - 10 ** (-i / 10)) for i in range(int(decades * 10) + 1)})
    ps.append(100.0 * (1 - 1 / count))  # the hdr rule's rank of the last value: the max
    got = Histogram.decode(hdr).percentiles_ms(ps)
    return [(p, got[p]) for p in ps]


def percentile_charts(data: dict[str, Any]) -> list[str]:
    out = []
    metrics = data["scopes"]["overall"]["metrics"]
    for name, title, color in (
        ("ttft", "TTFT by percentile", C["blue"]),
        ("itl", "ITL by percentile", C["orange"]),
        ("e2e", "E2E by percentile", C["teal"]),
    ):
        m = metrics.get(name) or {}
        points = percentile_points(m["hdr"], int(m.get("count", 0))) if m.get("hdr") else []
        label = f"{name} (n={fmt.count(m.get('count', 0))})"
        out.append(
            charts.percentile_chart([charts.Line(label, points, color)], title=title, y_label="ms")
        )
    return out
