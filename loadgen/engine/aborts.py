"""``abort_on_fail`` thresholds judged on the live statistics, once per closed interval."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loadgen.core.stats import Recorder
from loadgen.core.thresholds import Threshold, evaluate

__all__ = ["failed_abort"]


def failed_abort(
    thresholds: Sequence[Threshold], rec: Recorder, elapsed: float
) -> dict[str, Any] | None:
    """The verdict of the first ``abort_on_fail`` threshold past its ``after`` delay that
    fails on the statistics so far, or None."""
    due = [t for t in thresholds if t.abort_on_fail and elapsed >= t.after]
    if not due:
        return None
    scopes: dict[str, Any] = {
        "overall": rec.overall.to_dict(elapsed, with_hdr=False),
        "by_name": {},
        "by_class": {},
        "by_category": {},
    }
    live = {"scopes": scopes, "load": {"dropped": rec.dropped}}
    tables = {"name": rec.by_name, "class": rec.by_class, "category": rec.by_category}
    for t in due:
        if t.scope is not None and t.scope[1] in tables[t.scope[0]]:
            scope = tables[t.scope[0]][t.scope[1]].to_dict(elapsed, with_hdr=False)
            scopes[f"by_{t.scope[0]}"][t.scope[1]] = scope
    for verdict in evaluate(due, live):
        if not verdict["ok"] and verdict["value"] is not None:
            return verdict
    return None
