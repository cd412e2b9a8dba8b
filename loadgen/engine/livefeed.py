"""What the live page shows, kept up to date from a runner's interval snapshots.

An ``Engine`` has its recorder: checks and the per-scope tables are computed from the
statistics so far (no histograms encoded, at most every ``_TABLES_EVERY`` seconds). A
distributed run (``--processes``, ``--ray``) publishes the merged interval records only: its
totals and the thresholds the driver can judge live (loadgen.core.live) are shown, the rest
are judged at the end, and there are no per-scope tables.
"""

from __future__ import annotations

import time
from typing import Any

from loadgen.core.health import assess
from loadgen.core.live import Aborts, judged_live
from loadgen.core.slo import overall_values
from loadgen.core.thresholds import evaluate
from loadgen.report.livedata import charts, event_label, limit_lines, point
from loadgen.report.livestatus import breakpoint_table, limit_rows, scope_tables, totals
from loadgen.report.namecharts import MAX_NAMES

__all__ = ["LiveFeed"]

_TABLES_EVERY = 2.0  # s between two computations of the per-scope tables and checks
_HEALTH_EVERY = 5.0


class LiveFeed:
    """Feed it each snapshot (``take``); ``init()`` is what a page that connects now gets."""

    def __init__(self, runner: Any, *, control: dict[str, Any]) -> None:
        """``control``: what the page may ask, ``{"stop": bool, "hold": bool, "note": str}``."""
        self.runner = runner
        self.profile = runner.profile
        self.control = getattr(runner, "control", runner)  # Engine holds one; MergedRun is one
        self.allowed = control
        self.records: list[dict[str, Any]] = []
        self.points: list[dict[str, float | None]] = []
        self.names: list[str] = []  # the request names drawn: the first MAX_NAMES seen
        self._want = [line["key"] for line in self._limits()]  # what the limit lines read
        self._aborts = Aborts([])
        self._tables_at = self._health_at = 0.0
        self.status: dict[str, Any] = {
            "state": "starting",
            "totals": {},
            "checks": [],
            "tables": [],
            "health": [],
            "in_flight": None,
            "level": None,
            "breakpoint": None,
        }

    def take(self, record: dict[str, Any]) -> dict[str, float | None]:
        """Keep one interval record; return its chart point."""
        self.records.append(record)
        self._aborts.add(record)
        for name in sorted(record.get("by_name") or {}):
            if len(self.names) < MAX_NAMES and name not in self.names:
                self.names.append(name)
        p = point(record, self.names, self._want)
        self.points.append(p)
        elapsed = float(record["t"]) + float(record.get("length", 0.0))
        self._refresh(elapsed)
        return p

    def _refresh(self, elapsed: float) -> None:
        now = time.monotonic()
        status = self.status
        status["state"] = "stopping" if self.control.stopping else "running"
        status["in_flight"] = getattr(self.runner, "in_flight", None)
        steering = getattr(self.control, "steering", None)
        status["held"] = None if steering is None else steering.held
        recorder = getattr(self.runner, "recorder", None)
        if recorder is None:
            view = self._aborts.view()
            status["totals"] = totals(view["scopes"]["overall"], elapsed)
            if now - self._tables_at >= _TABLES_EVERY:
                self._tables_at = now
                live = [t for t in self.profile.thresholds if judged_live(t)]
                status["checks"] = limit_rows(evaluate(live, view), "threshold")
        elif now - self._tables_at >= _TABLES_EVERY or not status["totals"]:
            self._tables_at = now
            view = self._recorder_view(recorder, elapsed)
            status["totals"] = totals(view["scopes"]["overall"], elapsed)
            status["checks"] = self._checks(view)
            status["tables"] = scope_tables(view["scopes"])
            status["breakpoint"] = breakpoint_table(getattr(self.runner, "breakpoint_so_far", None))
        if now - self._health_at >= _HEALTH_EVERY:
            self._health_at = now
            warnings = assess(self.records)["warnings"]
            status["health"] = [str(w.get("plain") or w.get("what") or "") for w in warnings]

    def _checks(self, view: dict[str, Any]) -> list[dict[str, Any]]:
        rows = limit_rows(evaluate(list(self.profile.thresholds), view), "threshold")
        slo = self.profile.slo
        if slo.declared:
            overall = view["scopes"]["overall"]
            rows += limit_rows(slo.records(overall_values(overall)), "slo")
        return rows

    @staticmethod
    def _recorder_view(recorder: Any, elapsed: float) -> dict[str, Any]:
        """The statistics so far in the result's shape (no histograms encoded)."""

        def scopes(table: dict[str, Any]) -> dict[str, Any]:
            return {k: v.to_dict(elapsed, with_hdr=False) for k, v in sorted(table.items())}

        return {
            "scopes": {
                "overall": recorder.overall.to_dict(elapsed, with_hdr=False),
                "by_name": scopes(recorder.by_name),
                "by_class": scopes(recorder.by_class),
                "by_category": scopes(recorder.by_category),
            },
            "load": {"dropped": recorder.dropped},
        }

    def _limits(self) -> list[dict[str, Any]]:
        """The profile's thresholds and SLOs drawn as lines on the percentile charts."""
        thresholds = [
            {"expr": t.expr, "metric": t.metric, "stat": t.stat}
            | {"scope": {t.scope[0]: t.scope[1]} if t.scope else {}}
            | {"limit": t.limit, "unit": t.unit}
            for t in self.profile.thresholds
        ]
        return limit_lines([*thresholds, *self.profile.slo.records({})])

    def init(self) -> dict[str, Any]:
        """The page's whole state now: charts, points so far as columns, events, status."""
        keys = sorted({k for p in self.points for k in p} | {"t"})
        return {
            "type": "init",
            "data": {
                "name": self.profile.name,
                "unit": self.profile.load.unit,
                "charts": charts(server=self.profile.target.metrics is not None),
                "columns": {k: [p.get(k) for p in self.points] for k in keys},
                "events": [
                    {"t": e["t"], "label": event_label(e), "kind": "control"}
                    for e in getattr(self.control, "events", [])
                ],
                "limits": self._limits(),
            },
            "status": self.status,
            "control": self.allowed,
        }
