"""The continuous-batching model as values: admission, FIFO, slowdown, saturation (no sockets)."""

from __future__ import annotations

import pytest

from loadgen.target.capacity import Slots, itl_factor, saturation_throughput


def test_admit_queue_release_in_fifo_order() -> None:
    """Beyond the slots items wait; a release hands the slot to the oldest waiter."""
    slots: Slots[str] = Slots(2)
    assert [slots.admit(x) for x in "abcd"] == ["run", "run", "queued", "queued"]
    assert slots.release() == "c"
    assert slots.release() == "d"
    assert slots.release() is None
    assert slots.active == 1


def test_unlimited_slots_never_queue() -> None:
    """slots = 0 means every arrival runs at once."""
    slots: Slots[int] = Slots(0)
    assert {slots.admit(i) for i in range(1000)} == {"run"}


def test_max_queue_rejects_beyond_it() -> None:
    """With max_queue, an arrival finding the queue full is rejected (503)."""
    slots: Slots[int] = Slots(1, max_queue=2)
    assert [slots.admit(i) for i in range(4)] == ["run", "queued", "queued", "rejected"]


def test_cancel_removes_a_waiter() -> None:
    """A client that leaves while queued gives up its place."""
    slots: Slots[str] = Slots(1)
    slots.admit("a")
    slots.admit("b")
    assert slots.cancel("b")
    assert not slots.cancel("b")
    assert slots.release() is None


@pytest.mark.parametrize(
    ("active", "slots", "contention", "factor"),
    [
        (1, 8, 1.0, 1.0),  # alone: full speed
        (0, 8, 1.0, 1.0),  # idle
        (8, 8, 1.0, 1.875),  # all 8 slots busy: 1 + 7/8
        (5, 8, 0.5, 1.25),  # half the contention: 1 + 0.5·4/8
        (100, 0, 1.0, 1.0),  # unlimited slots: no contention
    ],
    ids=["one stream", "no stream", "full", "half contention", "unlimited"],
)
def test_itl_factor(active: int, slots: int, contention: float, factor: float) -> None:
    """itl_effective = itl · (1 + contention · (active − 1) / slots)."""
    assert itl_factor(active, slots, contention) == pytest.approx(factor)


def test_saturation_throughput() -> None:
    """slots / (ttft + (tokens − 1) · itl · factor(full)): 2 / (0.05 + 9·0.01·1.5)."""
    assert saturation_throughput(2, 0.05, 10, 0.01, 1.0) == pytest.approx(2 / 0.185)
    assert saturation_throughput(0, 0.05, 10, 0.01, 1.0) == float("inf")
