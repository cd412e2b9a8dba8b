"""Continuous-batching capacity model: slots, a FIFO queue, and slowdown under sharing.

Pure: the server calls ``admit`` on arrival and ``release`` when a generation ends; this
module decides who runs, who waits and how much sharing slows each token, and predicts the
throughput at which the target saturates (what a breakpoint test should find).

Model (documented in docs/target.md):

* at most ``slots`` generations run at once (``slots == 0``: unlimited); later arrivals
  wait in FIFO order, and their wait adds to their time to first token;
* with ``max_queue > 0`` an arrival that finds ``max_queue`` requests waiting is rejected
  (the server answers 503);
* every inter-token delay drawn while ``active`` generations run is multiplied by
  ``1 + contention * (active - 1) / slots``.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, Literal, TypeVar

__all__ = ["Admission", "Slots", "itl_factor", "saturation_throughput"]

T = TypeVar("T")
Admission = Literal["run", "queued", "rejected"]


def itl_factor(active: int, slots: int, contention: float) -> float:
    """Multiplier of the inter-token delay when ``active`` generations share ``slots``."""
    if slots <= 0 or active <= 1:
        return 1.0
    return 1.0 + contention * (active - 1) / slots


def saturation_throughput(
    slots: int, ttft: float, tokens: float, itl: float, contention: float
) -> float:
    """Completed requests/s with every slot busy: ``slots / (ttft + gaps * itl_full)``.

    ``gaps`` is ``tokens - 1`` (the first token comes after ``ttft``). Beyond this arrival
    rate the queue grows without bound and TTFT climbs. Infinite when ``slots == 0``.
    """
    if slots <= 0:
        return float("inf")
    service = ttft + max(tokens - 1, 0) * itl * itl_factor(slots, slots, contention)
    return float("inf") if service <= 0 else slots / service


class Slots(Generic[T]):
    """Admission to ``slots`` concurrent generations with a FIFO queue of ``T`` items."""

    __slots__ = ("active", "contention", "max_queue", "queue", "slots")

    def __init__(self, slots: int, contention: float = 1.0, max_queue: int = 0) -> None:
        self.slots = slots
        self.contention = contention
        self.max_queue = max_queue
        self.active = 0
        self.queue: deque[T] = deque()

    def admit(self, item: T) -> Admission:
        """``run`` (a slot is taken), ``queued`` (item waits) or ``rejected`` (queue full)."""
        if self.slots <= 0 or self.active < self.slots:
            self.active += 1
            return "run"
        if 0 < self.max_queue <= len(self.queue):
            return "rejected"
        self.queue.append(item)
        return "queued"

    def release(self) -> T | None:
        """Free a slot; return the queued item that now holds it (the caller starts it)."""
        if self.queue:
            return self.queue.popleft()
        self.active -= 1
        return None

    def cancel(self, item: T) -> bool:
        """Remove a waiting item (its client went away); False if it was not queued."""
        try:
            self.queue.remove(item)
        except ValueError:
            return False
        return True

    def factor(self) -> float:
        """The current inter-token delay multiplier."""
        return itl_factor(self.active, self.slots, self.contention)
