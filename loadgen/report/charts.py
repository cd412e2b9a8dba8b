"""Charts as inline SVG strings: values in, markup out, no I/O and no JavaScript.

Hand-written SVG keeps the report one self-contained file that opens offline, prints
sharply at any size and adds no dependency; a charting library would have to be shipped
inside the package and run in the browser for a handful of line charts. Every chart has a
title, labelled axes with units, a legend, and optional dashed vertical marks (stage
boundaries) and shaded bands (times the generator, not the target, limited the test).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

__all__ = [
    "COLORS",
    "Band",
    "Line",
    "Mark",
    "line_chart",
    "nice_ticks",
    "percentile_chart",
    "time_chart",
]

COLORS = {
    "blue": "#2563eb",
    "lightblue": "#93c5fd",
    "navy": "#1e3a8a",
    "orange": "#ea580c",
    "purple": "#7c3aed",
    "teal": "#0d9488",
    "red": "#dc2626",
    "green": "#16a34a",
    "amber": "#d97706",
    "gray": "#6b7280",
}
_FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif"
_CHAR_W = 6.4  # average glyph width at 11.5 px, for laying out legends and labels


@dataclass(frozen=True)
class Line:
    """One series; ``None`` values leave a gap. ``markers`` colours each point's dot."""

    label: str
    points: Sequence[tuple[float, float | None]]
    color: str
    dashed: bool = False
    markers: Sequence[str] | None = None


@dataclass(frozen=True)
class Mark:
    """A dashed vertical line at ``x`` (a stage boundary), with an optional short label."""

    x: float
    label: str = ""


