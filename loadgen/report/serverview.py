"""The server's side of the report: scraped series on the client's time axis (issue 22).

From ``result["server"]`` and each interval's ``server`` window: the queue (running and
waiting requests), KV-cache usage and prefix-cache hits, tokens per second, and the server's
TTFT beside the client's, with their difference per interval — the time the client waited
that the server did not count (network, gateway, TLS, the client itself). Also the one line
the console and the HTML facts say about the scrapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadgen.report import charts

__all__ = [
    "break_note",
    "server_fact",
    "server_view",
    "state_text",
    "step_state",
    "ttft_gap",
    "window_value",
]

C = charts.COLORS


def window_value(window: Mapping[str, Any], key: str, stat: str = "mean") -> float | None:
    """One series' value in a window, whatever its kind: a gauge's ``stat`` (last, mean,
    max), a counter's rate, a ratio, or a histogram's ``stat`` when it is a percentile."""
    gauge = (window.get("gauges") or {}).get(key)
    if gauge is not None:
        return float(gauge[stat if stat in gauge else "mean"])
    for section in ("rates", "ratios"):
        value = (window.get(section) or {}).get(key)
        if value is not None:
            return float(value)
    hist = (window.get("histograms") or {}).get(key) or {}
    value = hist.get(stat if stat.startswith("p") else "p50")
    return None if value is None else float(value)


def ttft_gap(interval: Mapping[str, Any]) -> float | None:
    """Client TTFT p50 minus server TTFT p50 in one interval (ms); None unless both exist."""
    client = (interval.get("ttft") or {}).get("p50")
    server = window_value(interval.get("server") or {}, "ttft", "p50")
    return None if client is None or server is None else round(float(client) - server, 3)


def step_state(
    intervals: Sequence[Mapping[str, Any]], step: Mapping[str, Any]
) -> dict[str, float] | None:
    """The server during a breakpoint step's judged window (after its warm-up): the mean of
    running and waiting requests and KV-cache usage, and their highest scrape."""
    start = float(step.get("start", 0.0)) + float(step.get("warmup", 0.0) or 0.0)
    end = float(step.get("end", start))
    gauges = [
        iv["server"]["gauges"]
        for iv in intervals
        if start <= float(iv.get("t", 0.0)) < end and (iv.get("server") or {}).get("gauges")
    ]
    out: dict[str, float] = {}
    for key in ("running", "waiting", "kv_cache"):
        seen = [g[key] for g in gauges if key in g]
        if seen:
            out[key] = sum(float(g["mean"]) for g in seen) / len(seen)
            out[f"{key}_max"] = max(float(g["max"]) for g in seen)
    return out or None


def state_text(state: Mapping[str, float] | None) -> str:
    """A step's server state in a table cell: "waiting 3.2 (max 5), KV cache 100 %"."""
    if not state:
        return "–"
    parts = [
        f"{key} {state[key]:.1f} (max {state[f'{key}_max']:g})"
        for key in ("waiting", "running")
        if key in state
    ]
    if "kv_cache" in state:
        parts.append(f"KV cache {state['kv_cache_max'] * 100:.0f} %")
    return ", ".join(parts)


def break_note(steps: Sequence[Mapping[str, Any]], intervals: Sequence[Mapping[str, Any]]) -> str:
    """Why the first broken step broke, seen from the server: "waiting requests 0 → 38, KV
    cache 97 %" (mean waiting in the last good step, then in the broken one; the broken
    step's highest KV-cache usage); "" without a broken step or server series."""
    ordered = sorted(steps, key=lambda s: float(s.get("level", 0.0)))
    broken = next((s for s in ordered if s.get("verdict") == "broken"), None)
    after = step_state(intervals, broken) if broken is not None else None
    if broken is None or after is None:
        return ""
    good = [s for s in ordered if s.get("verdict") == "ok" and s["level"] < broken["level"]]
    before = step_state(intervals, good[-1]) if good else None
    parts = []
    if "waiting" in after:
        was = f"{before['waiting']:.0f} → " if before and "waiting" in before else ""
        parts.append(f"waiting requests {was}{after['waiting']:.0f}")
    if "kv_cache" in after:
        parts.append(f"KV cache {after['kv_cache_max'] * 100:.0f} %")
    return ", ".join(parts)


def server_fact(data: Mapping[str, Any]) -> str:
    """What the scrapes were, in one line (console and HTML); "" when nothing was scraped."""
    server = data.get("server")
    if not server:
        return ""
    text = f"{server['preset']}, {server['scrapes']} scrapes, {server['failures']} failed"
    if server["failures"] and server.get("errors"):
        text += f" (last: {server['errors'][-1]})"
    run = server.get("run") or {}
    notes = []
    waiting = (run.get("gauges") or {}).get("waiting")
    if waiting is not None:
        notes.append(f"waiting requests max {waiting['max']:g}")
    kv = (run.get("gauges") or {}).get("kv_cache")
    if kv is not None:
        notes.append(f"KV cache max {kv['max'] * 100:.0f} %")
    ttft = (run.get("histograms") or {}).get("ttft") or {}
    if "p50" in ttft:
        notes.append(f"server TTFT p50 {ttft['p50']:.0f} ms")
    return text + ("; " + ", ".join(notes) if notes else "")


