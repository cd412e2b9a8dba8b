"""Each request name's (and user class's) numbers per interval, from the run's totals (pure).

The recorder keeps one cumulative scope per (name, class, category) and one interval scope
for the whole run; recording each request into a per-name interval scope too would add
histogram work to every request. Instead, at each interval's close, the difference between
a leaf's totals now and at the last close is what that leaf recorded in the interval:
exact for the counts, and exact for the TTFT and E2E histograms (``since``). Cost per leaf
and metric and second: a subtraction of two integers the size of the histogram's used
range, in C, and a Python step per bucket that gained values; the summaries are read from
those buckets too (``_used_brief``). Measured: ~3 ms a second for 5 names.

A scope's interval entry is ``{"requests", "errors", "ttft": Brief, "e2e": Brief}``; the
briefs carry their histogram, so ``--processes`` and ``--ray`` merge them exactly
(``merge_scoped``).
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from itertools import accumulate
from typing import Any, Protocol

from loadgen.core.hist import Histogram, _tables

__all__ = ["METRICS", "HistMark", "ScopeSeries", "brief", "merge_scoped"]

METRICS = ("ttft", "e2e")  # the latencies a scope's series carries (with their histograms)
_GROUPS = (("by_name", 0), ("by_class", 1))
_ZEROS = re.compile(rb"\0*")  # a run of zero bytes: skipped in C


class _Leaf(Protocol):
    """What is read of a recorder's leaf scope (``loadgen.core.stats.Scope``)."""

    requests: int

    @property
    def hists(self) -> Mapping[str, Any]: ...

    @property
    def errors(self) -> Mapping[str, int]: ...