@dataclass(frozen=True)
class Band:
    """A shaded x range with a hover title."""

    start: float
    end: float
    title: str


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 × 10^k steps) covering ``lo..hi``."""
    if not math.isfinite(lo) or not math.isfinite(hi) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, target)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    return ticks


def _num(v: float) -> str:
    """A tick label: ``1,500``, ``2.5``, ``0.25``."""
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}" if v % 1000 else f"{v / 1000:g}k"
    return f"{v:.4g}"


def _c(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class _Frame:
    width: float
    height: float
    left: float
    top: float
    right: float
    bottom: float
    x0: float
    x1: float
    y0: float
    y1: float

    def x(self, v: float) -> float:
        span = self.x1 - self.x0 or 1.0
        return self.left + (v - self.x0) / span * (self.right - self.left)

    def y(self, v: float) -> float:
        span = self.y1 - self.y0 or 1.0
        return self.bottom - (v - self.y0) / span * (self.bottom - self.top)


def _legend(lines: Sequence[Line], right: float, y: float) -> tuple[list[str], float]:
    parts: list[str] = []
    x = right
    for line in reversed(lines):
        text_w = len(line.label) * _CHAR_W
        x -= text_w
        parts.append(f'<text x="{_c(x)}" y="{_c(y + 4)}">{escape(line.label)}</text>')
        x -= 22
        dash = ' stroke-dasharray="5 3"' if line.dashed else ""
        parts.append(
            f'<line x1="{_c(x)}" y1="{_c(y)}" x2="{_c(x + 17)}" y2="{_c(y)}" '
            f'stroke="{line.color}" stroke-width="2.5"{dash}/>'
        )
        x -= 16
    return parts, right - x


def _path(frame: _Frame, points: Sequence[tuple[float, float | None]]) -> str:
    out: list[str] = []
    pen_up = True
    for xv, yv in points:
        if yv is None or not math.isfinite(yv):
            pen_up = True
            continue
        out.append(f"{'M' if pen_up else 'L'}{_c(frame.x(xv))} {_c(frame.y(yv))}")
        pen_up = False
    return "".join(out)


def line_chart(
    lines: Sequence[Line],
    *,
    title: str,
    y_label: str,
    x_label: str,
    x_range: tuple[float, float],
    x_ticks: Sequence[float] | None = None,
    x_format: Callable[[float], str] = _num,
    marks: Sequence[Mark] = (),
    bands: Sequence[Band] = (),
    width: int = 1160,
    height: int = 210,
    dots: bool | None = None,
    left: float | None = None,
) -> str:
    """A line chart with y from 0; ``dots`` defaults to on for series of ≤ 60 points.

    Pass the same ``left`` margin to charts stacked on one x axis so their plots line up.
    """
    values = [v for ln in lines for _, v in ln.points if v is not None and math.isfinite(v)]
    y_hi = max(values, default=0.0)
    y_ticks = _y_ticks(y_hi)
    frame, legend_y = _layout(lines, title, width, height, left, x_range, y_ticks, y_hi)
    left = frame.left
    legend, _ = _legend(lines, frame.right, legend_y)
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart" role="img" aria-label="{escape(title)}" style="{_FONT}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{_c(left)}" y="20" class="ct" font-size="13.5" font-weight="600" '
        f'fill="#111827">{escape(title)}</text>',
        f'<g font-size="11.5" fill="#374151">{"".join(legend)}</g>',
    ]
    svg += [_band(frame, band) for band in bands]
    ticks = list(x_ticks) if x_ticks is not None else nice_ticks(*x_range, target=10)
    svg += _axes(frame, y_ticks, ticks, x_format, x_label, y_label)
    svg.append(_marks(frame, marks))
    svg.append(
        f'<path d="M{_c(left)} {_c(frame.top)}V{_c(frame.bottom)}H{_c(frame.right)}" '
        'fill="none" stroke="#9ca3af"/>'
    )
    if not values:
        svg.append(
            f'<text x="{_c((left + frame.right) / 2)}" y="{_c((frame.top + frame.bottom) / 2)}" '
            'text-anchor="middle" font-size="13" fill="#6b7280">no data</text>'
        )
    svg += [_series(frame, ln, dots) for ln in lines]
    svg.append("</svg>")
    return "".join(svg)


def _layout(
    lines: Sequence[Line],
    title: str,
    width: int,
    height: int,
    left: float | None,
    x_range: tuple[float, float],
    y_ticks: Sequence[float],
    y_hi: float,
) -> tuple[_Frame, float]:
    """The plot's frame and the legend's baseline: the legend shares the title's row when
    both fit, else it gets a row of its own and the plot starts lower. ``left`` defaults to
    room for the widest y tick label."""
    if left is None:
        left = 30 + max(len(_num(t)) for t in y_ticks) * _CHAR_W
    legend_w = sum(len(ln.label) * _CHAR_W + 38 for ln in lines)
    two_rows = len(title) * 7.6 + legend_w + 24 > width - left - 16
    top = 58.0 if two_rows else 38.0
    y_top = y_ticks[-1] if y_hi > 0 else 1.0
    frame = _Frame(
        width, height, left, top, width - 16.0, height - 42.0, x_range[0], x_range[1], 0.0, y_top
    )
    return frame, 40.0 if two_rows else 17.0


def _y_ticks(y_hi: float) -> list[float]:
    """Round ticks from 0 to a little over ``y_hi``; the last is at or above it."""
    y_ticks = nice_ticks(0.0, y_hi * 1.04 if y_hi > 0 else 1.0)
    if len(y_ticks) > 1 and y_ticks[-1] < y_hi:
        y_ticks.append(round(2 * y_ticks[-1] - y_ticks[-2], 10))
    return y_ticks


def _band(frame: _Frame, band: Band) -> str:
    x_a, x_b = frame.x(max(band.start, frame.x0)), frame.x(min(band.end, frame.x1))
    return (
        f'<rect x="{_c(x_a)}" y="{_c(frame.top)}" width="{_c(max(x_b - x_a, 2))}" '
        f'height="{_c(frame.bottom - frame.top)}" fill="#f59e0b" fill-opacity=".16">'
        f"<title>{escape(band.title)}</title></rect>"
    )


def _axes(
    frame: _Frame,
    y_ticks: Sequence[float],
    x_ticks: Sequence[float],
    x_format: Callable[[float], str],
    x_label: str,
    y_label: str,
) -> list[str]:
    """The grid and tick marks (one group), then the tick and axis labels (another)."""
    grid = ['<g stroke="#e5e7eb" stroke-width="1">']
    labels = ['<g font-size="11" fill="#4b5563">']
    for t in y_ticks:
        y = frame.y(t)
        grid.append(
            f'<line x1="{_c(frame.left)}" y1="{_c(y)}" x2="{_c(frame.right)}" y2="{_c(y)}"/>'
        )
        labels.append(
            f'<text x="{_c(frame.left - 6)}" y="{_c(y + 4)}" text-anchor="end">{_num(t)}</text>'
        )
    _x_ticks(frame, x_ticks, x_format, grid, labels)
    grid.append("</g>")
    labels.append(
        f'<text x="{_c((frame.left + frame.right) / 2)}" y="{frame.height - 6}" '
        f'text-anchor="middle" fill="#374151">{escape(x_label)}</text>'
    )
    mid_y = (frame.top + frame.bottom) / 2
    labels.append(
        f'<text transform="translate(13 {_c(mid_y)}) rotate(-90)" text-anchor="middle" '
        f'fill="#374151">{escape(y_label)}</text></g>'
    )
    return grid + labels


def _x_ticks(
    frame: _Frame,
    ticks: Sequence[float],
    x_format: Callable[[float], str],
    grid: list[str],
    labels: list[str],
) -> None:
    """Tick marks along the x axis; a label is left out where it would touch the previous
    one, and the last is right-aligned where it would be cut at the chart's edge."""
    last_right = -1e9
    for t in ticks:
        if not frame.x0 <= t <= frame.x1:
            continue
        x = frame.x(t)
        text = x_format(t)
        half = len(text) * _CHAR_W / 2
        grid.append(
            f'<line x1="{_c(x)}" y1="{_c(frame.bottom)}" x2="{_c(x)}" '
            f'y2="{_c(frame.bottom + 4)}" stroke="#9ca3af"/>'
        )
        anchor, start, end = "middle", x - half, x + half
        if end > frame.width - 2:
            anchor, start, end = "end", x - 2 * half, x
        if start > last_right + 14:
            labels.append(
                f'<text x="{_c(x)}" y="{_c(frame.bottom + 17)}" '
                f'text-anchor="{anchor}">{escape(text)}</text>'
            )
            last_right = end


