"""Question pools and multi-turn conversations from a YAML data file.

Shape::

    questions:
      simple: ["What are your opening hours?", ...]
      common: [...]
      complex: [...]
    conversations:
      - ["I want to book a table", "For four people", "Tomorrow at 8"]
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from loadgen.core.errors import Problem, ProfileError
from loadgen.core.profile.model import DataPools
from loadgen.core.profile.source import load_source

__all__ = ["DEFAULT_QUESTIONS", "default_pools", "load_pools", "load_rows"]

MAX_POOL_BYTES = 16 << 20  # hundreds of thousands of questions; PyYAML reads ~1 MiB/s
DEFAULT_QUESTIONS = Path(__file__).resolve().parents[2] / "data" / "questions.yaml"


@cache
def default_pools() -> DataPools:
    """The pools shipped with loadgen, used when a profile names no data file."""
    pools, problems = load_pools(DEFAULT_QUESTIONS)
    if problems:  # pragma: no cover - the shipped file is tested
        raise ProfileError(problems)
    return pools


def load_pools(path: Path) -> tuple[DataPools, list[Problem]]:
    try:
        source = load_source(path, env={}, max_bytes=MAX_POOL_BYTES)
    except ProfileError as exc:
        return DataPools(source=str(path)), exc.problems
    data: Any = source.data
    lines = source.lines
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return DataPools(source=str(path)), [
            lines.problem(
                (), "expected a mapping with questions:", "see docs/profiles.md for the data file"
            )
        ]
    for key in data:
        if key not in ("questions", "conversations"):
            problems.append(
                lines.problem((str(key),), "unknown key", "use questions or conversations")
            )
    questions: dict[str, tuple[str, ...]] = {}
    raw_q = data.get("questions") or {}
    if not isinstance(raw_q, dict):
        problems.append(
            lines.problem(
                ("questions",),
                "expected categories mapping to lists",
                "write questions: {simple: [...], complex: [...]}",
            )
        )
        raw_q = {}
    for category, items in raw_q.items():
        p = ("questions", str(category))
        if not isinstance(items, list) or not items or not all(isinstance(q, str) for q in items):
            problems.append(lines.problem(p, "expected a non-empty list of question strings"))
            continue
        questions[str(category)] = tuple(items)
    conversations: list[tuple[str, ...]] = []
    raw_c = data.get("conversations") or []
    if not isinstance(raw_c, list):
        problems.append(lines.problem(("conversations",), "expected a list of conversations"))
        raw_c = []
    for i, conv in enumerate(raw_c):
        if not isinstance(conv, list) or not conv or not all(isinstance(t, str) for t in conv):
            problems.append(
                lines.problem(
                    ("conversations", i), "expected a non-empty list of user turns (strings)"
                )
            )
            continue
        conversations.append(tuple(conv))
    return DataPools(
        questions=questions, conversations=tuple(conversations), source=str(path)
    ), problems


def load_rows(path: Path) -> tuple[tuple[dict[str, str], ...], str]:
    """Rows of a CSV file with a header (per-VU data: credentials, tenants, …), or a problem."""
    import csv

    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = tuple(dict(row) for row in csv.DictReader(f))
    except FileNotFoundError:
        return (), f"{path}: file not found"
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return (), f"{path}: cannot read: {exc}"
    if not rows:
        return (), f"{path}: no data rows"
    return rows, ""
