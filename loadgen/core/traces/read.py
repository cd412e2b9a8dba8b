"""Read a trace file one row at a time: never loaded whole, whatever its size.

A JSONL trace is read line by line, a CSV trace record by record (``csv.reader`` over the
open file); each row becomes a ``TraceRequest`` or, when it is malformed, a ``Problem``
naming its file, line and field, so the replay can skip it and say so. What makes the
whole file unusable (it is missing, a CSV header lacks a named column) raises
``TraceError`` when the rows are first asked for.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadgen.core.errors import Problem
from loadgen.core.traces.model import Columns, TraceError, TraceRequest

__all__ = ["Row", "read_trace"]

Row = TraceRequest | Problem
_FIELDS = ("timestamp", "input_tokens", "prompt", "output_tokens", "session", "model", "hash_ids")


def read_trace(path: Path, columns: Columns) -> Iterator[Row]:
    """The rows of ``path`` in file order (a trace is sorted by time: see docs/replay.md)."""
    if not path.is_file():
        raise TraceError(
            Problem(str(path), None, "trace", "not found", "give the path of a trace file")
        )
    if columns.kind == "csv":
        return _csv_rows(path, columns)
    return _jsonl_rows(path, columns)


def _jsonl_rows(path: Path, columns: Columns) -> Iterator[Row]:
    with path.open("r", encoding="utf-8", errors="replace") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Problem(str(path), number, "", f"not JSON ({exc.msg})", "one object a line")
                continue
            except ValueError:
                yield Problem(str(path), number, "", "not JSON", "one object a line")
                continue
            if not isinstance(obj, dict):
                yield Problem(str(path), number, "", "not a JSON object", "one object a line")
                continue
            row = _row(obj, columns, str(path), number)
            if row is not None:
                yield row


def _csv_rows(path: Path, columns: Columns) -> Iterator[Row]:
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None:
            raise TraceError(Problem(str(path), 1, "", "empty file", "the first line is a header"))
        header = [h.strip() for h in header]
        _check_header(header, columns, str(path))
        for record in reader:
            if not record or not any(record):
                continue
            obj = dict(zip(header, record, strict=False))
            row = _row(obj, columns, str(path), reader.line_num)
            if row is not None:
                yield row


def _check_header(header: list[str], columns: Columns, name: str) -> None:
    """Every column the user or the format names must be in the header."""
    for key in _FIELDS:
        column = getattr(columns, key)
        if column is not None and key in columns.required and column not in header:
            raise TraceError(
                Problem(
                    name,
                    1,
                    f"columns.{key}",
                    f"no column {column!r} (the header has: {', '.join(header[:12])})",
                    f"name the column that holds {key.replace('_', ' ')}: columns: {{{key}: NAME}}",
                )
            )
    if columns.input_tokens not in header and columns.prompt not in header:
        raise TraceError(
            Problem(
                name,
                1,
                "columns.input_tokens",
                f"neither {columns.input_tokens!r} nor {columns.prompt!r} is a column",
                "name the column of input tokens or of prompt text: "
                "columns: {input_tokens: NAME} or {prompt: NAME}",
            )
        )


def _row(obj: Mapping[str, Any], columns: Columns, name: str, line: int) -> Row | None:
    """The row's request, a problem, or None for a row the format says to leave out (a
    BurstGPT request that failed: 0 response tokens)."""
    try:
        at = _timestamp(obj, columns)
        prompt = _text(obj, columns.prompt)
        input_tokens = _count(obj, columns.input_tokens, "input_tokens", columns)
        if input_tokens is None and prompt is None:
            what = " or ".join(repr(c) for c in (columns.input_tokens, columns.prompt) if c)
            raise _Bad("input_tokens", f"no {what}", "give each row its input tokens or prompt")
        output = _count(obj, columns.output_tokens, "output_tokens", columns)
        hashes = _hashes(obj, columns.hash_ids)
    except _Bad as bad:
        return Problem(name, line, f"columns.{bad.field}", bad.what, bad.fix)
    if output == 0 and columns.skip_zero_output:
        return None
    return TraceRequest(
        line=line,
        at=at,
        input_tokens=input_tokens,
        output_tokens=output,
        prompt=prompt,
        session=_text(obj, columns.session),
        model=_text(obj, columns.model),
        hash_ids=hashes,
    )


class _Bad(Exception):
    def __init__(self, field: str, what: str, fix: str) -> None:
        self.field, self.what, self.fix = field, what, fix


def _timestamp(obj: Mapping[str, Any], columns: Columns) -> float:
    raw = obj.get(columns.timestamp)
    fix = f"a number of {columns.time_unit} or an ISO date-time (2024-05-10 14:00:00.123)"
    if raw is None or raw == "":
        has = ", ".join(list(obj)[:12])
        fix = "name the field that holds the time: columns: {timestamp: NAME}"
        raise _Bad("timestamp", f"no {columns.timestamp!r} (the row has: {has})", fix)
    value = _number(raw)
    if value is None:
        try:
            when = datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise _Bad("timestamp", f"{raw!r} is not a time", fix) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.timestamp()
    return value / 1000.0 if columns.time_unit == "ms" else value


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        try:
            value = float(str(raw).strip())
        except ValueError:
            return None
    return value if math.isfinite(value) else None


def _count(obj: Mapping[str, Any], column: str | None, key: str, columns: Columns) -> int | None:
    if column is None:
        return None
    raw = obj.get(column)
    if raw is None or raw == "":
        if key in columns.required:
            has = ", ".join(list(obj)[:12])
            raise _Bad(
                key,
                f"no {column!r} (the row has: {has})",
                f"name the field that holds {key.replace('_', ' ')}: columns: {{{key}: NAME}}",
            )
        return None
    value = _number(raw)
    if value is None or value < 0 or value != int(value):
        raise _Bad(key, f"{raw!r} is not a whole number of tokens", "write a count such as 512")
    return int(value)


def _text(obj: Mapping[str, Any], column: str | None) -> str | None:
    if column is None:
        return None
    raw = obj.get(column)
    if raw is None or raw == "":
        return None
    return (
        raw if isinstance(raw, str) else json.dumps(raw) if not isinstance(raw, int) else str(raw)
    )


def _hashes(obj: Mapping[str, Any], column: str | None) -> tuple[int, ...]:
    if column is None:
        return ()
    raw = obj.get(column)
    if isinstance(raw, str):  # a CSV cell: "[1, 2, 3]"
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, list) or not all(type(h) is int for h in raw):
        raise _Bad("hash_ids", f"{column!r} is not a list of integers", "write [12, 13, 14]")
    return tuple(raw)
