"""HDR histograms summed and read at Prometheus's bucket bounds: classic cumulative counts at
fixed ``le`` bounds, and native (exponential) histograms.

A scope of the export (overall, one request name, one user class) is the sum of several
recorder leaves. Summing their HDR counts first and reading the sum once is what keeps the
export cheap: the counts of a group are added as big integers (each HDR count is a 64-bit
word, so one ``int.from_bytes`` per leaf and one addition add every counter at C speed, no
carry crossing a word), then one pass reads the bounds. Reading each leaf at every bound and
adding the vectors cost one Python pass per leaf and metric (~28 ms a second for 8 names ×
2 classes, ``benchmarks/promexport.py``).

Where an HDR bucket (0.1 % wide at 3 significant digits) counts: in the Prometheus bucket
that holds its lowest value, so a value equal to a bound is always counted at or below it,
and a value at most 0.1 % above a bound may be too — HDR's own resolution, in both forms.

Reads the counters of ``loadgen.core.hist`` directly (its layout constants and tables): the
two modules are one mechanism, this one the Prometheus side of it. Pure.
"""

from __future__ import annotations

import math
import sys
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise
from operator import mul

from loadgen.core.hist import Histogram, ValueHistogram, _tables

__all__ = ["NATIVE_SCHEMA", "Native", "Summed", "Summer", "summed"]

#: Native histogram schema: bucket bounds 2**(i / 2**5), each ~2.2 % above the previous one
#: (32 buckets per doubling; Prometheus accepts -4 to 8). Finer than the classic layout's
#: 26 % by 12×, coarse enough that a latency spread over a decade is ~110 buckets.
NATIVE_SCHEMA = 5

_H = Histogram | ValueHistogram


@dataclass(frozen=True, slots=True)
class Native:
    """A native histogram as remote write carries it: integer counts, positive buckets as
    spans of consecutive indexes (``offset`` from the end of the previous span, the first
    from index 0) and deltas (each bucket's count minus the previous bucket's)."""

    count: int
    sum: float
    schema: int
    spans: tuple[tuple[int, int], ...]
    deltas: tuple[int, ...]

    def buckets(self) -> dict[int, int]:
        """{bucket index: count} of the non-empty buckets (bucket i holds (b^(i-1), b^i],
        b = 2**(2**-schema))."""
        out: dict[int, int] = {}
        index, count, deltas = 0, 0, iter(self.deltas)
        for offset, length in self.spans:
            index += offset
            for _ in range(length):
                count += next(deltas)
                if count:
                    out[index] = count
                index += 1
        return out


@dataclass(frozen=True, slots=True)
class Summed:
    """The summed counts of one layout's histograms, from counts index ``first`` on."""

    hist: _H  # one of them: its layout (all share it)
    per_unit: float  # stored integers per reported unit (10^6 for seconds)
    first: int
    counts: list[int]
    count: int

    def total(self) -> float:
        """The sum of the values in the reported unit (each at its HDR bucket's midpoint)."""
        mids = _tables(self.hist._unit, self.hist._shift, self.hist._h.counts_len)[2]
        stored: int = sum(map(mul, self.counts, mids[self.first : self.first + len(self.counts)]))
        return stored / self.per_unit

    def cumulative(self, limits: tuple[int, ...]) -> list[int]:
        """How many values are at or below each of ``limits`` (ascending stored integers)."""
        first, n = self.first, len(self.counts)
        last = first + n - 1
        edges = [
            0 if i < first else n if i >= last else i - first + 1
            for i in _indexes(self.hist, limits)
        ]
        return list(accumulate(self._between([0, *edges])))

    def _between(self, edges: list[int]) -> list[int]:
        counts = self.counts
        return [sum(counts[a:b]) if b > a else 0 for a, b in pairwise(edges)]

    def native(self, total: float, schema: int = NATIVE_SCHEMA) -> Native:
        """The native histogram of these counts at ``schema``; ``total``: ``total()``."""
        start, indexes = _native_limits(self.hist, self.per_unit, schema)
        first, n = self.first, len(self.counts)
        lo = bisect_left(indexes, first)  # the bucket of the first value: none before it
        hi = min(bisect_left(indexes, first + n - 1), len(indexes) - 1)  # of the last one
        per_bucket = self._between([0, *(i - first + 1 for i in indexes[lo:hi]), n])
        spans: list[tuple[int, int]] = []
        deltas: list[int] = []
        previous, end = 0, 0  # end: the index after the last span
        for k, count in enumerate(per_bucket):
            if not count:
                continue
            index = start + lo + k
            if spans and index == end:
                spans[-1] = (spans[-1][0], spans[-1][1] + 1)
            else:
                spans.append((index - end if spans else index, 1))
            deltas.append(count - previous)
            previous, end = count, index + 1
        return Native(self.count, total, schema, tuple(spans), tuple(deltas))


