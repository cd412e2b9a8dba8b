"""Number formatting shared by every report, so a value reads the same in HTML, text and tests.

Tests parse the rendered text back and compare it with the result JSON to the precision these
functions keep (``precision``), which is why formatting lives in one place.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["count", "ms", "pct", "precision", "rate", "seconds"]


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def ms(value: Any) -> str:
    """Milliseconds: 3 significant figures below 100 ms, whole ms above (``1,623``)."""
    v = _finite(value)
    if v is None:
        return "–"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def rate(value: Any) -> str:
    """Per-second rates and tokens/s: one decimal below 1,000, whole numbers above."""
    v = _finite(value)
    if v is None:
        return "–"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.1f}"


def count(value: Any) -> str:
    v = _finite(value)
    return "–" if v is None else f"{round(v):,d}"


def pct(value: Any) -> str:
    """A fraction as a percentage with two decimals (``0.0123`` → ``1.23%``)."""
    v = _finite(value)
    return "–" if v is None else f"{v * 100:.2f}%"


def seconds(value: Any) -> str:
    """A duration: ``6.7 s``, ``12 min 5 s``, ``1 h 0 min``."""
    v = _finite(value)
    if v is None:
        return "–"
    if v < 60:
        return f"{v:.1f} s"
    minutes, secs = divmod(round(v), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def precision(text: str) -> float:
    """Half a unit of the last digit shown: how far a parsed cell may be from the true value."""
    digits = text.rstrip("%").replace(",", "")
    decimals = len(digits.split(".", 1)[1]) if "." in digits else 0
    return 0.5 * 10.0**-decimals