def _points(intervals: Sequence[Mapping[str, Any]], value: Any) -> list[tuple[float, float | None]]:
    out = []
    for iv in intervals:
        x = float(iv.get("t", 0.0)) + float(iv.get("length") or 0.0) / 2
        out.append((x, value(iv)))
    return out


def _series(
    intervals: Sequence[Mapping[str, Any]], key: str, stat: str = "mean", scale: float = 1.0
) -> list[tuple[float, float | None]]:
    def get(iv: Mapping[str, Any]) -> float | None:
        v = window_value(iv.get("server") or {}, key, stat)
        return None if v is None else v * scale

    return _points(intervals, get)


def _specs(
    found: set[str], intervals: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str, list[charts.Line]]]:
    s = _series
    specs: list[tuple[str, str, list[charts.Line]]] = []
    queue = [
        charts.Line(label, s(intervals, key), color)
        for key, label, color in (
            ("running", "running", C["blue"]),
            ("waiting", "waiting", C["red"]),
        )
        if key in found
    ]
    if queue:
        specs.append(("Server: requests running and waiting (mean of scrapes)", "requests", queue))
    cache = [
        charts.Line(label, s(intervals, key, "mean", 100.0), color)
        for key, label, color in (
            ("kv_cache", "KV-cache usage", C["purple"]),
            ("prefix_hit", "prefix-cache hit rate", C["teal"]),
        )
        if key in found
    ]
    if cache:
        specs.append(("Server: KV cache", "%", cache))
    if "ttft" in found:
        specs.append(
            (
                "TTFT p50: client, server and the difference",
                "ms",
                [
                    charts.Line(
                        "client p50",
                        _points(intervals, lambda iv: (iv.get("ttft") or {}).get("p50")),
                        C["blue"],
                    ),
                    charts.Line("server p50", s(intervals, "ttft", "p50"), C["orange"]),
                    charts.Line(
                        "client − server", _points(intervals, ttft_gap), C["gray"], dashed=True
                    ),
                ],
            )
        )
    tokens = [
        charts.Line(label, s(intervals, key), color)
        for key, label, color in (
            ("prompt_tps", "prompt tokens/s", C["amber"]),
            ("generation_tps", "generation tokens/s", C["green"]),
        )
        if key in found
    ]
    if tokens:
        specs.append(("Server: tokens per second", "tokens/s", tokens))
    return specs


def _rows(data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Whole-run values: (series, metric name, value)."""
    server = data["server"]
    run = server.get("run") or {}
    rows = []
    for key, info in server["series"].items():
        value = window_value(run, key, "p50" if info["kind"] == "histogram" else "mean")
        if value is None:
            continue
        if key in ("kv_cache", "prefix_hit"):
            text = f"{value * 100:.1f} %"
        elif info["kind"] == "histogram":
            hist = run["histograms"][key]
            p50, p95 = hist.get("p50", 0.0), hist.get("p95", 0.0)
            text = f"p50 {p50:.0f} ms, p95 {p95:.0f} ms ({hist['count']:.0f} requests)"
        elif info["kind"] == "gauge":
            text = f"mean {value:.2f}, max {run['gauges'][key]['max']:g}"
        else:
            text = f"{value:.2f}"
        rows.append((info["label"], info["metric"], text))
    return rows


def _found(windows: Sequence[Mapping[str, Any]]) -> set[str]:
    """The series keys the windows hold (a rebuilt journal has windows but no section)."""
    sections = ("gauges", "rates", "ratios", "histograms")
    return {key for w in windows for part in sections for key in w.get(part) or {}}


def _gap(intervals: Sequence[Mapping[str, Any]]) -> str:
    gaps = sorted(g for g in map(ttft_gap, intervals) if g is not None)
    return f"median {gaps[len(gaps) // 2]:.1f} ms over {len(gaps)} intervals" if gaps else ""


def _section(data: Mapping[str, Any]) -> dict[str, Any]:
    """What only the whole-run section tells (a rebuilt journal has none)."""
    server = data.get("server")
    if not server:
        return {"urls": [], "rows": [], "missing": [], "errors": []}
    return {
        "urls": list(server["urls"]),
        "rows": _rows(data),
        "missing": list(server.get("missing") or []),
        "errors": list(server.get("errors") or []),
    }


def server_view(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The template's ``server`` section, or None when the run scraped nothing."""
    server = data.get("server")
    intervals = data.get("intervals") or []
    windows = [iv["server"] for iv in intervals if iv.get("server")]
    if not server and not windows:
        return None
    duration = float(data["run"].get("duration") or 1.0)
    found = set(server["series"]) if server else _found(windows)
    scrapes = sum(int(w.get("scrapes", 0)) for w in windows)
    failures = sum(int(w.get("failures", 0)) for w in windows)
    return {
        "fact": server_fact(data) or f"{scrapes} scrapes, {failures} failed (from the journal)",
        "charts": [
            charts.time_chart(lines, title=title, y_label=unit, duration=duration, height=200)
            for title, unit, lines in _specs(found, intervals)
        ],
        "gap": _gap(intervals),
        **_section(data),
    }
