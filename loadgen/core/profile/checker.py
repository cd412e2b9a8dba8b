"""The validator's primitives: every problem recorded with its path, never raised early."""

from __future__ import annotations

import contextlib
import difflib
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from loadgen.core.errors import Problem
from loadgen.core.profile.source import Lines, Path_

__all__ = ["Checker", "kind_of"]

T = TypeVar("T")


class Checker:
    """Collects ``Problem``s as it reads values (k6's ``Validate() []error``)."""

    def __init__(self, lines: Lines, base_dir: Path) -> None:
        self.lines = lines
        self.base_dir = base_dir
        self.problems: list[Problem] = []

    def bad(self, path: Path_, what: str, fix: str = "") -> None:
        self.problems.append(self.lines.problem(path, what, fix))

    def mapping(self, value: Any, path: Path_, allowed: tuple[str, ...]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.bad(
                path,
                f"expected a mapping (key: value), got {kind_of(value)}",
                f"write it as keys: {', '.join(allowed)}",
            )
            return {}
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = (
                    f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(allowed)}"
                )
                self.bad((*path, str(key)), "unknown key", hint)
        return {str(k): v for k, v in value.items() if k in allowed}

    def typed(self, value: Any, path: Path_, kind: type, default: Any, fix: str = "") -> Any:
        if value is None:
            return default
        if kind in (int, float) and isinstance(value, str):
            # "${USERS:-10}" must be quoted inside a flow mapping; accept its number.
            with contextlib.suppress(ValueError):
                value = kind(value.strip())
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > _LARGEST:
                self.bad(path, f"{_short(value)} is too large", fix or "write a smaller number")
                return default
            return float(value)
        if not ok:
            self.bad(path, f"expected {kind.__name__}, got {kind_of(value)} {_brief(value)}", fix)
            return default
        if isinstance(value, float) and not math.isfinite(value):
            # nan and inf are YAML floats, but no weight, rate or level means them
            self.bad(path, f"{value} is not a finite number", fix or "write a number")
            return default
        if isinstance(value, int) and abs(value) > _LARGEST and kind is int:
            self.bad(path, f"{_short(value)} is too large", fix or "write a smaller number")
            return default
        return value

    def one_of(self, value: Any, path: Path_, choices: tuple[str, ...], what: str, fix: str) -> str:
        """A name from ``choices``; the first one (the default) when absent or unknown."""
        chosen = self.typed(value, path, str, choices[0])
        if chosen not in choices:
            self.bad(path, f"unknown {what} {chosen!r}", fix)
            return choices[0]
        return str(chosen)

    def unit(self, value: Any, path: Path_, parse: Callable[[Any], T], default: T) -> T:
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError as exc:
            what, _, fix = str(exc).partition("; ")
            self.bad(path, what, fix)
            return default

    def positive(self, value: Any, path: Path_, default: float, what: str = "weight") -> float:
        number: float = self.typed(value, path, float, default, f"use a number > 0 for {what}")
        if number <= 0:
            self.bad(path, f"{what} must be > 0, got {number:g}", f"use a number > 0 for {what}")
            return default
        return number

    def missing_file(self, ref: str, path: Path_) -> bool:
        """True (and a problem naming the path looked at) when a file the profile names is not
        there; paths are relative to the profile's folder, whatever the current directory."""
        resolved = self.base_dir / ref
        if resolved.is_file():
            return False
        self.bad(
            path,
            f"{ref!r} not found: looked for {resolved.resolve()}",
            "a path in a profile is relative to the profile's folder, not to the current "
            "directory; fix it or give an absolute path",
        )
        return True

    def str_map(self, value: Any, path: Path_) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.bad(path, f"expected a mapping of names to strings, got {kind_of(value)}")
            return {}
        return {str(k): str(v) for k, v in value.items()}


_LARGEST = 2**64  # past any seed, count or level a profile means (and far from float overflow)


def _short(value: int) -> str:
    """A huge integer as its first digits and length, never thousands of digits."""
    text = str(value)
    return text if len(text) <= 20 else f"{text[:12]}… ({len(text)} digits)"


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def kind_of(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)
