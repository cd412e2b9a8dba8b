"""When each trace row is due: its timestamp, windowed, idle gaps capped, time scaled (pure).

A row's due time (seconds from the run's start) is ``(at − first − start − cut) ×
time_scale``: ``first`` is the trace's first timestamp, ``start`` the window's start (trace
seconds skipped), ``cut`` the idle time ``max_gap`` removed before it. ``time_scale`` 0.5
replays twice as fast; 1/60 replays an hour in a minute. Everything is in the trace's own
seconds except the result, which is in the run's.

Rows are taken in file order: a trace is sorted by time. A row earlier than the one before
is due in the past, so it is sent at once, late, and its lateness shows in its latency and
in ``schedule_lag`` (never hidden by re-timing it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from loadgen.core.errors import Problem
from loadgen.core.traces.model import TraceRequest

__all__ = ["Due", "Window", "schedule"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """Which part of the trace is replayed, and how fast (trace seconds, except the scale)."""

    time_scale: float = 1.0
    start: float = 0.0
    duration: float | None = None
    max_gap: float | None = None


@dataclass(frozen=True, slots=True)
class Due:
    """A row and when it is due, in seconds from the run's start."""

    offset: float
    request: TraceRequest


def schedule(rows: Iterable[TraceRequest | Problem], window: Window) -> Iterator[Due | Problem]:
    """The rows inside ``window`` with their due times; problems passed through in place."""
    first: float | None = None
    latest = 0.0  # the latest timestamp seen in the window (trace seconds)
    cut = 0.0  # idle time removed by max_gap so far
    for row in rows:
        if isinstance(row, Problem):
            yield row
            continue
        if first is None:
            first = row.at
            latest = first + window.start
        rel = row.at - first - window.start
        if rel < 0:
            continue
        if window.duration is not None and rel >= window.duration:
            return
        gap = row.at - latest
        if window.max_gap is not None and gap > window.max_gap:
            cut += gap - window.max_gap
        latest = max(latest, row.at)
        yield Due((rel - cut) * window.time_scale, row)
