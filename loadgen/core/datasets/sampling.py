"""Which entry comes next: in file order, at random, or shuffled; seeded; length-filtered.

- ``sequential``: file order, from the first entry again after the last.
- ``random``: uniform with replacement (an entry may come twice before another comes once).
- ``shuffle``: without replacement: every entry once per epoch, a new order each epoch. A
  lazy Fisher–Yates over an ``array('I')`` of entry numbers: draw ``k`` swaps a random
  later slot into slot ``k``, so a draw costs O(1) and no list of Python ints is built
  (4 bytes an entry, made at the first draw). The next epoch shuffles on from the last
  order, which is as uniform as shuffling from file order.

``size(conversation)`` is an entry's prompt length, measured once and kept (4 bytes an entry,
when the lengths have a token counter): a tokenizer's count of a long prompt costs far more
than a draw, and an entry drawn again in a later pass is not counted again.

The same seed, dataset and filter give the same sequence. The length filter is checked when
an entry is drawn: one that fails is skipped (``skipped`` counts it) and never read again
(a bitmap remembers it), so no second pass over the file is needed; when every entry has
failed, drawing raises ``DatasetError`` instead of looping.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator
from typing import Protocol

from loadgen.core.datasets.model import Conversation, DatasetError, Lengths

__all__ = ["MODES", "Draws", "Entries"]

MODES = ("sequential", "random", "shuffle")


class Entries(Protocol):
    """What draws read from (a ``Dataset``)."""

    name: str

    def __len__(self) -> int: ...

    def read(self, entry: int) -> Conversation: ...


class Draws(Iterator[Conversation]):
    """An endless, seeded stream of conversations from ``entries``.

    ``seed=None`` picks one at random; ``seed`` then says which, so a report can record it.
    Not thread-safe; one stream can serve every VU of an event loop."""

    def __init__(
        self,
        entries: Entries,
        mode: str = "sequential",
        *,
        seed: int | None = None,
        lengths: Lengths | None = None,
        start: int = 0,
    ) -> None:
        if mode not in MODES:
            raise DatasetError(
                entries.name, f"unknown sampling mode {mode!r}", f"use one of {', '.join(MODES)}"
            )
        self.entries, self.mode = entries, mode
        self.seed = random.SystemRandom().randrange(1 << 63) if seed is None else seed
        self.lengths = lengths or Lengths()
        self.drawn = 0  # conversations handed out
        self.skipped = 0  # draws the length filter turned down
        self.epoch = 0  # full passes done (sequential and shuffle)
        self._size = len(entries)
        self._rng = random.Random(self.seed)
        # sequential: the next entry (``start``: where the first pass begins); shuffle: the
        # next slot
        self._next = start % self._size if mode == "sequential" else 0
        self._order: array[int] | None = None
        self._failed = bytearray((self._size + 7) // 8) if self.lengths.active else None
        self._failures = 0
        self._sizes: array[int] | None = None  # measured prompt lengths; -1: not yet

    def __next__(self) -> Conversation:
        while True:
            entry = self._pick()
            if self._failed is not None and self._failed[entry >> 3] & (1 << (entry & 7)):
                self.skipped += 1
                continue
            found = self.entries.read(entry)
            if not self.lengths.active or self.lengths.within(self.size(found)):
                self.drawn += 1
                return found
            self._fail(entry)

    def size(self, conversation: Conversation) -> int:
        """The entry's prompt length (all its user turns), by the lengths' counter."""
        if self.lengths.count is None:
            return self.lengths.measure(conversation)
        sizes = self._sizes
        if sizes is None:
            sizes = self._sizes = array("i", [-1]) * self._size
        known = sizes[conversation.entry]
        if known < 0:
            known = sizes[conversation.entry] = self.lengths.measure(conversation)
        return known

    def _pick(self) -> int:
        if self.mode == "random":
            return self._rng.randrange(self._size)
        slot = self._next
        self._next += 1
        if self._next == self._size:
            self._next = 0
            self.epoch += 1
        if self.mode == "sequential":
            return slot
        order = self._order
        if order is None:
            order = self._order = array("I", range(self._size))
        other = self._rng.randrange(slot, self._size)
        order[slot], order[other] = order[other], order[slot]
        return order[slot]

    def _fail(self, entry: int) -> None:
        assert self._failed is not None  # only an active filter turns entries down
        self._failed[entry >> 3] |= 1 << (entry & 7)
        self._failures += 1
        self.skipped += 1
        if self._failures == self._size:
            unit = "tokens" if self.lengths.count else "characters"
            raise DatasetError(
                self.entries.name,
                f"no entry's prompt is within the length filter ({self._bounds()} {unit}); "
                f"all {self._size} fail",
                "widen min/max, or check the unit (tokens with a tokenizer, else characters)",
            )

    def _bounds(self) -> str:
        low = "0" if self.lengths.min is None else str(self.lengths.min)
        high = "∞" if self.lengths.max is None else str(self.lengths.max)
        return f"{low}..{high}"
