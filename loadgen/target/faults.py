"""Which fault, if any, a chat request gets: seeded by rate, or forced by a header.

Pure: one uniform draw per request picks at most one fault from the cumulative rates; a
request carrying ``x-loadgen-fault: KIND`` gets exactly that fault (``none`` forces none),
so tests can be deterministic. With every rate at 0 no draw is made at all.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

__all__ = ["FAULT_KINDS", "FaultPicker", "parse_fault_header"]

FAULT_KINDS = (
    "http_500",
    "http_503",
    "http_429",
    "expire_token",
    "drop_mid_stream",
    "malformed_chunk",
    "stall",
    "slow_body_read",
)
_BEFORE_BODY = frozenset({"http_500", "http_503", "http_429", "expire_token"})


def parse_fault_header(value: str) -> str | None:
    """``x-loadgen-fault`` value → fault kind, ``None`` for ``none``; ValueError otherwise."""
    kind = value.strip().lower().replace("-", "_")
    if kind == "none":
        return None
    aliases = {"500": "http_500", "503": "http_503", "429": "http_429"}
    kind = aliases.get(kind, kind)
    if kind not in FAULT_KINDS:
        raise ValueError(
            f"x-loadgen-fault: {value!r} is not a fault; use one of none, {', '.join(FAULT_KINDS)}"
        )
    return kind


def answers_before_body(kind: str | None) -> bool:
    """True for faults that replace the answer by an error status."""
    return kind in _BEFORE_BODY


class FaultPicker:
    """Draws faults with the configured probabilities."""

    __slots__ = ("enabled", "table")

    def __init__(self, rates: Mapping[str, float]) -> None:
        table: list[tuple[float, str]] = []
        total = 0.0
        for kind in FAULT_KINDS:
            rate = rates.get(kind, 0.0)
            if rate > 0:
                total += rate
                table.append((total, kind))
        self.table = table
        self.enabled = bool(table)

    def pick(self, rng: random.Random) -> str | None:
        if not self.enabled:
            return None
        u = rng.random()
        for bound, kind in self.table:
            if u < bound:
                return kind
        return None
