"""Validation of what a step reads from its response: ``extract``, ``observe``, ``checks``
and ``count``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, cast

from loadgen.core.profile.checker import Checker
from loadgen.core.profile.model import Condition, Extract
from loadgen.core.profile.source import Path_

__all__ = ["conditions", "counters", "extracts", "observations"]

_CONDITIONS = ("status", "json", "contains", "citations", "answer_length", "header")
_MEASURES = ("answer_length", "output_tokens", "body_size")


def _named(check: Checker, value: Any, path: Path_, what: str, fix: str) -> Mapping[Any, Any]:
    """A mapping of names to rules (``extract``, ``observe``, ``count``); empty when absent
    or (with a problem) when it is not a mapping."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        check.bad(path, f"expected a mapping of {what}", fix)
        return {}
    return value


def extracts(check: Checker, value: Any, path: Path_) -> tuple[Extract, ...]:
    """``extract: {token: {json: access_token}, rid: {header: x-request-id}}``."""
    rules = _named(
        check,
        value,
        path,
        "variable names to rules",
        "write extract: {token: {json: access_token}}",
    )
    return tuple(
        e for name, rule in rules.items() if (e := _extract(check, name, rule, path)) is not None
    )


def _extract(check: Checker, name: Any, rule: Any, path: Path_) -> Extract | None:
    p = (*path, str(name))
    r = check.mapping(rule, p, ("json", "header", "regex"))
    if len(r) != 1:
        check.bad(
            p,
            "give exactly one of json, header, regex",
            "write {json: data.id}, {header: location} or {regex: 'id=(\\w+)'}",
        )
        return None
    source, expr = next(iter(r.items()))
    if source == "regex":
        try:
            if re.compile(str(expr)).groups > 1:
                check.bad(p, "a regex may have at most one group", "keep one (...)")
        except re.error as exc:
            check.bad(p, f"invalid regex: {exc}", "check the pattern")
            return None
    return Extract(name=str(name), source=cast(Any, source), expr=str(expr))


def observations(check: Checker, value: Any, path: Path_) -> tuple[Extract, ...]:
    """``observe: {answer_chars: answer_length, doc_bytes: {json: size}}``: custom
    histograms of a number taken from each response."""
    sources = _named(
        check,
        value,
        path,
        "histogram names to sources",
        "write observe: {answer_chars: answer_length}",
    )
    out = []
    for name, source in sources.items():
        if source in _MEASURES:
            out.append(Extract(name=str(name), source=source, expr=""))
            continue
        rules = extracts(check, {str(name): source}, path)
        if not rules:
            check.bad(
                (*path, str(name)),
                "expected answer_length, output_tokens, body_size, or "
                "{json: path} / {header: name} / {regex: '...'} giving a number",
            )
        out.extend(rules)
    return tuple(out)


def counters(check: Checker, value: Any, path: Path_) -> tuple[Condition, ...]:
    """``count: {rate_limited: {status: 429}, with_citations: {citations: true}}``."""
    conds = _named(
        check,
        value,
        path,
        "counter names to conditions",
        "write count: {rate_limited: {status: 429}}",
    )
    return tuple(
        c
        for name, cond in conds.items()
        if (c := condition(check, cond, (*path, str(name)), str(name))) is not None
    )


def conditions(check: Checker, value: Any, path: Path_) -> tuple[Condition, ...]:
    """``checks: [{status: 200}, {name: cites, citations: true}, ...]``."""
    if value is None:
        return ()
    if not isinstance(value, list):
        check.bad(path, "expected a list of checks", "write checks: [{status: 200}]")
        return ()
    out = []
    for i, item in enumerate(value):
        name = item.get("name") if isinstance(item, Mapping) else None
        rest = {k: v for k, v in item.items() if k != "name"} if isinstance(item, Mapping) else item
        c = condition(check, rest, (*path, i), str(name) if name else None)
        if c is not None:
            out.append(c)
    return tuple(out)


def condition(check: Checker, value: Any, path: Path_, name: str | None) -> Condition | None:
    """One check or counter: exactly one of the ``_CONDITIONS`` kinds and its argument."""
    c = check.mapping(value, path, _CONDITIONS)
    if len(c) != 1:
        check.bad(
            path,
            f"give exactly one of {', '.join(_CONDITIONS)}",
            "write {status: 200}, {json: {path: id}}, {contains: text}, "
            "{citations: true} or {answer_length: {min: 20}}",
        )
        return None
    kind, arg = next(iter(c.items()))
    return _KINDS[kind](check, kind, arg, (*path, kind), name)


def _status(check: Checker, kind: str, arg: Any, p: Path_, name: str | None) -> Condition | None:
    values = arg if isinstance(arg, list) else [arg]
    if not all(isinstance(v, int) and 100 <= v <= 599 for v in values):
        check.bad(p, "expected an HTTP status or a list of them", "write status: 200")
        return None
    return Condition(name=name or f"status {arg}", kind="status", values=tuple(values))


def _lookup(check: Checker, kind: str, arg: Any, p: Path_, name: str | None) -> Condition | None:
    """``json`` or ``header``: a path (or header name) that must be there, or equal a value."""
    if isinstance(arg, str):
        return Condition(name=name or f"{kind} {arg}", kind=cast(Any, kind), path=arg)
    j = check.mapping(arg, p, ("path", "equals"))
    if "path" not in j:
        check.bad(p, "missing path", f"write {kind}: {{path: data.id, equals: 3}}")
        return None
    return Condition(
        name=name or f"{kind} {j['path']}" + (f" == {j['equals']!r}" if "equals" in j else ""),
        kind=cast(Any, kind),
        path=str(j["path"]),
        equals=j.get("equals"),
        has_equals="equals" in j,
    )


def _contains(check: Checker, kind: str, arg: Any, p: Path_, name: str | None) -> Condition:
    return Condition(name=name or f"contains {arg!r}", kind="contains", text=str(arg))


def _citations(check: Checker, kind: str, arg: Any, p: Path_, name: str | None) -> Condition:
    expected = check.typed(arg, p, bool, True)
    return Condition(
        name=name or ("has citations" if expected else "no citations"),
        kind="citations",
        expected=expected,
    )


def _answer_length(check: Checker, kind: str, arg: Any, p: Path_, name: str | None) -> Condition:
    label = name or (kind if isinstance(arg, Mapping) else f"{kind} {arg}")
    a = check.mapping(arg, p, ("min", "max"))
    low = check.typed(a.get("min"), (*p, "min"), int, 0)
    high = check.typed(a.get("max"), (*p, "max"), int, None)
    return Condition(name=label, kind="answer_length", low=low, high=high)


_KINDS: dict[str, Callable[[Checker, str, Any, Path_, str | None], Condition | None]] = {
    "status": _status,
    "json": _lookup,
    "header": _lookup,
    "contains": _contains,
    "citations": _citations,
    "answer_length": _answer_length,
}
