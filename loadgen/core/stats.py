"""Aggregate samples into HDR histograms per scope and per one-second interval.

Sans-I/O: the engine calls ``add(sample)`` as requests finish and ``take_interval`` then
``describe`` (or ``close_interval``, both at once) once a second; everything else reads the
returned records. A scope's own bookkeeping is ``loadgen.core.scope``. Memory is bounded by
the number of request names, not requests: no per-request list is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from loadgen.core import metrics
from loadgen.core.hist import Histogram, ValueHistogram
from loadgen.core.measure import BATCH, US, measure, plan
from loadgen.core.metrics import Metric
from loadgen.core.sample import Sample
from loadgen.core.scope import Scope
from loadgen.core.scopeseries import brief

__all__ = ["Recorder", "Scope", "TakenInterval"]


@dataclass(slots=True)
class TakenInterval:
    """An ended interval, as ``Recorder.take_interval`` swapped it out; ``record`` is filled
    by ``Recorder.describe``."""

    scope: Scope
    sched: Histogram
    loop: Histogram
    start: float
    end: float
    users: int
    tallies: tuple[int, int, int]  # dropped, sent, good
    counters: Counter[str]
    record: dict[str, Any] = field(default_factory=dict)


class Recorder:
    """Counts every finished request into its scopes and into the current interval."""

    def __init__(self, start: float, good: Callable[[Sample], bool] | None = None) -> None:
        self.start = start
        self._good = good
        # Each request is recorded once, into the scope of its (name, class, category);
        # overall and per-name/class/category scopes are exact merges of these leaves, made
        # when asked for. Recording into 4 scopes per request cost 4x the histogram work.
        self._leaves: dict[tuple[str, str, str | None], Scope] = {}
        self._schedule_lag = Histogram()
        self.loop_lag = Histogram()
        self.dropped = 0
        self.error_examples: dict[tuple[str, str, int | None], list[Any]] = {}
        self._kept = metrics.scoped()
        self._plan = plan(self._kept)
        self._per_second = [m for m in metrics.per_second() if m in self._kept or not m.scoped]
        self._interval = Scope(light=True, kept=self._kept)
        self._interval_sched = Histogram()
        self._lags: list[float] = []  # schedule lags not yet recorded (see BATCH)
        self._interval_loop = Histogram()
        # Zeroed interval scopes and histograms, swapped in by take_interval.
        self._spares: list[tuple[Scope, Histogram, Histogram]] = []
        self._interval_start = start
        self._interval_dropped = 0
        self._interval_sent = 0
        self.good = 0
        self._interval_good = 0
        self.intervals_closed = 0
        self.counters: Counter[str] = Counter()
        self._interval_counters: Counter[str] = Counter()
        self.checks: dict[str, list[int]] = {}
        self.observed: dict[str, ValueHistogram] = {}

    def add(self, s: Sample) -> None:
        if self._good is not None and not s.interrupted and self._good(s):
            self.good += 1
            self._interval_good += 1
        values = measure(self._plan, s) if not s.interrupted else ()
        lags = self._lags
        lags.append(s.schedule_lag)
        if len(lags) >= BATCH:
            self._flush_lags()
        key = (s.name, s.user_class, s.category)
        leaf = self._leaves.get(key)
        if leaf is None:
            leaf = self._leaves[key] = Scope(kept=self._kept)
        leaf.add(s, values)
        self._interval.add(s, values)
        if s.error is not None:
            example_key = (s.error.value, s.name, s.status)
            entry = self.error_examples.setdefault(example_key, [0, s.message])
            entry[0] += 1

    @property
    def leaves(self) -> dict[tuple[str, str, str | None], Scope]:
        """The scope of each (request name, user class, category), as recorded: the live
        exporter sums these itself rather than merging histograms every second."""
        return self._leaves

    @property
    def overall(self) -> Scope:
        return _merge(self._leaves.values(), self._kept)

    @property
    def by_name(self) -> dict[str, Scope]:
        return self._grouped(0)

    @property
    def by_class(self) -> dict[str, Scope]:
        return self._grouped(1)

    @property
    def by_category(self) -> dict[str, Scope]:
        return self._grouped(2)

    def _grouped(self, part: int) -> dict[str, Scope]:
        groups: dict[str, list[Scope]] = {}
        for key, leaf in self._leaves.items():
            if key[part] is not None:
                groups.setdefault(str(key[part]), []).append(leaf)
        return {k: _merge(v, self._kept) for k, v in groups.items()}

    def count(self, name: str, n: int = 1) -> None:
        """A custom counter (``count:`` in a step, or one loadgen keeps, like ws drops)."""
        self.counters[name] += n
        self._interval_counters[name] += n

    def observe(self, name: str, value: float) -> None:
        """A custom histogram's value (``observe:`` in a step)."""
        hist = self.observed.get(name)
        if hist is None:
            hist = self.observed[name] = ValueHistogram(scale=1000)
        hist.record(max(value, 0.001))

    def check(self, name: str, ok: bool) -> None:
        """A declared check's outcome (failures also mark their request as a ``check`` error)."""
        tally = self.checks.setdefault(name, [0, 0])
        tally[0 if ok else 1] += 1

    @property
    def schedule_lag(self) -> Histogram:
        """Intended start → send of every request so far (the generator's own delay)."""
        self._flush_lags()
        return self._schedule_lag

    def _flush_lags(self) -> None:
        """Record the batched schedule lags into the run's and the interval's histograms."""
        lags, self._lags = self._lags, []
        if lags:
            batch = [round(v * US) for v in lags]
            self._schedule_lag.record_many_us(batch)
            self._interval_sched.record_many_us(batch)

    def add_dropped(self) -> None:
        """An open-model arrival found max_in_flight requests running and was not sent."""
        self.dropped += 1
        self._interval_dropped += 1

    def add_sent(self) -> None:
        """An open-model arrival was sent (the arrival chart draws these, not completions)."""
        self._interval_sent += 1

    def add_loop_lag(self, seconds: float) -> None:
        us = round(seconds * US)
        self.loop_lag.record_us(us)
        self._interval_loop.record_us(us)

    @property
    def interval_pending(self) -> bool:
        """Whether the current interval holds anything (the last one must not be lost)."""
        i = self._interval
        return bool(
            i.requests
            or i.interrupted
            or i.cancelled
            or self._interval_counters
            or self._interval_dropped
        )

    def close_interval(self, now: float, users: int) -> dict[str, Any]:
        """Finish the current interval and return its record (time series + HDR for hlog)."""
        taken = self.take_interval(now, users)
        for _ in self.describe(taken):
            pass
        return taken.record

    def take_interval(self, now: float, users: int) -> TakenInterval:
        """End the current interval at ``now`` and start the next: the interval's scope and
        histograms are swapped for spare ones, so this costs microseconds however much the
        interval holds; ``describe`` makes its record later, between other events."""
        self._flush_lags()
        taken = TakenInterval(
            self._interval,
            self._interval_sched,
            self._interval_loop,
            self._interval_start,
            now,
            users,
            (self._interval_dropped, self._interval_sent, self._interval_good),
            self._interval_counters,
        )
        if self._spares:
            self._interval, self._interval_sched, self._interval_loop = self._spares.pop()
        else:
            self._interval = Scope(light=True, kept=self._kept)
            self._interval_sched, self._interval_loop = Histogram(), Histogram()
        self._interval_start = now
        self._interval_dropped = self._interval_sent = self._interval_good = 0
        self._interval_counters = Counter()
        self.intervals_closed += 1
        return taken

    def describe(self, taken: TakenInterval) -> Iterator[None]:
        """Fill ``taken.record``, yielding between the metrics' summaries (each encodes a
        histogram: ~0.1-0.3 ms) so that the caller can let the event loop run meanwhile."""
        scope = taken.scope
        length = taken.end - taken.start
        dropped, sent, good = taken.tallies
        record = taken.record
        record.update(
            {
                "t": round(taken.start - self.start, 3),
                "length": round(length, 3),
                "users": taken.users,
                "requests": scope.requests,
                "ok": scope.ok,
                "errors": sum(scope.errors.values()),
                "errors_by_kind": dict(scope.errors),
                "interrupted": scope.interrupted,
                "cancelled": scope.cancelled,
                "dropped": dropped,
                "sent": sent,
                "good": good,
                "counters": dict(taken.counters),
                "rate_limited": scope.errors.get("http_429", 0),
                "rps": scope.requests / length if length > 0 else 0.0,
                "output_tokens": scope.output_tokens,
                "output_tps": scope.output_tokens / length if length > 0 else 0.0,
                "input_tokens": scope.tally.input_tokens,
                "input_tps": scope.tally.input_tokens / length if length > 0 else 0.0,
            }
        )
        own = {"schedule_lag": taken.sched, "loop_lag": taken.loop}  # the generator's
        hists = scope.hists  # records the rows still pending: its own step
        yield
        for m in self._per_second:
            hist = hists[m.name] if m.scoped else own[m.name]
            record[m.name] = brief(cast(Histogram, hist), hdr=m.per_second == "hdr")
            yield
        # The same histograms serve a later interval, zeroed: a new set every second (a
        # ~240 KB counts array each) grew the process by ~30 MiB over a 4-minute soak as the
        # allocator fragmented; reset() zeroes only the used range.
        scope.reset()
        taken.sched.reset()
        taken.loop.reset()
        self._spares.append((scope, taken.sched, taken.loop))

    def to_result(self, duration: float) -> dict[str, Any]:
        """Everything the recorder knows, as the result JSON holds it (SPEC §4)."""
        overall = self.overall.to_dict(duration) | {
            "good": self.good,
            "goodput": self.good / duration if duration > 0 else 0.0,
        }
        return {
            "scopes": {
                "overall": overall,
                "by_name": {k: v.to_dict(duration) for k, v in sorted(self.by_name.items())},
                "by_class": {k: v.to_dict(duration) for k, v in sorted(self.by_class.items())},
                "by_category": {
                    k: v.to_dict(duration) for k, v in sorted(self.by_category.items())
                },
            },
            "schedule_lag": self.schedule_lag.summary() | {"hdr": self.schedule_lag.encode()},
            "loop_lag": self.loop_lag.summary() | {"hdr": self.loop_lag.encode()},
            "errors": self.errors_table(),
            "custom": {
                "counters": dict(sorted(self.counters.items())),
                "checks": {
                    k: {"passes": v[0], "fails": v[1]} for k, v in sorted(self.checks.items())
                },
                "histograms": {
                    k: h.summary() | {"hdr": h.encode(), "scale": h.scale}
                    for k, h in sorted(self.observed.items())
                },
            },
        }

    def errors_table(self) -> list[dict[str, Any]]:
        rows = [
            {"kind": kind, "name": name, "status": status, "count": count, "example": message}
            for (kind, name, status), (count, message) in self.error_examples.items()
        ]
        return sorted(rows, key=lambda r: -int(r["count"]))


def _merge(scopes: Iterable[Scope], kept: tuple[Metric, ...]) -> Scope:
    merged = Scope(kept=kept)
    for scope in scopes:
        merged.merge(scope)
    return merged
