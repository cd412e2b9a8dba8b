"""Validation of ``users:``: the user classes, their variables, and the check that every
``{{ name }}`` in their steps is a variable their VUs will have."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadgen.core.profile.authspec import auth_spec
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.model import DataPools, Task, UserClass
from loadgen.core.profile.source import Path_
from loadgen.core.profile.tasks import tasks, think_time
from loadgen.core.template import BUILTINS, TemplateError, undeclared

__all__ = ["user_classes"]

_USER_KEYS = (
    "name",
    "weight",
    "think_time",
    "tasks",
    "journey",
    "on_start",
    "on_stop",
    "vars",
    "auth",
)


def user_classes(
    check: Checker, value: Any, path: Path_, pools: DataPools
) -> tuple[UserClass, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        check.bad(
            path,
            "expected a non-empty list of user classes",
            "write users: [{name: regular, tasks: [...]}]",
        )
        return ()
    out = []
    names: set[str] = set()
    for i, item in enumerate(value):
        p = (*path, i)
        u = check.mapping(item, p, _USER_KEYS)
        name = check.typed(u.get("name"), (*p, "name"), str, f"user{i + 1}")
        if name in names:
            check.bad((*p, "name"), f"user class {name!r} defined twice", "give each a unique name")
        names.add(name)
        out.append(_user_class(check, u, p, name, pools))
        _check_variables(check, u, p, out[-1], pools)
    return tuple(out)


def _user_class(
    check: Checker, u: Mapping[str, Any], p: Path_, name: str, pools: DataPools
) -> UserClass:
    steps = tasks(check, u.get("tasks"), (*p, "tasks"), pools)
    journey = tasks(check, u.get("journey"), (*p, "journey"), pools)
    if "tasks" in u and "journey" in u:
        check.bad(
            p,
            "give either tasks (picked by weight) or journey (run in order)",
            "put weighted choices inside the journey as a step: {tasks: [...]}",
        )
    if not steps and not journey and "tasks" not in u and "journey" not in u:
        check.bad(
            p, "a user class needs tasks or a journey", "add tasks: [{chat: {category: simple}}]"
        )
    variables, secret_vars = _variables(check, u.get("vars"), (*p, "vars"))
    return UserClass(
        name=name,
        weight=check.positive(u.get("weight", 1), (*p, "weight"), 1.0),
        think_time=think_time(check, u.get("think_time"), (*p, "think_time")),
        tasks=steps,
        journey=journey,
        on_start=tasks(check, u.get("on_start"), (*p, "on_start"), pools),
        on_stop=tasks(check, u.get("on_stop"), (*p, "on_stop"), pools),
        vars=variables,
        secret_vars=secret_vars,
        auth=auth_spec(check, u["auth"], (*p, "auth")) if "auth" in u else None,
    )


def _variables(check: Checker, value: Any, path: Path_) -> tuple[dict[str, str], frozenset[str]]:
    """``vars:`` name → template, or name → ``{value: ..., secret: true}`` for a value that
    must never appear in an output (names like *password* or *token* are secret anyway)."""
    plain: dict[str, Any] = {}
    secret: set[str] = set()
    for key, item in value.items() if isinstance(value, Mapping) else ():
        if isinstance(item, Mapping):
            spec = check.mapping(item, (*path, str(key)), ("value", "secret"))
            if "value" not in spec:
                check.bad(
                    (*path, str(key)),
                    "a variable written as a mapping needs value:",
                    f"write {key}: {{value: ..., secret: true}}",
                )
            if check.typed(spec.get("secret"), (*path, str(key), "secret"), bool, False):
                secret.add(str(key))
            item = spec.get("value", "")
        plain[key] = item
    variables = check.str_map(plain if isinstance(value, Mapping) else value, path)
    return variables, frozenset(secret)


def _extracted(steps: tuple[Task, ...]) -> set[str]:
    """The variables the steps' ``extract:`` rules set, groups included."""
    names: set[str] = set()
    for t in steps:
        names |= {e.name for e in t.extract} | _extracted(t.group)
    return names


def _check_variables(
    check: Checker, raw: Mapping[str, Any], path: Path_, cls: UserClass, pools: DataPools
) -> None:
    """Every ``{{ name }}`` in the class's steps must be a variable its VUs will have."""
    known = set(BUILTINS) | set(cls.vars) | {"token", "refresh_token"}
    if pools.rows:
        known |= set(pools.rows[0])
    known |= _extracted(cls.on_start + cls.tasks + cls.journey + cls.on_stop)
    for key in ("tasks", "journey", "on_start", "on_stop", "vars", "auth"):
        if key in raw:
            _walk(check, raw[key], (*path, key), known)


def _walk(check: Checker, value: Any, p: Path_, known: set[str]) -> None:
    """Check every string under ``value`` (but not extract, checks or count: no templates)."""
    if isinstance(value, str):
        try:
            missing = undeclared(value) - known
        except TemplateError as exc:
            check.bad(p, str(exc), "fix the {{ ... }} syntax")
            return
        if missing:
            check.bad(
                p,
                f"unknown variable {', '.join(sorted(missing))}",
                "define it in vars:, a data rows column, or an extract: of an "
                f"earlier step (known: {', '.join(sorted(known))})",
            )
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if k not in ("extract", "checks", "count"):
                _walk(check, v, (*p, str(k)), known)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(check, v, (*p, i), known)
