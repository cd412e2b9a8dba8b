"""Everything kept for one scope (overall, a request name, a user class, a category, an
interval): counts and one histogram per metric of the registry, recorded in adaptive batches.

Sans-I/O. The recorder (``loadgen.core.stats``) keeps one per (name, class, category) and one
for the interval open; the rest are exact merges of those.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from loadgen.core import metrics
from loadgen.core.hist import Histogram, ValueHistogram
from loadgen.core.measure import BATCH, FLUSH_BUDGET, Values, batch_recorder
from loadgen.core.metrics import Metric
from loadgen.core.sample import Sample
from loadgen.core.tokentally import TokenTally

__all__ = ["Scope"]


@dataclass
class Scope:
    """Everything kept for one scope (overall, a request name, a user class, a category)."""

    requests: int = 0
    ok: int = 0
    interrupted: int = 0
    cancelled: int = 0  # the user abandoned the answer (cancel:): neither ok nor an error
    errors: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    output_tokens: int = 0
    content_events: int = 0
    usage_tokens: int = 0  # over requests that had both usage and events
    usage_events: int = 0
    usage_rejected: int = 0  # requests whose usage count was implausible (events used)
    token_sources: Counter[str] = field(default_factory=Counter)
    without_done: Counter[str] = field(default_factory=Counter)  # by how the stream ended
    tally: TokenTally = field(default_factory=TokenTally)  # input tokens, calibrations
    light: bool = False  # an interval's scope: only what the time series shows
    kept: tuple[Metric, ...] = field(default_factory=metrics.scoped)  # the registry's, at birth
    _hists: dict[str, Histogram | ValueHistogram] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._hists = {m.name: metrics.new_hist(m) for m in self.kept}
        # (index in the values, how to record a batch of it) of each metric this scope
        # records (a light one only those of the per-second record); bound to the
        # histograms, which reset() zeroes in place and are never replaced once requests
        # are added.
        self._plan = [
            (i, batch_recorder(m, self._hists[m.name]))
            for i, m in enumerate(self.kept)
            if m.per_second or not self.light
        ]
        self._pending: list[Values] = []  # measured, not yet in the histograms
        self._batch = 16  # flush at this many pending requests (``_flush`` adapts it)

    @property
    def hists(self) -> dict[str, Histogram | ValueHistogram]:
        """The histograms by metric name, every added request recorded."""
        if self._pending:
            self._flush()
        return self._hists

    def _flush(self) -> None:
        started = perf_counter()
        rows, self._pending = self._pending, []
        for i, record in self._plan:
            batch = [v for row in rows if (v := row[i]) is not None]
            if batch:
                record(batch)
        # A batch is recorded in one go, between two events of the loop: long answers (many
        # inter-token gaps each) make it a pause every stream in flight waits out, so the batch
        # halves while a flush takes longer than FLUSH_BUDGET and grows back when it is cheap.
        spent = perf_counter() - started
        if spent > FLUSH_BUDGET and self._batch > 1:
            self._batch //= 2
        elif spent < FLUSH_BUDGET * 0.375 and self._batch < BATCH and len(rows) >= self._batch:
            self._batch *= 2

    def add(self, s: Sample, values: Values) -> None:
        """Count one finished request; ``values`` are its measures (``measure``)."""
        if s.interrupted:
            self.interrupted += 1
            return
        if s.cancelled:  # its own outcome: only the metrics a cancelled request yields
            self.cancelled += 1
            self._pending.append(values)
            return
        self.requests += 1
        light = self.light
        if s.status is not None and not light:
            self.statuses[s.status] += 1
        error = s.error
        if error is not None:
            self.errors[error.value] += 1
        else:
            self.ok += 1
        pending = self._pending
        pending.append(values)
        if len(pending) >= self._batch:
            self._flush()
        if error is not None or s.end is None:
            return
        tokens, source = s.output_tokens
        self.output_tokens += tokens
        if light:  # an interval's record keeps the token totals only
            self.tally.input_tokens += s.input_tokens or 0
            return
        self.tally.add(s)
        events = len(s.token_times)
        usage = s.usage_tokens
        if events or usage is not None:  # a chat, not a plain request
            self.token_sources[source] += 1
        self.content_events += events
        if usage is not None:
            self.usage_tokens += usage
            self.usage_events += events
        elif s.usage_rejected is not None:
            self.usage_rejected += 1
        if s.without_done:
            self.without_done[s.without_done] += 1

    def reset(self) -> None:
        """Zero everything, keeping the histograms' memory (the interval scope is reused)."""
        self._pending.clear()
        for hist in self._hists.values():
            hist.reset()
        self.requests = self.ok = self.interrupted = self.cancelled = 0
        self.output_tokens = self.content_events = self.usage_tokens = self.usage_events = 0
        self.usage_rejected = 0
        self.errors.clear()
        self.statuses.clear()
        self.token_sources.clear()
        self.without_done.clear()
        self.tally.reset()

    def merge(self, other: Scope) -> None:
        for name, hist in self.hists.items():
            if name in other.hists:
                hist.merge(other.hists[name])
        self.requests += other.requests
        self.ok += other.ok
        self.interrupted += other.interrupted
        self.cancelled += other.cancelled
        self.errors.update(other.errors)
        self.statuses.update(other.statuses)
        self.output_tokens += other.output_tokens
        self.content_events += other.content_events
        self.usage_tokens += other.usage_tokens
        self.usage_events += other.usage_events
        self.usage_rejected += other.usage_rejected
        self.token_sources.update(other.token_sources)
        self.without_done.update(other.without_done)
        self.tally.merge(other.tally)

    def to_dict(self, duration: float, *, with_hdr: bool = True) -> dict[str, Any]:
        """The scope as the result JSON holds it (SPEC §4)."""
        errors = sum(self.errors.values())
        out: dict[str, Any] = {
            "requests": self.requests,
            "ok": self.ok,
            "errors": errors,
            "errors_by_kind": dict(sorted(self.errors.items())),
            "error_rate": errors / self.requests if self.requests else 0.0,
            "interrupted": self.interrupted,
            "cancelled": self.cancelled,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "rps": self.requests / duration if duration > 0 else 0.0,
            "output_tokens": self.output_tokens,
            "content_events": self.content_events,
            "output_tps": self.output_tokens / duration if duration > 0 else 0.0,
            "token_source": dict(self.token_sources),
            "usage_vs_events": {
                "usage_tokens": self.usage_tokens,
                "content_events": self.usage_events,
                "difference": self.usage_tokens - self.usage_events,
                "rejected": self.usage_rejected,
            },
            "without_done": dict(sorted(self.without_done.items())),
            **self.tally.to_dict(duration),
            "metrics": {},
        }
        for m in self.kept:
            hist = self.hists[m.name]
            summary: dict[str, Any] = dict(hist.summary())
            if with_hdr:
                summary["hdr"] = hist.encode()
                if isinstance(hist, ValueHistogram):
                    summary["scale"] = hist.scale
            out["metrics"][m.name] = summary
        return out
