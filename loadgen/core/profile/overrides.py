"""Command-line overrides: ``--set key.path=value`` on the profile's data, and scaling a load
plan's users and duration while keeping its shape."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import yaml

from loadgen.core.errors import Problem, ProfileError
from loadgen.core.profile.model import Load, Stage

__all__ = ["apply_sets", "scale_load"]


def apply_sets(data: Any, sets: Sequence[str]) -> Any:
    """Apply ``key.path=value`` overrides (values parsed as YAML) to the expanded data."""
    problems = []
    for item in sets:
        parsed = _parse_set(item)
        if isinstance(parsed, Problem):
            problems.append(parsed)
            continue
        problem = _set_path(data, *parsed)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise ProfileError(problems)
    return data


def _parse_set(item: str) -> tuple[str, Any] | Problem:
    """``key.path=value`` → the key and the value parsed as YAML."""
    key, eq, raw = item.partition("=")
    if not eq or not key:
        return Problem("--set", None, item, "expected key.path=value", "write --set load.users=20")
    try:
        # '=' alone is YAML 1.1's "value" type, which the safe loader cannot build: text
        return key, (yaml.safe_load(raw) if raw and raw.strip() != "=" else raw)
    except Exception as exc:  # YAMLError, or a safe tag's constructor failing ('!!int x')
        what = str(getattr(exc, "problem", None) or exc).splitlines()[0]
        return Problem(
            "--set",
            None,
            key,
            f"{raw!r} is not a YAML value: {what}",
            f"quote it: --set '{key}=\"...\"'",
        )


def _set_path(data: Any, key: str, value: Any) -> Problem | None:
    """Set ``value`` at the dotted ``key`` (list items by index), making mappings on the way."""
    node = data
    parts = key.split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                what = f"{part!r} is not an index of the list"
                return Problem("--set", None, key, what, f"use 0..{len(node) - 1}")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            what = f"cannot set inside {'.'.join(parts[:i])}"
            return Problem("--set", None, key, what, "set a mapping key")
    return None


def scale_load(load: Load, *, level: float | None = None, duration: float | None = None) -> Load:
    """Scale stage levels so the peak is ``level`` and stage lengths so the total is ``duration``.

    ``--users 50`` on a profile ramping 0 → 100 → 100 gives 0 → 50 → 50 (``--rate`` does the same
    to an open model's arrival rate); ``--duration 30s`` on a 10-minute plan shrinks every stage
    by the same factor, so a spike stays a spike.
    """
    stages = load.stages
    start = load.start
    if level is not None:
        peak = max([start, *(s.target for s in stages)]) or 1
        factor = level / peak
        users = load.model == "closed"

        def scaled(value: float) -> float:
            return float(round(value * factor)) if users else value * factor

        stages = tuple(
            Stage(duration=s.duration, target=scaled(s.target), name=s.name) for s in stages
        )
        start = scaled(start)
    if duration is not None:
        total = sum(s.duration for s in stages) or 1
        factor = duration / total
        stages = tuple(
            Stage(duration=s.duration * factor, target=s.target, name=s.name) for s in stages
        )
    return replace(load, stages=stages, start=start)
