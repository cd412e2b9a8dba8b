"""Field readers: a section that is a list of similar reads is written as a table of them.

A table maps each key to its reader, in the order the problems must come in (a section's
problems are reported in the order its fields are read); ``read`` runs it over a mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from loadgen.core import units
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.source import Path_

__all__ = ["Reader", "duration", "flag", "names", "read", "text"]

Reader = Callable[[Checker, Any, Path_], Any]


def read(
    check: Checker, value: Mapping[str, Any], path: Path_, table: Mapping[str, Reader]
) -> dict[str, Any]:
    """Every key of ``table`` read from ``value`` (absent keys give the reader's default)."""
    return {key: reader(check, value.get(key), (*path, key)) for key, reader in table.items()}


def text(default: str | None) -> Reader:
    """A string, ``default`` when absent."""
    return lambda check, value, path: check.typed(value, path, str, default)


def flag(default: bool) -> Reader:
    """True or false, ``default`` when absent."""
    return lambda check, value, path: check.typed(value, path, bool, default)


def duration(default: float) -> Reader:
    """A duration in seconds (``30s``, ``1m``), ``default`` when absent."""
    return lambda check, value, path: check.unit(value, path, units.parse_duration, default)


def names(check: Checker, value: Any, path: Path_) -> dict[str, str]:
    """A mapping of names to strings (headers, form fields)."""
    return check.str_map(value, path)