def _per_unit(hist: _H) -> float:
    return 1_000_000.0 if isinstance(hist, Histogram) else hist._div


_INDEXES: dict[tuple[int, int, int, int, tuple[int, ...]], tuple[int, ...]] = {}


def _indexes(h: _H, limits: tuple[int, ...]) -> tuple[int, ...]:
    """The counts index of each limit: the last HDR bucket whose lowest value is at or below
    it (-1: none); made once per layout and limits."""
    key = (h._unit, h._shift, h.lowest, h.highest, limits)
    found = _INDEXES.get(key)
    if found is None:
        found = _INDEXES[key] = tuple(
            h._index(min(limit, h.highest)) if limit >= h.lowest else -1 for limit in limits
        )
    return found


_NATIVE: dict[tuple[int, int, int, int, float, int], tuple[int, list[int]]] = {}


def _native_limits(hist: _H, per_unit: float, schema: int) -> tuple[int, list[int]]:
    """(first bucket index, counts index of each bucket's upper bound) over the layout's
    whole range, made once per layout."""
    key = (hist._unit, hist._shift, hist.lowest, hist.highest, per_unit, schema)
    found = _NATIVE.get(key)
    if found is None:
        factor = 2.0**schema
        low = math.ceil(math.log2(hist.lowest / per_unit) * factor)
        high = math.ceil(math.log2(hist.highest / per_unit) * factor)
        limits = [int(2.0 ** (i / factor) * per_unit * (1 + 1e-12)) for i in range(low, high + 1)]
        found = _NATIVE[key] = (low, [hist._index(min(v, hist.highest)) for v in limits])
    return found


class Summer:
    """Sums of groups of one metric's histograms, every group a subset of ``hists``: each
    histogram's counts are read once, as one integer over the window all of them span, and a
    group's sum is the sum of its members' integers."""

    def __init__(self, hists: Sequence[_H]) -> None:
        full = [h.used() for h in hists if h.count]
        self.first = min((first for first, _ in full), default=0)
        self.last = max((last for _, last in full), default=-1)
        self._words: dict[int, int] = {}

    def _word(self, h: _H) -> int:
        found = self._words.get(id(h))
        if found is None:
            view = h.raw_counts(self.first, self.last)
            found = self._words[id(h)] = int.from_bytes(view, sys.byteorder)
        return found

    def summed(self, hists: Sequence[_H]) -> Summed | None:
        """The sum of ``hists`` (members of the constructor's), or None when they are empty."""
        full = [h for h in hists if h.count]
        if not full:
            return None
        h = full[0]
        size = h.counter_bytes
        if len(full) == 1:  # nothing to add: its own counts, min to max
            first, last = h.used()
            return Summed(h, _per_unit(h), first, _ints(h.raw_counts(first, last), size), h.count)
        # Words added as one integer read in the machine's byte order (so its bytes are the
        # counters' memory again): no count reaches 2**64 (2**32 where C longs are 32-bit,
        # where HDR itself would overflow first), so no carry crosses a word.
        total = sum(map(self._word, full))
        data = total.to_bytes(size * (self.last + 1 - self.first), sys.byteorder)
        skip = (len(data) - len(data.lstrip(b"\0"))) // size
        end = len(data) - (len(data) - len(data.rstrip(b"\0"))) // size * size
        counts = _ints(memoryview(data)[size * skip : end], size)
        return Summed(h, _per_unit(h), self.first + skip, counts, sum(x.count for x in full))


def _ints(data: memoryview, size: int) -> list[int]:
    """Counter words (native byte order) as integers."""
    return (data.cast("Q") if size == 8 else data.cast("I")).tolist()


def summed(hists: Sequence[_H]) -> Summed | None:
    """The sum of ``hists`` (one layout), or None when none holds a value."""
    return Summer(hists).summed(hists)
