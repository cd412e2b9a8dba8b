"""A small typed facade over ``hdrhistogram``: the only module that imports it.

The package is untyped, ``record_value`` silently drops values it cannot hold, and
``get_value_at_percentile`` scans every bucket per call. Here out-of-range values are
clamped and counted, percentiles come from one batched pass, and merging is exact (the
bucket counts are added), so histograms from workers and processes combine without
averaging percentiles. Histograms travel as HdrHistogram's compressed base64 ("HISTF...")
encoding, readable by every HdrHistogram implementation.

Two classes share the machinery:

* ``Histogram`` holds latencies as integer microseconds (1 µs to 1 h, 3 significant digits)
  and reports milliseconds;
* ``ValueHistogram`` holds other quantities (tokens per request, tokens/s) as integers
  ``round(value * scale)`` in 1..10^9 and reports them in their own unit.
"""

from __future__ import annotations

import ctypes
import sys
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import accumulate
from operator import mul
from typing import Any, TypeVar

from hdrh.histogram import HdrHistogram

__all__ = ["PERCENTILES", "Histogram", "ValueHistogram"]

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0, 99.9)

_H = TypeVar("_H", bound="_Base")

# Per bucket layout: (lowest value, highest equivalent value, median equivalent value) of
# every counts index. hdrh computes these with several method calls per bucket, which makes
# get_mean_value() cost ~30 ms on a wide histogram; tables make mean and percentiles one
# pass of C-level list operations. Pinned against hdrh's own methods in tests/test_hist.py.
_TABLES: dict[tuple[int, int, int], tuple[list[int], list[int], list[int]]] = {}
# The counts index of each limit of ``at_or_below``, per layout and limits (a few per run).
_LIMIT_INDEXES: dict[tuple[int, int, int, int, tuple[int, ...]], list[int]] = {}


def _tables(unit: int, shift: int, length: int) -> tuple[list[int], list[int], list[int]]:
    key = (unit, shift, length)
    tables = _TABLES.get(key)
    if tables is None:
        half = 1 << shift
        lows, highs, mids = [], [], []
        for index in range(length):
            bucket = (index >> shift) - 1
            sub = (index & (half - 1)) + half
            if bucket < 0:
                sub -= half
                bucket = 0
            low = sub << (bucket + unit)
            size = 1 << (bucket + unit)
            lows.append(low)
            highs.append(low + size - 1)
            mids.append(low + (size >> 1))
        tables = _TABLES[key] = (lows, highs, mids)
    return tables


