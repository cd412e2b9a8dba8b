"""Validation of a chat step's ``cancel:`` (``{rate: 10%, after: {tokens: 20}}``)."""

from __future__ import annotations

from typing import Any

from loadgen.core import units
from loadgen.core.cancel import Cancel
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.source import Path_

__all__ = ["cancel"]

_FIX = (
    "write cancel: {rate: 10%, after: {tokens: 20}} (or after: {time: 2s}, or before_first_token)"
)


def cancel(check: Checker, value: Any, path: Path_) -> Cancel | None:
    """The ``cancel:`` of a chat step; None when absent (or wrong: the problem is kept)."""
    if value is None:
        return None
    c = check.mapping(value, path, ("rate", "after", "before_first_token"))
    if not c:
        check.bad(path, "expected a mapping with rate and after", _FIX)
        return None
    if c.get("rate") is None:
        check.bad((*path, "rate"), "missing rate", _FIX)
    rate = check.unit(c.get("rate"), (*path, "rate"), units.parse_percent, 0.0)
    after = c.get("after")
    where = (*path, "after")
    if after is None and c.get("before_first_token") is not None:
        after, where = {"before_first_token": c["before_first_token"]}, path
    elif after == "before_first_token":
        return Cancel(rate=rate, before_first_token=True)
    elif c.get("before_first_token") is not None:
        check.bad((*path, "before_first_token"), "conflicts with after", "keep one of them")
    a = check.mapping(after, where, ("tokens", "time", "before_first_token"))
    given = [k for k in ("tokens", "time", "before_first_token") if a.get(k) is not None]
    if len(given) != 1:
        check.bad(where, "needs exactly one of tokens, time or before_first_token", _FIX)
        return None
    if given[0] == "tokens":
        tokens = check.typed(a["tokens"], (*where, "tokens"), int, 1)
        if tokens < 1:
            check.bad((*where, "tokens"), "must be ≥ 1", "write after: {tokens: 20}")
        return Cancel(rate=rate, tokens=max(tokens, 1))
    if given[0] == "time":
        seconds = check.unit(a["time"], (*where, "time"), units.parse_duration, 1.0)
        if seconds <= 0:
            check.bad((*where, "time"), "must be > 0", "write after: {time: 2s}")
        return Cancel(rate=rate, time=max(seconds, 0.001))
    if (
        check.typed(a["before_first_token"], (*where, "before_first_token"), bool, False)
        is not True
    ):
        check.bad((*where, "before_first_token"), "only true means something here", _FIX)
    return Cancel(rate=rate, before_first_token=True)