def _marks(frame: _Frame, marks: Sequence[Mark]) -> str:
    out = ['<g stroke="#64748b" stroke-width="1.2" stroke-dasharray="5 4">']
    texts = ['<g font-size="10.5" fill="#475569">']
    row_ends = [-1e9, -1e9, -1e9]  # labels too close to the previous one go a row lower
    for mark in marks:
        if not frame.x0 < mark.x < frame.x1:
            continue
        x = frame.x(mark.x)
        out.append(
            f'<line x1="{_c(x)}" y1="{_c(frame.top)}" x2="{_c(x)}" y2="{_c(frame.bottom)}"/>'
        )
        w = len(mark.label) * 5.9
        if not mark.label or x + 3 + w > frame.right:
            continue
        row = next((i for i, end in enumerate(row_ends) if x + 3 > end + 4), None)
        if row is not None:
            texts.append(
                f'<text x="{_c(x + 3)}" y="{_c(frame.top + 11 + 12 * row)}">'
                f"{escape(mark.label)}</text>"
            )
            row_ends[row] = x + 3 + w
    return "".join([*out, "</g>", *texts, "</g>"])


def _series(frame: _Frame, ln: Line, dots: bool | None) -> str:
    d = _path(frame, ln.points)
    dash = ' stroke-dasharray="6 4"' if ln.dashed else ""
    out = [f"<g><title>{escape(ln.label)}</title>"]
    if d:
        out.append(
            f'<path d="{d}" fill="none" stroke="{ln.color}" stroke-width="2" '
            f'stroke-linejoin="round"{dash}/>'
        )
    real = [(x, y) for x, y in ln.points if y is not None and math.isfinite(y)]
    if ln.markers is not None or (dots if dots is not None else len(real) <= 60):
        colors = list(ln.markers) if ln.markers is not None else []
        for i, (x, y) in enumerate(ln.points):
            if y is None or not math.isfinite(y):
                continue
            color = colors[i] if i < len(colors) else ln.color
            out.append(
                f'<circle cx="{_c(frame.x(x))}" cy="{_c(frame.y(y))}" r="3" '
                f'fill="{color}" stroke="#fff" stroke-width="1"/>'
            )
    out.append("</g>")
    return "".join(out)


def time_label(seconds: float, span: float) -> str:
    """``30s`` for short runs, ``5m``/``1h30m``/``2:30`` for long ones."""
    if span <= 150:
        return f"{seconds:g}s"
    s = round(seconds)
    if s % 60:
        return f"{s // 60}:{s % 60:02d}"
    h, m = divmod(s // 60, 60)
    if h:
        return f"{h}h{m}m" if m else f"{h}h"
    return f"{m}m"


def time_ticks(span: float) -> list[float]:
    steps = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200)
    step = next((s for s in steps if span / s <= 12), 86400)
    return [i * step for i in range(int(span // step) + 1)]


def time_chart(
    lines: Sequence[Line],
    *,
    title: str,
    y_label: str,
    duration: float,
    marks: Sequence[Mark] = (),
    bands: Sequence[Band] = (),
    width: int = 1160,
    height: int = 210,
) -> str:
    """A chart over the run's time axis (0..duration seconds); every time chart shares it."""
    span = max(duration, 1.0)
    return line_chart(
        lines,
        title=title,
        y_label=y_label,
        x_label="time since start",
        x_range=(0.0, span),
        x_ticks=time_ticks(span),
        x_format=lambda s: time_label(s, span),
        marks=marks,
        bands=bands,
        width=width,
        height=height,
        left=76.0,
    )


_P_TICKS = (
    (0.0, "0%"),
    (50.0, "50%"),
    (90.0, "90%"),
    (99.0, "99%"),
    (99.9, "99.9%"),
    (99.99, "99.99%"),
    (99.999, "99.999%"),
    (99.9999, "99.9999%"),
)


def _p_x(p: float) -> float:
    return round(math.log10(100.0 / (100.0 - p)), 9)  # 99.9% → 3.0, not 3.0000000000000004


def percentile_chart(
    lines: Sequence[Line], *, title: str, y_label: str, width: int = 380, height: int = 270
) -> str:
    """HdrHistogram-style value-by-percentile curves: x is 1/(1−p) on a log scale.

    ``lines`` hold (percentile 0..<100, value) points.
    """
    curves = [
        Line(ln.label, [(_p_x(p), v) for p, v in ln.points if p < 100.0], ln.color, ln.dashed)
        for ln in lines
    ]
    x_hi = max((x for ln in curves for x, _ in ln.points), default=2.0)
    x_hi = max(2.0, math.ceil(x_hi - 1e-9))
    ticks = [(_p_x(p), label) for p, label in _P_TICKS if _p_x(p) <= x_hi + 1e-9]
    names = dict(ticks)
    return line_chart(
        curves,
        title=title,
        y_label=y_label,
        x_label="percentile",
        x_range=(0.0, x_hi),
        x_ticks=[x for x, _ in ticks],
        x_format=lambda x: names.get(x, ""),
        width=width,
        height=height,
        dots=False,
    )