class _Base:
    """Integers in ``[lowest, highest]``; reported values are those integers divided by ``_div``."""

    __slots__ = (
        "_div",
        "_h",
        "_half",
        "_mask",
        "_shift",
        "_unit",
        "digits",
        "highest",
        "lowest",
        "out_of_range",
    )

    def __init__(self, lowest: int, highest: int, digits: int, div: float) -> None:
        if lowest < 1 or highest < 2 * lowest or not 1 <= digits <= 5:
            raise ValueError("need 1 <= lowest, 2 * lowest <= highest and 1 <= digits <= 5")
        self.lowest = lowest
        self.highest = highest
        self.digits = digits
        self._div = div
        #: How many values above ``highest`` were recorded as ``highest``.
        self.out_of_range = 0
        h: Any = HdrHistogram(lowest, highest, digits)
        self._h = h
        # Constants of hdrh's counts-index arithmetic, so _record can inline it.
        self._unit = h.unit_magnitude
        self._mask = h.sub_bucket_mask
        self._shift = h.sub_bucket_half_count_magnitude
        self._half = h.sub_bucket_half_count

    def _index(self, value: int) -> int:
        # Same result as HdrHistogram._counts_index_for, without five method calls.
        bucket = (value | self._mask).bit_length() - self._unit - self._shift - 1
        index: int = ((bucket + 1) << self._shift) + (value >> (bucket + self._unit)) - self._half
        return index

    def _record(self, value: int, count: int = 1) -> None:
        if value > self.highest:
            value = self.highest
            self.out_of_range += count
        elif value < self.lowest:
            value = self.lowest
        h = self._h
        bucket = (value | self._mask).bit_length() - self._unit - self._shift - 1
        index = ((bucket + 1) << self._shift) + (value >> (bucket + self._unit)) - self._half
        h.counts[index] += count
        h.total_count += count
        if value < h.min_value:
            h.min_value = value
        if value > h.max_value:
            h.max_value = value

    def _record_many(self, values: Iterable[int]) -> None:
        # The per-token path (every inter-token gap): one loop with everything in locals,
        # min, max and the total updated once per batch — about twice as fast as _record
        # per value. Batches with out-of-range values take the careful path.
        batch = values if isinstance(values, list) else list(values)
        if not batch:
            return
        low, high = min(batch), max(batch)
        if high > self.highest:
            for value in batch:
                self._record(value, 1)
            return
        if low < self.lowest:  # gaps of 0 µs (events in one read) count as the lowest value
            floor = low = self.lowest
            high = max(high, floor)  # a batch all below the lowest value holds only it
            batch = [v if v >= floor else floor for v in batch]
        h = self._h
        counts = h.counts
        mask, shift, unit, half = self._mask, self._shift, self._unit, self._half
        drop = unit + shift + 1
        for value in batch:
            bucket = (value | mask).bit_length() - drop
            counts[((bucket + 1) << shift) + (value >> (bucket + unit)) - half] += 1
        h.total_count += len(batch)
        if low < h.min_value:
            h.min_value = low
        if high > h.max_value:
            h.max_value = high

    @property
    def count(self) -> int:
        """Number of recorded values."""
        return int(self._h.total_count)

    def __len__(self) -> int:
        return self.count

    def _counts(self) -> tuple[list[int], tuple[list[int], list[int], list[int]]]:
        """The counts from the min's bucket to the max's, with the tables' same slices.

        Only that range can hold values: latencies cluster, so it is usually a few hundred of
        the 23,552 counters (an interval's summaries took ~3 ms from index 0, blocking the
        event loop every second and showing in the p99 of time to first token).
        """
        h = self._h
        first = self._index(max(h.min_value, self.lowest)) if h.min_value <= h.max_value else 0
        end = self._index(h.max_value) + 1
        lows, highs, mids = _tables(self._unit, self._shift, h.counts_len)
        return h.counts[first:end], (lows[first:end], highs[first:end], mids[first:end])

    def _mean(self) -> float:
        total = self.count
        if not total:
            return 0.0
        counts, (_, _, mids) = self._counts()
        weighted: int = sum(map(mul, counts, mids))
        return weighted / total / self._div

    def _max(self) -> float:
        return float(self._h.get_max_value()) / self._div if self.count else 0.0

    def _min(self) -> float:
        # An empty hdrh histogram reports sys.maxsize or 0 depending on its history.
        return float(self._h.get_min_value()) / self._div if self.count else 0.0

    def _percentiles(self, ps: Sequence[float]) -> dict[float, float]:
        if any(not 0.0 <= p <= 100.0 for p in ps):
            raise ValueError("percentiles must be within 0..100")
        total = self.count
        if not total:
            return dict.fromkeys(ps, 0.0)
        counts, (lows, highs, _) = self._counts()
        cumulative = list(accumulate(counts))
        out = {}
        for p in ps:
            # hdrh's rule: the first bucket whose running count reaches the target; report its
            # highest equivalent value (its lowest for p0).
            index = bisect_left(cumulative, max(int(p * total / 100 + 0.5), 1))
            out[p] = (highs[index] if p else lows[index]) / self._div
        return out

    def cumulative(self, limits: tuple[int, ...]) -> tuple[list[int], int]:
        """A classic histogram's view, in one pass over the counts: how many values are at
        or below each of ``limits`` (ascending, stored integers: µs, or ``value * scale``)
        and the sum of the stored values (bucket midpoints, as the mean).

        A bucket counts once its lowest value is within the limit, so a value equal to a
        limit is always counted; values at most one bucket (0.1 %) above it may be counted
        too, HDR's own resolution."""
        total = self.count
        if not total:
            return [0] * len(limits), 0
        key = (self._unit, self._shift, self.lowest, self.highest, limits)
        indexes = _LIMIT_INDEXES.get(key)
        if indexes is None:  # a limit's bucket is the last one at or below it (-1: none)
            indexes = _LIMIT_INDEXES[key] = [
                self._index(min(limit, self.highest)) if limit >= self.lowest else -1
                for limit in limits
            ]
        h = self._h
        # Only the min's bucket to the max's can hold values (see _counts).
        first = self._index(max(h.min_value, self.lowest))
        last = self._index(h.max_value)
        counts = h.counts[first : last + 1]
        mids = _tables(self._unit, self._shift, h.counts_len)[2][first : last + 1]
        running = list(accumulate(counts))
        below = [0 if i < first else total if i >= last else running[i - first] for i in indexes]
        return below, sum(map(mul, counts, mids))

    def summary(self) -> dict[str, float | int]:
        """``count``, ``mean``, ``p50`` … ``p99.9``, ``max``, ``min`` in the reported unit.

        An empty histogram has ``count`` 0 and every other entry 0.0, so reports need no
        special case; check ``count`` before reading the others as measurements.
        """
        out: dict[str, float | int] = {"count": self.count, "mean": self._mean()}
        for p, v in self._percentiles(PERCENTILES).items():
            out[f"p{p:g}"] = v
        out["max"] = self._max()
        out["min"] = self._min()
        return out

    def encode(self) -> str:
        """HdrHistogram's compressed base64 V2 encoding (ASCII); ``out_of_range`` is not in it."""
        return str(self._h.encode().decode("ascii"))

    @staticmethod
    def _decode_hdr(data: str) -> Any:
        try:
            return HdrHistogram.decode(data.encode("ascii"))
        except Exception as exc:  # hdrh raises TypeError, zlib.error and its own exceptions
            raise ValueError(f"not an encoded HdrHistogram: {exc}") from exc

    def _empty_like(self: _H) -> _H:
        raise NotImplementedError

    def _add(self, other: Any) -> None:
        # hdrh's add() drops min to 0 when either side is empty: skip empties, restore min.
        if not other.total_count:
            return
        h = self._h
        low = h.min_value if h.total_count else sys.maxsize
        h.add(other)
        h.min_value = min(low, other.min_value)

    def merge(self, other: _Base) -> None:
        """Add ``other``'s counts (exact); ``out_of_range`` adds up too.

        Raises ``ValueError`` unless both have the same class, range, digits and scale.
        """
        if (type(other), other.lowest, other.highest, other.digits, other._div) != (
            type(self),
            self.lowest,
            self.highest,
            self.digits,
            self._div,
        ):
            raise ValueError("cannot merge histograms of different kind, range or precision")
        self._add(other._h)
        self.out_of_range += other.out_of_range

    def copy(self: _H) -> _H:
        """An independent histogram with the same counts."""
        new = self._empty_like()
        new.merge(self)
        return new

    def used(self) -> tuple[int, int]:
        """The counts indexes of the lowest and the highest value held ((0, -1): none)."""
        h = self._h
        if not h.total_count:
            return 0, -1
        return self._index(max(h.min_value, self.lowest)), self._index(h.max_value)

    @property
    def counter_bytes(self) -> int:
        """Bytes per counter: a C unsigned long (8, or 4 where C longs are 32-bit)."""
        return int(memoryview(self._h.counts).itemsize)

    def raw_counts(self, first: int, last: int) -> memoryview:
        """Counters ``first..last`` as their memory (native unsigned words): for readers that
        add or subtract many counters at once as one integer (promhist, scopeseries)."""
        size = self.counter_bytes
        return memoryview(self._h.counts).cast("B")[size * first : size * (last + 1)]

    def reset(self) -> None:
        """Forget every value and the out-of-range count; keep the configuration."""
        h = self._h
        if not h.total_count and not self.out_of_range:
            return  # nothing recorded: an interval's scope never touches most of its metrics
        # hdrh's reset() zeroes the 23,552 counters one Python call at a time; only those
        # between the lowest and highest value recorded can be other than 0.
        first, last = self.used()
        size = self.counter_bytes
        ctypes.memset(ctypes.addressof(h.counts) + first * size, 0, (last - first + 1) * size)
        h.total_count = 0
        h.min_value = sys.maxsize
        h.max_value = 0
        self.out_of_range = 0


