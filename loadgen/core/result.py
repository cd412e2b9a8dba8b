"""The result: one versioned JSON document a run writes and every report reads (SPEC §4).

Reports, ``compare`` and ``merge`` need nothing but this file. ``Result`` is a thin typed view
over the JSON data (``result.metrics["ttft"].p95``); the data itself stays plain so it
round-trips exactly.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadgen.core import resultdoc
from loadgen.core.verdict import Verdict, judge

__all__ = ["SCHEMA", "MetricSummary", "Result", "load_result"]

SCHEMA = resultdoc.SCHEMA


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """Percentiles of one metric in milliseconds (counts for token metrics)."""

    count: int
    mean: float
    p50: float
    p90: float
    p95: float
    p99: float
    p999: float
    max: float
    min: float

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricSummary:
        return cls(
            count=int(d.get("count", 0)),
            mean=float(d.get("mean", 0.0)),
            p50=float(d.get("p50", 0.0)),
            p90=float(d.get("p90", 0.0)),
            p95=float(d.get("p95", 0.0)),
            p99=float(d.get("p99", 0.0)),
            p999=float(d.get("p99.9", 0.0)),
            max=float(d.get("max", 0.0)),
            min=float(d.get("min", 0.0)),
        )


@dataclass(frozen=True)
class Result:
    """A finished (or cut-short) run; ``data`` is the result JSON."""

    data: dict[str, Any]
    path: Path | None = None

    @property
    def doc(self) -> resultdoc.ResultDoc:
        """``data`` typed (``loadgen.core.resultdoc``): the keys a reader may rely on."""
        return resultdoc.as_doc(self.data)

    @property
    def overall(self) -> dict[str, Any]:
        return dict(self.doc["scopes"]["overall"])

    @property
    def metrics(self) -> dict[str, MetricSummary]:
        """Overall summaries by metric name: ttfb, ttft, itl, tpot, e2e, output_tokens, …"""
        metrics = self.doc["scopes"]["overall"]["metrics"]
        return {k: MetricSummary.from_dict(v) for k, v in metrics.items()}

    def scope(self, kind: str, key: str) -> dict[str, Any]:
        """One scope: kind is ``name``, ``class`` or ``category``."""
        return dict(self.data["scopes"][f"by_{kind}"][key])

    @property
    def requests(self) -> int:
        return self.doc["scopes"]["overall"]["requests"]

    @property
    def errors(self) -> dict[str, int]:
        return dict(self.doc["scopes"]["overall"]["errors_by_kind"])

    @property
    def intervals(self) -> list[dict[str, Any]]:
        return list(self.data["intervals"])

    @property
    def interrupted(self) -> bool:
        return bool(self.doc["run"].get("interrupted"))

    @property
    def verdict(self) -> Verdict:
        """The one verdict every output shows (``loadgen.core.verdict``)."""
        return judge(self.doc)

    @property
    def exit_code(self) -> int:
        """SPEC §3: 130 when interrupted, 1 when a gating check failed, else 0."""
        return self.verdict.exit_code

    def save(self, path: Path) -> None:
        """Write atomically: a reader never sees half a file. The verdict is written beside
        the data for readers of the JSON; loadgen itself always judges the data afresh."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        data = {**self.data, "verdict": self.verdict.to_dict()}
        try:
            with tmp.open("w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(path)
        except BaseException:  # a full disk, a kill: never leave a half-written .tmp behind
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise


def load_result(path: str | Path) -> Result:
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a loadgen result (schema {SCHEMA!r} expected)")
    return Result(data, path)
