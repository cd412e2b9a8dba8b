"""Consecutive interval records grouped into windows judged or drawn as one (pure).

Intervals are one second long except the last, which ends wherever the run ended: often a
few milliseconds. A rate over 5 ms (3 requests → 600 req/s, 4 ms of teardown CPU → 80 % of a
core) is noise, not a finding, so a window much shorter than the one before it joins that one
and is judged or drawn over the pair's real length.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

__all__ = ["MIN_SHARE", "length", "windows"]

MIN_SHARE = 0.5  # a window shorter than this share of the one before it joins that one

R = TypeVar("R", bound=Mapping[str, Any])


def length(window: Sequence[Mapping[str, Any]]) -> float:
    """The real length of a window: its intervals' lengths summed."""
    return sum(float(r.get("length", 1.0)) for r in window)


def windows(records: Sequence[R], per: int = 1, min_share: float = MIN_SHARE) -> list[list[R]]:
    """``records`` in consecutive groups of ``per``; a short group joins the one before it."""
    per = max(1, per)
    out: list[list[R]] = []
    for i in range(0, len(records), per):
        group = list(records[i : i + per])
        if out and length(group) < min_share * length(out[-1]):
            out[-1].extend(group)
        else:
            out.append(group)
    return out
