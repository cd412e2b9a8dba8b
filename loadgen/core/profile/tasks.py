"""Validation of tasks and journey steps: one of chat, http, ws or a weighted group, with the
keys every step has (weight, repeat, think time, extract, checks, count, observe)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from loadgen.core import units
from loadgen.core.profile import chatspec, checkspec
from loadgen.core.profile.checker import Checker, kind_of
from loadgen.core.profile.httpspec import http
from loadgen.core.profile.model import DataPools, Task, ThinkTime
from loadgen.core.profile.source import Path_

__all__ = ["tasks", "think_time"]

_STEP_KINDS = ("chat", "http", "ws", "tasks")
_TASK_KEYS = (
    "name",
    "weight",
    *_STEP_KINDS,
    "repeat",
    "think_time",
    "extract",
    "checks",
    "count",
    "observe",
)


def tasks(check: Checker, value: Any, path: Path_, pools: DataPools) -> tuple[Task, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        check.bad(
            path,
            f"expected a list of tasks, got {kind_of(value)}",
            "write - {weight: 1, chat: {category: simple}}",
        )
        return ()
    return tuple(
        t
        for i, item in enumerate(value)
        if (t := _task(check, item, (*path, i), pools)) is not None
    )


def _task(check: Checker, value: Any, path: Path_, pools: DataPools) -> Task | None:
    t = check.mapping(value, path, _TASK_KEYS)
    kinds = [k for k in _STEP_KINDS if k in t]
    if len(kinds) != 1:
        check.bad(
            path,
            f"a task needs exactly one of: {', '.join(_STEP_KINDS)}",
            "write {chat: {category: simple}} or {http: {path: /health}}",
        )
        return None
    common = _common(check, t, path)
    name = check.typed(t.get("name"), (*path, "name"), str, None)
    kind = kinds[0]
    p = (*path, kind)
    if kind == "chat":
        chat = chatspec.chat(check, t["chat"], p, pools)
        default = (
            "chat.multi_turn"
            if chat.conversation
            else f"chat.{chat.category}"
            if chat.category
            else "chat"
        )
        return Task(name=name or default, chat=chat, **common)
    if kind == "ws":
        ws = chatspec.ws(check, t["ws"], p, pools)
        default = f"ws.chat.{ws.category}" if ws.category else "ws.chat"
        return Task(name=name or default, ws=ws, **common)
    if kind == "tasks":
        group = tasks(check, t["tasks"], p, pools)
        if not group and isinstance(t["tasks"], list):
            check.bad(p, "an empty group", "list the tasks to pick from")
        return Task(name=name or "group", group=group, **common)
    request = http(check, t["http"], p)
    return Task(name=name or f"{request.method} {request.path}", http=request, **common)


def _common(check: Checker, t: Mapping[str, Any], path: Path_) -> dict[str, Any]:
    """The keys every kind of step has."""
    weight = check.positive(t.get("weight", 1), (*path, "weight"), 1.0)
    repeat = check.typed(t.get("repeat"), (*path, "repeat"), int, 1)
    if repeat < 1:
        check.bad((*path, "repeat"), "repeat must be ≥ 1")
    return {
        "weight": weight,
        "repeat": max(repeat, 1),
        "think_time": (
            think_time(check, t["think_time"], (*path, "think_time")) if "think_time" in t else None
        ),
        "extract": checkspec.extracts(check, t.get("extract"), (*path, "extract")),
        "checks": checkspec.conditions(check, t.get("checks"), (*path, "checks")),
        "count": checkspec.counters(check, t.get("count"), (*path, "count")),
        "observe": checkspec.observations(check, t.get("observe"), (*path, "observe")),
    }


def think_time(check: Checker, value: Any, path: Path_) -> ThinkTime:
    """A duration, or one of ``{constant: 1s}``, ``{uniform: [2s, 8s]}``, ``{exponential: 3s}``."""
    if value is None:
        return ThinkTime()
    if not isinstance(value, Mapping):
        d = check.unit(value, path, units.parse_duration, 0.0)
        return ThinkTime(kind="constant", low=d, high=d, mean=d)
    t = check.mapping(value, path, ("constant", "uniform", "exponential"))
    if len(t) != 1:
        check.bad(
            path,
            "give exactly one of constant, uniform, exponential",
            "write {uniform: [2s, 8s]}, {constant: 1s} or {exponential: 3s}",
        )
        return ThinkTime()
    kind, arg = next(iter(t.items()))
    p = (*path, kind)
    if kind == "uniform":
        return _uniform(check, arg, p)
    d = check.unit(arg, p, units.parse_duration, 0.0)
    return ThinkTime(kind=cast(Any, kind), low=d, high=d, mean=d)


def _uniform(check: Checker, arg: Any, p: Path_) -> ThinkTime:
    if not isinstance(arg, list) or len(arg) != 2:
        check.bad(p, "expected [low, high]", "write uniform: [2s, 8s]")
        return ThinkTime()
    low = check.unit(arg[0], (*p, 0), units.parse_duration, 0.0)
    high = check.unit(arg[1], (*p, 1), units.parse_duration, 0.0)
    if high < low:
        check.bad(p, "high is below low", "write [low, high]")
    return ThinkTime(kind="uniform", low=low, high=high, mean=(low + high) / 2)
