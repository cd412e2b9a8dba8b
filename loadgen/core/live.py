"""Live merging of the segments' interval records, and abort rules judged on the merged view.

Pure: the runners feed each part's interval records as they arrive (``add``), say which
parts have ended (``ended``), and take back merged records (``ready``) when every running
part has reported a second, or when a straggler is more than ``grace`` seconds late (a
stalled or dead worker must not freeze the live line). ``Aborts`` keeps the running totals
of the merged records and judges the ``abort_on_fail`` thresholds on them, exactly as one
engine judges its own: globally, not per worker.

The interval records carry histograms only for the registry's ``live`` metrics (ttft, e2e
and itl) and no per-name scopes, so an abort rule on another histogram metric (ttfb, tpot,
tokens) or on a scope cannot be judged here; ``split_thresholds`` leaves those to the
workers (each on its own share), and the runner stops every worker when one of them aborts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from loadgen.core import metrics
from loadgen.core.hist import Histogram
from loadgen.core.merge import merge_interval
from loadgen.core.thresholds import Threshold, evaluate

__all__ = ["Aborts", "LiveMerge", "split_thresholds", "worker_thresholds_set"]


def judged_live(t: Threshold) -> bool:
    """Whether the merged interval records hold what this threshold reads."""
    metric = metrics.get(t.metric)
    if t.scope is not None or (metric is not None and metric not in metrics.live()):
        return False
    return not (t.metric == "output_tps" and t.stat not in ("mean", "rate"))


def split_thresholds(
    thresholds: Sequence[Threshold],
) -> tuple[list[Threshold], list[Threshold]]:
    """(abort rules the driver judges on the merged view, thresholds the workers get).

    Workers keep every threshold (their results still show them), but ``abort_on_fail``
    only on those the driver cannot judge live.
    """
    driver = [t for t in thresholds if t.abort_on_fail and judged_live(t)]
    workers = [replace(t, abort_on_fail=False) if t in driver else t for t in thresholds]
    return driver, workers


def worker_thresholds_set(thresholds: Sequence[Threshold]) -> str:
    """``--set thresholds=[...]`` (YAML flow) that gives a worker process these thresholds."""
    import json

    items = []
    for t in thresholds:
        item: dict[str, Any] = {"expr": t.expr}
        if t.abort_on_fail:
            item["abort_on_fail"] = True
            item["after"] = f"{t.after}s"
        items.append(item)
    return "thresholds=" + json.dumps(items)


class LiveMerge:
    """Match parts' interval records on wall-clock seconds and hand out merged records."""

    def __init__(self, parts: int, start: float, *, grace: float = 1.5) -> None:
        self.start = start  # the agreed start (epoch seconds on the driver's clock)
        self.grace = grace
        self._running = set(range(parts))
        self._pending: dict[int, dict[int, dict[str, Any]]] = {}
        self._latest: dict[int, int] = {}
        self._next = 0

    def add(self, part: int, started: float, record: dict[str, Any]) -> None:
        """One interval record of ``part``, whose run started at ``started`` (driver clock)."""
        key = round(started + float(record["t"]) - self.start)
        if key < self._next:
            return  # already handed out without this part (it was late): keep the line moving
        self._pending.setdefault(key, {})[part] = record
        self._latest[part] = max(self._latest.get(part, -1), key)

    def ended(self, part: int) -> None:
        self._running.discard(part)

    def ready(self, now: float) -> list[dict[str, Any]]:
        """Merged records of every second all running parts reported, or that is overdue."""
        out = []
        while self._pending:
            key = min(self._pending)
            complete = all(self._latest.get(p, -1) >= key for p in self._running)
            overdue = now > self.start + key + 1.0 + self.grace
            if not (complete or overdue or not self._running):
                break
            records = self._pending.pop(key)
            self._next = key + 1
            out.append(merge_interval(float(key), [records[p] for p in sorted(records)]))
        return out


class Aborts:
    """Running totals of the merged intervals and the abort rules judged on them."""

    def __init__(self, rules: Sequence[Threshold]) -> None:
        self.rules = list(rules)
        self.hists = {m.name: Histogram() for m in metrics.live()}
        self.totals: Counter[str] = Counter()
        self.errors_by_kind: Counter[str] = Counter()
        self.elapsed = 0.0

    def add(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Count one merged record; return the failed verdict when a rule says stop."""
        for key in (
            "requests",
            "ok",
            "errors",
            "interrupted",
            "cancelled",
            "dropped",
            "output_tokens",
            "input_tokens",
        ):
            self.totals[key] += int(record.get(key, 0))
        self.errors_by_kind.update(record.get("errors_by_kind", {}))
        for m, hist in self.hists.items():
            brief = record.get(m, {})
            if brief.get("count"):
                hist.merge(Histogram.decode(brief["hdr"]))
        self.elapsed = float(record["t"]) + float(record.get("length", 1.0))
        due = [t for t in self.rules if self.elapsed >= t.after]
        if not due:
            return None
        for verdict in evaluate(due, self.view()):
            if not verdict["ok"] and verdict["value"] is not None:
                return verdict
        return None

    def view(self) -> dict[str, Any]:
        """The totals in the result's shape (overall scope only), for ``evaluate``."""
        requests, elapsed = self.totals["requests"], self.elapsed
        overall = {
            "requests": requests,
            "ok": self.totals["ok"],
            "errors": self.totals["errors"],
            "errors_by_kind": dict(self.errors_by_kind),
            "interrupted": self.totals["interrupted"],
            "cancelled": self.totals["cancelled"],  # live abort rules may judge cancelled.*
            "rps": requests / elapsed if elapsed > 0 else 0.0,
            "output_tokens": self.totals["output_tokens"],
            "output_tps": self.totals["output_tokens"] / elapsed if elapsed > 0 else 0.0,
            "input_tps": self.totals["input_tokens"] / elapsed if elapsed > 0 else 0.0,
            "metrics": {m: dict(h.summary()) for m, h in self.hists.items()},
        }
        return {
            "scopes": {"overall": overall, "by_name": {}, "by_class": {}, "by_category": {}},
            "load": {"dropped": self.totals["dropped"]},
        }
