"""Parse the units profiles and flags are written in: durations, rates, percentages, sizes.

One module so every part of loadgen agrees on what ``30s`` or ``20/s`` means. Each parser
takes a string (or a bare number) and returns a plain float in base units (seconds,
per second, fraction, bytes), or raises ``ValueError`` with a message that says what a
valid value looks like; callers add the file, line and field.

Every parser refuses nan and infinity (a duration of ``inf`` is a run that never ends, a rate
of ``nan`` schedules nothing), and a duration is at most a year: past that a typo such as
``1e300s`` would overflow the event loop's timers.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "MAX_DURATION",
    "format_duration",
    "parse_duration",
    "parse_percent",
    "parse_rate",
    "parse_size",
]

MAX_DURATION = 366 * 86400.0  # a year: longer is a typo, and timers overflow long before inf

_DURATION_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(us|µs|ms|s|m|h)")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h|sec|min|hour)?\s*$")
_RATE_UNITS = {
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "ki": 1024,
    "kib": 1024,
    "m": 10**6,
    "mb": 10**6,
    "mi": 2**20,
    "mib": 2**20,
    "g": 10**9,
    "gb": 10**9,
    "gi": 2**30,
    "gib": 2**30,
}

DURATION_HINT = "write a duration such as 500ms, 30s, 5m, 1h or 1m30s"
RATE_HINT = "write a rate such as 20/s, 600/m or 5/100ms"


def parse_duration(value: str | int | float) -> float:
    """Return seconds. A bare number is seconds; strings join parts: ``1m30s``, ``250ms``."""
    if isinstance(value, bool):
        raise ValueError(f"{_shown(value)} is not a duration; {DURATION_HINT}")
    if isinstance(value, int | float):
        return _duration_in_range(value, value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return parse_duration(number)
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or pos != len(text):
        raise ValueError(f"{_shown(value)} is not a duration; {DURATION_HINT}")
    return _duration_in_range(total, value)


def _duration_in_range(seconds: float, written: object) -> float:
    if not _finite(seconds):
        raise ValueError(f"{_shown(written)} is not a finite duration; {DURATION_HINT}")
    if seconds < 0:
        raise ValueError(f"{_shown(written)} is negative; {DURATION_HINT}")
    if seconds > MAX_DURATION:
        raise ValueError(f"{_shown(written)} is longer than a year; {DURATION_HINT}")
    return float(seconds)


def _shown(value: object) -> str:
    """The value as written, cut to a readable length (a hostile one can be megabytes)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _finite(number: float) -> bool:
    """False for nan and ±inf, and for an int too large to be a float."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def format_duration(seconds: float) -> str:
    """Short human form: ``250ms``, ``12.5s``, ``3m20s``, ``1h5m``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m" if minutes else f"{hours}h"


def parse_rate(value: str | int | float) -> float:
    """Return events per second. A bare number is per second: ``20``, ``20/s``, ``600/m``."""
    if isinstance(value, bool):
        raise ValueError(f"{_shown(value)} is not a rate; {RATE_HINT}")
    if isinstance(value, int | float):
        if not _finite(value):
            raise ValueError(f"{_shown(value)} is not a finite rate; {RATE_HINT}")
        if value < 0:
            raise ValueError(f"{_shown(value)} is negative; {RATE_HINT}")
        return float(value)
    text = str(value)
    try:
        return parse_rate(float(text))
    except ValueError:
        pass
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"{_shown(value)} is not a rate; {RATE_HINT}")
    count = float(match.group(1))
    per = float(match.group(2) or 1) * _RATE_UNITS[match.group(3) or "s"]
    if per <= 0:
        raise ValueError(f"{_shown(value)} divides by zero; {RATE_HINT}")
    if not _finite(count / per):
        raise ValueError(f"{_shown(value)} is not a finite rate; {RATE_HINT}")
    return count / per


def parse_percent(value: str | int | float) -> float:
    """Return a fraction: ``5%`` → 0.05; a bare number ≤ 1 is already a fraction."""
    if isinstance(value, bool):
        raise ValueError(f"{_shown(value)} is not a percentage; write 5% or 0.05")
    if isinstance(value, int | float):
        if not _finite(value):
            raise ValueError(f"{_shown(value)} is not a percentage; write 5% or 0.05")
        fraction = float(value)
    else:
        text = str(value).strip()
        try:
            fraction = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise ValueError(f"{_shown(value)} is not a percentage; write 5% or 0.05") from None
    if not 0 <= fraction <= 1:
        raise ValueError(f"{_shown(value)} is outside 0–100 %; write 5% or 0.05")
    return fraction


def parse_size(value: str | int | float) -> int:
    """Return bytes: ``4KB`` (1000s), ``4KiB`` (1024s), ``2MB``, or a bare byte count."""
    if isinstance(value, bool):
        raise ValueError(f"{_shown(value)} is not a size; write 4KB, 400KiB or 2MB")
    if isinstance(value, int | float):
        if not _finite(value):
            raise ValueError(f"{_shown(value)} is not a finite size; write 4KB, 400KiB or 2MB")
        if value < 0:
            raise ValueError(f"{_shown(value)} is negative; write 4KB, 400KiB or 2MB")
        return int(value)
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"{_shown(value)} is not a size; write 4KB, 400KiB or 2MB")
    unit = (match.group(2) or "").lower()
    size = float(match.group(1)) * _SIZE_UNITS[unit]
    if not _finite(size):
        raise ValueError(f"{_shown(value)} is not a finite size; write 4KB, 400KiB or 2MB")
    return int(size)
