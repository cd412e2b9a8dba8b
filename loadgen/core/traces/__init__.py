"""Traces of real traffic, replayed from their timestamps (issue 21, ``load.model: replay``).

    rows = read_trace(Path("trace.jsonl"), columns_for("mooncake"))
    for due in schedule(rows, Window(time_scale=0.5)):  # a Due or a Problem (a bad row)
        ...

The file is read a row at a time; docs/replay.md is the reference.
"""

from __future__ import annotations

from loadgen.core.traces.blocks import BlockPrompts
from loadgen.core.traces.model import (
    COLUMN_KEYS,
    FORMATS,
    PRESETS,
    Columns,
    TraceError,
    TraceRequest,
    columns_for,
)
from loadgen.core.traces.read import Row, read_trace
from loadgen.core.traces.schedule import Due, Window, schedule

__all__ = [
    "COLUMN_KEYS",
    "FORMATS",
    "PRESETS",
    "BlockPrompts",
    "Columns",
    "Due",
    "Row",
    "TraceError",
    "TraceRequest",
    "Window",
    "columns_for",
    "read_trace",
    "schedule",
]