class HistMark:
    """A growing histogram as it was at the last ``since``: its count and its used counts."""

    __slots__ = ("count", "first", "raw")

    def __init__(self) -> None:
        self.count = 0
        self.first = 0
        self.raw = b""

    def since(self, hist: Histogram, into: Sequence[Histogram]) -> list[tuple[int, int]]:
        """Add the values ``hist`` recorded since the mark to each of ``into``; move the mark
        to now; return them as ``(counts index, how many)`` pairs, ascending.

        No count of a growing histogram shrinks and its used range only widens, so the
        difference of the used range's counts read as one integer each (now, and at the mark
        padded to the same range) is the buckets' differences word by word, without borrows:
        one subtraction in C, and only the nonzero words are then read.
        """
        if hist.count <= self.count:
            return []
        now, first, size = _used_counts(hist)
        pad = (self.first - first) * size if self.raw else 0
        was = bytes(pad) + self.raw + bytes(len(now) - pad - len(self.raw))
        order = sys.byteorder  # the words are C unsigned longs, in the machine's order
        diff = int.from_bytes(now, order) - int.from_bytes(was, order)
        raw, i, delta = diff.to_bytes(len(now), order), 0, []
        while (i := _ZEROS.match(raw, i).end() // size * size) < len(raw):  # type: ignore[union-attr]
            delta.append((first + i // size, int.from_bytes(raw[i : i + size], order)))
            i += size
        for out in into:
            _add_counts(out, delta)
        self.count, self.first, self.raw = hist.count, first, bytes(now)
        return delta


def _used_counts(hist: Histogram) -> tuple[memoryview, int, int]:
    """The counts from the min's bucket to the max's as raw bytes (native unsigned words of
    ``size`` bytes), with the first one's index: ``(view, first, size)``."""
    first, last = hist.used()
    return hist.raw_counts(first, last), first, hist.counter_bytes


def _add_counts(hist: Histogram, delta: Sequence[tuple[int, int]]) -> None:
    """Add ``n`` values to the bucket at ``index`` for each ``(index, n)`` (ascending)."""
    if not delta:
        return
    h = hist._h
    for index, n in delta:
        h.counts[index] += n
        h.total_count += n
    lows = _tables(hist._unit, hist._shift, h.counts_len)[0]
    h.min_value = min(h.min_value, lows[delta[0][0]])  # an empty one's is sys.maxsize
    h.max_value = max(h.max_value, lows[delta[-1][0]])


class _Mark:
    """A leaf's totals at the last interval's close."""

    __slots__ = ("errors", "hists", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.hists = {m: HistMark() for m in METRICS}


class _Acc:
    """One scope's interval, being added up from its leaves: the histograms (to encode) and
    the same counts as ``{index: count}`` of the buckets used (to summarise)."""

    __slots__ = ("errors", "hists", "requests", "used")

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.hists = {m: Histogram() for m in METRICS}
        self.used: dict[str, dict[int, int]] = {m: {} for m in METRICS}

    def reset(self) -> None:
        self.requests = self.errors = 0
        for h in self.hists.values():
            h.reset()
        for used in self.used.values():
            used.clear()


class ScopeSeries:
    """Call ``close(leaves)`` at each interval's close; it returns the scopes' entries."""

    def __init__(self) -> None:
        self._marks: dict[tuple[str, str, str | None], _Mark] = {}
        self._accs: dict[tuple[str, str], _Acc] = {}  # (group, scope) → reused accumulator

    def close(
        self, leaves: Mapping[tuple[str, str, str | None], _Leaf]
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """``{"by_name": {name: entry}, "by_class": {...}}`` for this interval: every scope
        seen so far (zero counts when idle), ``by_class`` only when there are several."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for _ in self.closing(leaves, out):
            pass
        return out

    def closing(
        self, leaves: Mapping[tuple[str, str, str | None], _Leaf], out: dict[str, Any]
    ) -> Iterator[None]:
        """``close``, into ``out``, yielding after each leaf and before the summaries, so the
        caller can let the event loop run between them. A leaf's numbers are read in one
        step (its counts and histograms agree); a later leaf's may be read a few ms later."""
        for acc in self._accs.values():
            acc.reset()
        items = list(leaves.items())  # a leaf may be added while this yields
        classes = {key[1] for key, _ in items}
        groups = _GROUPS if len(classes) > 1 else _GROUPS[:1]
        for key, leaf in items:
            accs = [self._acc(group, str(key[part])) for group, part in groups]
            mark = self._marks.get(key)
            if mark is None:
                mark = self._marks[key] = _Mark()
            errors = sum(leaf.errors.values())
            for acc in accs:
                acc.requests += leaf.requests - mark.requests
                acc.errors += errors - mark.errors
            mark.requests, mark.errors = leaf.requests, errors
            hists = leaf.hists
            for m in METRICS:
                delta = mark.hists[m].since(hists[m], [acc.hists[m] for acc in accs])
                for acc in accs:
                    used = acc.used[m]
                    for index, n in delta:
                        used[index] = used.get(index, 0) + n
            yield
        for group, _ in groups:
            out[group] = {}
        for (group, scope), acc in sorted(self._accs.items()):
            if group in out:
                out[group][scope] = {
                    "requests": acc.requests,
                    "errors": acc.errors,
                    **{m: _used_brief(acc.used[m], h) for m, h in acc.hists.items()},
                }
                yield

    def _acc(self, group: str, scope: str) -> _Acc:
        acc = self._accs.get((group, scope))
        if acc is None:
            acc = self._accs[(group, scope)] = _Acc()
        return acc


def brief(hist: Histogram, *, hdr: bool = True) -> dict[str, Any]:
    """An interval's summary of one histogram, with its encoding unless ``hdr`` is False
    (``{"count": 0}`` if empty)."""
    if not hist.count:
        return {"count": 0}
    p = hist.percentiles_ms((50.0, 95.0, 99.0))
    out: dict[str, Any] = {
        "count": hist.count,
        "p50": p[50.0],
        "p95": p[95.0],
        "p99": p[99.0],
        "max": hist.max_ms,
        "mean": hist.mean_ms,
    }
    if hdr:
        out["hdr"] = hist.encode()
    return out


def _used_brief(used: Mapping[int, int], hist: Histogram) -> dict[str, Any]:
    """``brief(hist)``, from ``used``: the buckets ``hist`` holds, ``{index: count}``. The
    same rules as ``Histogram``'s (percentiles by hdrh's rank, mean of bucket midpoints), in
    a step per bucket used rather than per bucket of its range: a second's few values."""
    if not used:
        return {"count": 0}
    h = hist._h
    _, highs, mids = _tables(hist._unit, hist._shift, h.counts_len)
    items = sorted(used.items())
    total = sum(n for _, n in items)
    running = list(accumulate(n for _, n in items))
    out: dict[str, Any] = {"count": total}
    for p in (50.0, 95.0, 99.0):
        at = bisect_left(running, max(int(p * total / 100 + 0.5), 1))
        out[f"p{p:g}"] = highs[items[at][0]] / 1000.0
    out["max"] = highs[items[-1][0]] / 1000.0
    out["mean"] = sum(n * mids[i] for i, n in items) / total / 1000.0
    out["hdr"] = hist.encode()
    return out


def merge_scoped(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """The parts' ``by_name``/``by_class`` entries of one second, added up (histograms
    merged exactly); empty when no part recorded any."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for group, _ in _GROUPS:
        entries: dict[str, list[Mapping[str, Any]]] = {}
        for record in records:
            for scope, entry in (record.get(group) or {}).items():
                entries.setdefault(scope, []).append(entry)
        if entries:
            out[group] = {scope: _merge_entry(items) for scope, items in sorted(entries.items())}
    return out


def _merge_entry(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "requests": sum(int(i.get("requests", 0)) for i in items),
        "errors": sum(int(i.get("errors", 0)) for i in items),
    }
    for m in METRICS:
        total = Histogram()
        for item in items:
            b = item.get(m) or {}
            if b.get("count") and "hdr" in b:
                total.merge(Histogram.decode(b["hdr"]))
        out[m] = brief(total)
    return out