class Histogram(_Base):
    """Latencies in integer microseconds, reported in milliseconds.

    Values below 1 µs are recorded as 1 µs (a zero gap between two tokens is real and must
    be counted); values above ``highest_us`` are recorded as ``highest_us`` and counted in
    ``out_of_range``.
    """

    __slots__ = ()

    def __init__(
        self, *, lowest_us: int = 1, highest_us: int = 3_600_000_000, digits: int = 3
    ) -> None:
        super().__init__(lowest_us, highest_us, digits, 1000.0)

    def _empty_like(self) -> Histogram:
        return Histogram(lowest_us=self.lowest, highest_us=self.highest, digits=self.digits)

    #: Record one value in µs (``count`` times), clamped into range. An alias, not a
    #: wrapper: it runs several times per request and a call level costs ~10% of it.
    record_us = _Base._record

    def record_seconds(self, seconds: float) -> None:
        """Record a duration taken as a difference of monotonic-clock seconds."""
        self._record(round(seconds * 1e6), 1)

    def record_many_us(self, values: Iterable[int]) -> None:
        """Record a batch, e.g. one response's inter-token gaps when it completes."""
        self._record_many(values)

    @property
    def mean_ms(self) -> float:
        """Mean of the bucket midpoints, as HdrHistogram computes it; 0.0 if empty."""
        return self._mean()

    @property
    def max_ms(self) -> float:
        """Largest value (upper edge of its bucket, as HdrHistogram reports it); 0.0 if empty."""
        return self._max()

    @property
    def min_ms(self) -> float:
        """Smallest value (lower edge of its bucket); 0.0 if empty."""
        return self._min()

    def percentiles_ms(self, ps: Sequence[float] = PERCENTILES) -> dict[float, float]:
        """Values at percentiles ``ps`` (each 0..100) in ms, in one pass; all 0.0 if empty."""
        return self._percentiles(ps)

    @classmethod
    def decode(cls, data: str) -> Histogram:
        """Rebuild from ``encode()``; raise ``ValueError`` if ``data`` is not an encoding."""
        other = cls._decode_hdr(data)
        new = cls(
            lowest_us=other.lowest_trackable_value,
            highest_us=other.highest_trackable_value,
            digits=other.significant_figures,
        )
        new._add(other)
        return new


