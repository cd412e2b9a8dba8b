"""The breakpoint section: one row per load step, a verdict line and two charts by load level."""

from __future__ import annotations

from typing import Any

from loadgen.report import charts, fmt
from loadgen.report.serverview import break_note, state_text, step_state

__all__ = ["STEP_COLUMNS", "breakpoint_view"]

C = charts.COLORS
VERDICT_COLORS = {"ok": C["green"], "broken": C["red"], "generator-limited": C["amber"]}
STEP_COLUMNS = (
    "level",
    "window",
    "req/s",
    "goodput/s",
    "TTFT p50",
    "TTFT p95",
    "TTFT p99",
    "E2E p95",
    "ITL p99",
    "error %",
    "verdict",
    "broken by",
)


def _level(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    return f"{float(value):g} {unit}"


def _row(step: dict[str, Any], unit: str) -> dict[str, Any]:
    ttft = step.get("ttft") or {}
    return {
        "cells": [
            _level(step.get("level"), unit),
            f"{float(step.get('start', 0)):.0f}–{float(step.get('end', 0)):.0f} s",
            fmt.rate(step.get("rps")),
            fmt.rate(step.get("goodput")),
            fmt.ms(ttft.get("p50")),
            fmt.ms(ttft.get("p95")),
            fmt.ms(ttft.get("p99")),
            fmt.ms(step.get("e2e_p95")),
            fmt.ms(step.get("itl_p99")),
            fmt.pct(step.get("error_rate")),
            str(step.get("verdict", "")),
            "; ".join(step.get("broken_by") or []),
        ],
        "verdict": str(step.get("verdict", "")),
    }


def _summary(bp: dict[str, Any], unit: str) -> str:
    parts = []
    if bp.get("first_broken") is not None:
        why = "; ".join(bp.get("broken_by") or [])
        parts.append(
            f"breakpoint: broke at {_level(bp['first_broken'], unit)}"
            + (f" ({why})" if why else "")
        )
    else:
        parts.append("breakpoint: no step broke")
    if bp.get("highest_ok") is not None:
        parts.append(f"highest good level {_level(bp['highest_ok'], unit)}")
    if bp.get("knee") is not None:
        parts.append(f"knee of the ttft curve at {_level(bp['knee'], unit)}")
    return ", ".join(parts)


def breakpoint_view(
    bp: dict[str, Any] | None, intervals: list[dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """Rows, a summary sentence and charts; None when the result has no breakpoint search.
    With scraped server series in ``intervals``, each step also shows the server's queue
    and KV cache, and the summary says how they changed where the search broke."""
    if not bp or not bp.get("steps"):
        return None
    unit = "req/s" if bp.get("unit") == "rate" else "users"
    steps = sorted(bp["steps"], key=lambda s: float(s.get("level", 0)))
    rows = [_row(s, unit) for s in steps]
    states = [step_state(intervals or [], s) for s in steps]
    columns: tuple[str, ...] = STEP_COLUMNS
    summary = _summary(bp, unit)
    if any(states):
        columns += ("server",)
        for row, state in zip(rows, states, strict=True):
            row["cells"].append(state_text(state))
        note = break_note(steps, intervals or [])
        summary += f"; server: {note}" if note else ""
    return {
        "unit": unit,
        "summary": summary,
        "columns": columns,
        "rows": rows,
        "charts": _charts(bp, steps, unit),
    }


def _charts(bp: dict[str, Any], steps: list[dict[str, Any]], unit: str) -> list[str]:
    """Throughput and latency by load level (``steps`` in level order), each step's dot
    coloured by its verdict, the search's findings marked on both."""
    levels = [float(s.get("level", 0)) for s in steps]
    colors = [VERDICT_COLORS.get(str(s.get("verdict")), C["gray"]) for s in steps]

    def pts(get: Any) -> list[tuple[float, float | None]]:
        return [
            (lv, None if get(s) is None else float(get(s)))
            for lv, s in zip(levels, steps, strict=True)
        ]

    lo, hi = min(levels), max(levels)
    pad = (hi - lo) * 0.04 or 1.0
    axis: dict[str, Any] = {
        "x_label": f"load level ({unit})",
        "x_range": (max(0.0, lo - pad), hi + pad),
        "marks": _marks(bp),
        "width": 570,
        "height": 250,
    }
    throughput = charts.line_chart(
        [
            charts.Line("req/s", pts(lambda s: s.get("rps")), C["blue"]),
            charts.Line("goodput/s", pts(lambda s: s.get("goodput")), C["green"], markers=colors),
        ],
        title="Throughput by load level",
        y_label="requests/s",
        **axis,
    )
    latency = charts.line_chart(
        [
            charts.Line(
                "TTFT p95",
                pts(lambda s: (s.get("ttft") or {}).get("p95")),
                C["blue"],
                markers=colors,
            ),
            charts.Line("E2E p95", pts(lambda s: s.get("e2e_p95")), C["teal"], dashed=True),
        ],
        title="Latency by load level",
        y_label="ms",
        **axis,
    )
    return [throughput, latency]


def _marks(bp: dict[str, Any]) -> list[charts.Mark]:
    """The levels the search found, where it found them."""
    return [
        charts.Mark(float(bp[key]), label)
        for key, label in (
            ("highest_ok", "highest ok"),
            ("first_broken", "broke"),
            ("knee", "knee"),
        )
        if bp.get(key) is not None
    ]
