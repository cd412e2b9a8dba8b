"""Fault picking as values: header parsing and seeded rates (no sockets)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from loadgen.target.faults import FAULT_KINDS, FaultPicker, parse_fault_header


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("stall", "stall"),
        ("DROP-MID-STREAM", "drop_mid_stream"),
        ("429", "http_429"),
        ("none", None),
        (" http_503 ", "http_503"),
    ],
    ids=["plain", "case and dashes", "status alias", "none forces no fault", "spaces"],
)
def test_header_values(value: str, kind: str | None) -> None:
    """The header is forgiving about case, dashes and status-code aliases."""
    assert parse_fault_header(value) == kind


def test_unknown_header_lists_the_kinds() -> None:
    """A typo is refused with every valid kind named."""
    with pytest.raises(ValueError, match="slow_body_read"):
        parse_fault_header("explode")


def test_rates_are_respected_and_seeded() -> None:
    """Each kind is drawn at about its rate; the same seed draws the same faults."""
    rates = dict.fromkeys(FAULT_KINDS, 0.05)
    picker = FaultPicker(rates)
    draws = [picker.pick(random.Random(9)) for _ in range(1)]
    rng = random.Random(9)
    counts = Counter(picker.pick(rng) for _ in range(40_000))
    for kind in FAULT_KINDS:
        assert 1600 <= counts[kind] <= 2400
    assert 24_000 - 1200 <= counts[None] <= 24_000 + 1200
    assert draws == [FaultPicker(rates).pick(random.Random(9))]


def test_no_rates_no_draw() -> None:
    """With every rate at 0 the RNG is not touched (so other draws stay reproducible)."""
    rng = random.Random(1)
    state = rng.getstate()
    assert FaultPicker({}).pick(rng) is None
    assert rng.getstate() == state
