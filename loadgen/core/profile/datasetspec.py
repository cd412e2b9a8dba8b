"""Validation of a chat's ``dataset:`` (issue #20 item 4): the file is there, its format is
known, and its first entries have the fields the profile names.

Opening a dataset indexes it; here the pass stops after ``_CHECKED`` entries, so validating
a profile that names a 1 GB file reads a few kilobytes of it. An entry further on that is
malformed is found when a VU draws it (docs/datasets.md says what happens then).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadgen.core.datasets import FORMATS, MODES, Dataset, DatasetError, Fields, guess_format
from loadgen.core.errors import Problem
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.model import DatasetSpec
from loadgen.core.profile.source import Path_

__all__ = ["dataset"]

_KEYS = (
    "path",
    "format",
    "prompt",
    "output",
    "sample",
    "seed",
    "min_input_tokens",
    "max_input_tokens",
    "skip",
    "max_rows",
)
_CHECKED = 20  # entries read at validation


def dataset(check: Checker, value: Any, path: Path_) -> DatasetSpec | None:
    """The dataset spec, or None (and problems) when it cannot be used."""
    if isinstance(value, str):
        value = {"path": value}
    d = check.mapping(value, path, _KEYS)
    if not d:
        check.bad(path, "needs a path", "write dataset: {path: prompts.jsonl}")
        return None
    ref = check.typed(d.get("path"), (*path, "path"), str, None, "write path: prompts.jsonl")
    fmt = check.typed(d.get("format"), (*path, "format"), str, None)
    if fmt is not None and fmt not in FORMATS:
        check.bad((*path, "format"), f"unknown format {fmt!r}", f"use {', '.join(FORMATS)}")
        return None
    if ref is None:
        if "path" not in d:
            check.bad(path, "needs a path", "write dataset: {path: prompts.jsonl}")
        return None
    fmt = fmt or guess_format(ref)
    if fmt is None:
        check.bad(
            (*path, "format"),
            f"cannot tell the format of {ref!r} from its extension",
            f"add format: one of {', '.join(FORMATS)}",
        )
        return None
    if check.missing_file(ref, (*path, "path")):
        return None
    spec = DatasetSpec(
        path=check.base_dir / ref,
        format=fmt,
        prompt=_name(check, d, path, "prompt"),
        output=_name(check, d, path, "output"),
        sample=check.one_of(
            d.get("sample", "shuffle"),
            (*path, "sample"),
            ("shuffle", *(m for m in MODES if m != "shuffle")),
            "sample mode",
            f"use {', '.join(MODES)}",
        ),
        seed=check.typed(d.get("seed"), (*path, "seed"), int, None),
        min_input_tokens=_count(check, d, path, "min_input_tokens", 1),
        max_input_tokens=_count(check, d, path, "max_input_tokens", 1),
        skip=_count(check, d, path, "skip", 0) or 0,
        max_rows=_count(check, d, path, "max_rows", 1),
    )
    low, high = spec.min_input_tokens, spec.max_input_tokens
    if low is not None and high is not None and low > high:
        check.bad((*path, "min_input_tokens"), f"{low} > max_input_tokens {high}", "swap them")
    _read_head(check, spec, path)
    return spec


def _name(check: Checker, d: Mapping[str, Any], path: Path_, key: str) -> str | None:
    fix = f"write {key}: the name of the field (a JSON key or a CSV column)"
    name: str | None = check.typed(d.get(key), (*path, key), str, None, fix)
    return name


def _count(check: Checker, d: Mapping[str, Any], path: Path_, key: str, low: int) -> int | None:
    number: int | None = check.typed(d.get(key), (*path, key), int, None, f"write {key}: 100")
    if number is not None and number < low:
        check.bad((*path, key), f"must be at least {low}", f"write {key}: 100")
        return None
    return number


def _read_head(check: Checker, spec: DatasetSpec, path: Path_) -> None:
    """Open the file (indexing stops after the first entries) and read them: a CSV without
    the named column, a JSONL row without the prompt field, bad JSON fail here."""
    limit = spec.skip + _CHECKED
    try:
        with Dataset(
            spec.path,
            format=spec.format,
            fields=Fields(prompt=spec.prompt, output=spec.output),
            skip=spec.skip,
            max_rows=limit,
        ) as data:
            for name in (spec.prompt, spec.output):
                if spec.format == "csv" and name and name not in data.header:
                    check.bad(
                        (*path, "prompt" if name == spec.prompt else "output"),
                        f"{data.name} has no column {name!r} (its columns: "
                        f"{', '.join(data.header[:10])})",
                        "name one of its columns, or add the column to the file",
                    )
                    return
            problems = data.check(_CHECKED)
    except DatasetError as exc:
        _bad(check, path, exc.problem)
        return
    for found in problems[:3]:
        _bad(check, path, found.problem)


def _bad(check: Checker, path: Path_, problem: Problem) -> None:
    where = f"{problem.file}:{problem.line}" if problem.line else problem.file
    field = f"{problem.field}: " if problem.field else ""
    check.bad(path, f"{where}: {field}{problem.what}", problem.fix)