class ValueHistogram(_Base):
    """A non-time quantity stored as ``round(value * scale)`` and reported in its own unit.

    Tokens per request use scale 1; tokens/s use scale 1000 to keep three decimals. The
    range is in stored integers, 1..10^9 by default: stored values below ``lowest`` are
    recorded as ``lowest``, above ``highest`` as ``highest`` and counted in ``out_of_range``.
    ``scale`` is not part of ``encode()``: pass it again to ``decode``.
    """

    __slots__ = ("scale",)

    def __init__(
        self, *, scale: int = 1, lowest: int = 1, highest: int = 10**9, digits: int = 3
    ) -> None:
        if scale < 1:
            raise ValueError("scale must be a positive integer")
        self.scale = scale
        super().__init__(lowest, highest, digits, float(scale))

    def _empty_like(self) -> ValueHistogram:
        return ValueHistogram(
            scale=self.scale, lowest=self.lowest, highest=self.highest, digits=self.digits
        )

    def record(self, value: float, count: int = 1) -> None:
        """Record one value in its natural unit (``count`` times)."""
        self._record(round(value * self.scale), count)

    def record_many(self, values: Iterable[float]) -> None:
        """Record a batch of values in their natural unit."""
        scale = self.scale
        self._record_many([round(v * scale) for v in values])

    @property
    def mean(self) -> float:
        return self._mean()

    @property
    def max(self) -> float:
        return self._max()

    @property
    def min(self) -> float:
        return self._min()

    def percentiles(self, ps: Sequence[float] = PERCENTILES) -> dict[float, float]:
        """Values at percentiles ``ps`` (each 0..100) in the natural unit, in one pass."""
        return self._percentiles(ps)

    def counts(self) -> list[tuple[float, int]]:
        """(value, count) of every bucket that holds values, ascending: each bucket's lowest
        value in the natural unit (exact for integers below 2 × 10^digits, e.g. tokens)."""
        counts, (lows, _, _) = self._counts() if self.count else ([], ([], [], []))
        return [(low / self._div, n) for n, low in zip(counts, lows, strict=True) if n]

    @classmethod
    def decode(cls, data: str, *, scale: int = 1) -> ValueHistogram:
        """Rebuild from ``encode()`` with the ``scale`` it was recorded with."""
        other = cls._decode_hdr(data)
        new = cls(
            scale=scale,
            lowest=other.lowest_trackable_value,
            highest=other.highest_trackable_value,
            digits=other.significant_figures,
        )
        new._add(other)
        return new
