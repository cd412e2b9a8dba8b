"""The ISL and OSL charts: how many requests had each input and output length (issue 20.3).

A model-server benchmark is read by its sequence lengths (GuideLLM's prompt and output
token distributions, AIPerf's ISL and OSL): these bar charts draw the overall
``input_tokens`` and ``output_tokens`` histograms of the result, binned to at most
``MAX_BINS`` bars of a round width, in the style of ``loadgen.report.charts``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from loadgen.core.hist import ValueHistogram
from loadgen.report import charts, fmt
from loadgen.report.charts import _FONT, _axes, _c, _layout, _num, _y_ticks

__all__ = ["MAX_BINS", "bins", "histogram_chart", "length_charts"]

MAX_BINS = 40
Bin = tuple[float, float, int]  # [low, high) in tokens, requests


def bins(values: Sequence[tuple[float, int]], most: int = MAX_BINS) -> list[Bin]:
    """(value, count) pairs grouped into at most ``most`` bins of a 1, 2, 5 × 10^k width."""
    if not values:
        return []
    lo, hi = values[0][0], values[-1][0]
    raw = (hi - lo + 1) / most
    mag = 10.0 ** math.floor(math.log10(raw)) if raw > 1 else 1.0
    width = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw) if raw > 1 else 1.0
    out: dict[float, int] = {}
    for v, n in values:
        start = math.floor(v / width) * width
        out[start] = out.get(start, 0) + n
    return [(start, start + width, n) for start, n in sorted(out.items())]


def histogram_chart(
    data: Sequence[Bin],
    *,
    title: str,
    x_label: str,
    color: str,
    width: int = 570,
    height: int = 240,
) -> str:
    """Bars of requests by value; a bin one token wide is centred on its value."""
    step = data[0][1] - data[0][0] if data else 1.0
    shift = step / 2 if step == 1.0 else 0.0
    x0 = (data[0][0] if data else 0.0) - shift
    x1 = (data[-1][1] if data else 1.0) - shift
    pad = max(0.0, (10 * step - (x1 - x0)) / 2)  # a narrow spread still gets a readable axis
    x_range = (max(0.0, x0 - pad), x1 + pad)
    y_hi = float(max((n for _, _, n in data), default=0))
    y_ticks = _count_ticks(y_hi)
    frame, _ = _layout([], title, width, height, None, x_range, y_ticks, y_hi)
    x_ticks = [t for t in charts.nice_ticks(*x_range, target=6) if t == round(t)]
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart" role="img" aria-label="{escape(title)}" style="{_FONT}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{_c(frame.left)}" y="20" class="ct" font-size="13.5" font-weight="600" '
        f'fill="#111827">{escape(title)}</text>',
        *_axes(frame, y_ticks, x_ticks, _num, x_label, "requests"),
        f'<path d="M{_c(frame.left)} {_c(frame.top)}V{_c(frame.bottom)}H{_c(frame.right)}" '
        'fill="none" stroke="#9ca3af"/>',
        f'<g fill="{color}" fill-opacity=".85">',
    ]
    for low, high, n in data:
        a, b = frame.x(low - shift), frame.x(high - shift)
        top = frame.y(n)
        label = f"{low:g}" if step == 1.0 else f"{low:g}–{high - 1:g}"
        svg.append(
            f'<rect x="{_c(a + 0.5)}" y="{_c(top)}" width="{_c(max(b - a - 1, 1.5))}" '
            f'height="{_c(frame.bottom - top)}"><title>{escape(label)} tokens: '
            f"{n} requests</title></rect>"
        )
    if not data:
        svg.append(
            f'<text x="{_c((frame.left + frame.right) / 2)}" '
            f'y="{_c((frame.top + frame.bottom) / 2)}" text-anchor="middle" font-size="13" '
            'fill="#6b7280">no data</text>'
        )
    svg.append("</g></svg>")
    return "".join(svg)


def _count_ticks(y_hi: float) -> list[float]:
    """Round ticks from 0 over ``y_hi`` that are whole requests (2.5 requests is no count)."""
    ticks = _y_ticks(y_hi)
    if all(t == int(t) for t in ticks):
        return ticks
    step = float(max(1, math.ceil(ticks[1] - ticks[0])))
    return [step * i for i in range(math.ceil(y_hi / step) + 1)]


def length_charts(data: dict[str, Any]) -> list[str]:
    """ISL and OSL bar charts of the overall scope; none when no input tokens were recorded."""
    metrics = data["scopes"]["overall"]["metrics"]
    if not (metrics.get("input_tokens") or {}).get("count"):
        return []
    out = []
    for name, title, color in (
        ("input_tokens", "Input sequence length (ISL)", charts.COLORS["blue"]),
        ("output_tokens", "Output sequence length (OSL)", charts.COLORS["purple"]),
    ):
        m = metrics.get(name) or {}
        if not m.get("count") or not m.get("hdr"):
            continue
        hist = ValueHistogram.decode(m["hdr"], scale=int(m.get("scale", 1)))
        out.append(
            histogram_chart(
                bins(hist.counts()),
                title=f"{title}, n={fmt.count(m['count'])}",
                x_label="tokens per request",
                color=color,
            )
        )
    return out
