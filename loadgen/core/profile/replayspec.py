"""Validation of ``load: {model: replay}`` (issue 21): the trace is there, its format is
known, the columns it names are in the file, and its first rows read.

Only the first rows are read here (``_CHECKED``), so validating a profile that names a
multi-gigabyte trace reads a few kilobytes of it; a malformed row further on is skipped
during the run and counted (docs/replay.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from loadgen.core import units
from loadgen.core.errors import Problem
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.model import Load, ReplaySpec, UserClass
from loadgen.core.profile.source import Path_
from loadgen.core.traces import COLUMN_KEYS, FORMATS, TraceError, columns_for, read_trace

__all__ = ["KEYS", "ratio", "replay", "replay_fits"]

KEYS = (
    "model",
    "trace",
    "format",
    "columns",
    "time_unit",
    "time_scale",
    "start",
    "duration",
    "max_gap",
    "max_in_flight",
    "sessions",
    "block_tokens",
    "graceful_stop",
)
_CHECKED = 20  # rows read at validation
_EXAMPLE = "write load: {model: replay, trace: trace.jsonl, format: mooncake}"


def replay(check: Checker, ld: Mapping[str, Any], path: Path_) -> Load:
    """The replay load; problems for what is wrong, with the file, line and field."""
    for key in ld:
        if key not in KEYS:
            check.bad((*path, key), f"{key} does not apply to the replay model", _fix(key))
    graceful = check.unit(
        ld.get("graceful_stop"), (*path, "graceful_stop"), units.parse_duration, 10.0
    )
    max_in_flight = check.typed(ld.get("max_in_flight"), (*path, "max_in_flight"), int, 1000)
    if max_in_flight <= 0:
        check.bad((*path, "max_in_flight"), "must be > 0", "write max_in_flight: 1000")
    spec = _spec(check, ld, path)
    return Load(model="replay", graceful_stop=graceful, max_in_flight=max_in_flight, replay=spec)


def _fix(key: str) -> str:
    if key in ("stages", "rate", "users", "ramp_up"):
        return "the trace's timestamps are the plan: drop it (time_scale speeds it up)"
    return f"valid keys: {', '.join(KEYS)}"


def _spec(check: Checker, ld: Mapping[str, Any], path: Path_) -> ReplaySpec | None:
    ref = check.typed(ld.get("trace"), (*path, "trace"), str, None, _EXAMPLE)
    if ref is None:
        if "trace" not in ld:
            check.bad(path, "the replay model needs a trace file", _EXAMPLE)
        return None
    fmt = check.typed(ld.get("format"), (*path, "format"), str, None)
    if fmt is None:
        fmt = "csv" if ref.lower().endswith(".csv") else "jsonl"
    if fmt not in FORMATS:
        check.bad((*path, "format"), f"unknown trace format {fmt!r}", f"use {', '.join(FORMATS)}")
        return None
    unit = check.one_of(
        ld.get("time_unit", "ms" if fmt == "mooncake" else "s"),
        (*path, "time_unit"),
        ("s", "ms"),
        "time unit",
        "use s or ms (the unit of a numeric timestamp; ISO date-times need none)",
    )
    columns = columns_for(fmt, _columns(check, ld.get("columns"), (*path, "columns")), unit)  # type: ignore[arg-type]
    spec = ReplaySpec(
        trace=check.base_dir / ref,
        format=fmt,
        columns=columns,
        time_scale=check.positive(
            ratio(ld.get("time_scale", 1.0)), (*path, "time_scale"), 1.0, "time_scale"
        ),
        start=check.unit(ld.get("start"), (*path, "start"), units.parse_duration, 0.0),
        duration=_optional_duration(check, ld, path, "duration"),
        max_gap=_optional_duration(check, ld, path, "max_gap"),
        sessions=check.one_of(
            ld.get("sessions"),
            (*path, "sessions"),
            ("timestamps", "after_previous"),
            "sessions mode",
            "use timestamps (each turn at its own time) or after_previous",
        ),  # type: ignore[arg-type]
        block_tokens=_block_tokens(check, ld.get("block_tokens"), (*path, "block_tokens")),
    )
    if check.missing_file(ref, (*path, "trace")):
        return None
    _read_head(check, spec, path)
    return spec


def ratio(value: Any) -> Any:
    """``1/60`` written as a fraction is its value (an hour of trace in a minute)."""
    if isinstance(value, str) and "/" in value:
        top, _, bottom = value.partition("/")
        try:
            return float(Fraction(top.strip()) / Fraction(bottom.strip()))
        except (ValueError, ZeroDivisionError):
            return value
    return value


def _columns(check: Checker, value: Any, path: Path_) -> dict[str, str]:
    mapping = check.mapping(value, path, COLUMN_KEYS)
    out = {}
    for key, column in mapping.items():
        name = check.typed(column, (*path, key), str, None, f"write {key}: the column's name")
        if name is not None:
            out[key] = name
    return out


def _optional_duration(
    check: Checker, ld: Mapping[str, Any], path: Path_, key: str
) -> float | None:
    if ld.get(key) is None:
        return None
    value = check.unit(ld[key], (*path, key), units.parse_duration, 0.0)
    if value <= 0:
        check.bad((*path, key), "must be > 0", f"write {key}: 10m")
        return None
    return value


def _block_tokens(check: Checker, value: Any, path: Path_) -> int:
    number: int = check.typed(value, path, int, 512, "write block_tokens: 512")
    if number < 1:
        check.bad(path, "must be at least 1", "write block_tokens: 512 (Mooncake's block)")
        return 512
    return number


def _read_head(check: Checker, spec: ReplaySpec, path: Path_) -> None:
    """Read the first rows: a missing column or a malformed row fails here, with its line."""
    try:
        rows = list(itertools.islice(read_trace(spec.trace, spec.columns), _CHECKED))
    except TraceError as exc:
        _bad(check, path, exc.problem)
        return
    except OSError as exc:
        check.bad((*path, "trace"), f"cannot read {spec.trace}: {exc.strerror}", "check the file")
        return
    problems = [row for row in rows if isinstance(row, Problem)]
    fields: set[str] = set()
    for found in problems:  # one problem per field: a missing column is missing in every row
        if found.field not in fields and len(fields) < 3:
            fields.add(found.field)
            _bad(check, path, found)
    if not rows:
        check.bad((*path, "trace"), f"{spec.trace} has no rows", "give a trace with requests")


def _bad(check: Checker, path: Path_, problem: Problem) -> None:
    where = f"{problem.file}:{problem.line}" if problem.line else problem.file
    field = f"{problem.field}: " if problem.field else ""
    check.bad(path, f"{where}: {field}{problem.what}", problem.fix)


def replay_fits(
    check: Checker, users: tuple[UserClass, ...], load: Load, *, breakpoint: bool
) -> None:
    """A replay sends every row through the profile's one chat task, and searches nothing."""
    if load.model != "replay":
        return
    if breakpoint:
        check.bad(
            ("breakpoint",),
            "a breakpoint search makes its own load; a replay follows the trace",
            "drop breakpoint:, or use model: open",
        )
    chats = [t for cls in users for t in cls.every_task() if t.chat is not None]
    if len(chats) != 1:
        check.bad(
            ("users",),
            f"the replay model sends every trace row as one chat request; found {len(chats)} "
            "chat tasks",
            "give one user class with one chat task (its api, model and path are used)",
        )
