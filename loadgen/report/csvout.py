"""CSV files for spreadsheets and scripts: stats per scope, the interval history, failures.

Numbers are written unformatted (full precision, latencies in ms) so a script reading the
CSV gets the result's own values. ``requests.csv`` (one row per request) is written by the
run itself when ``report.raw: true``; the result does not hold per-request data, so it is
copied from beside the result when present.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from loadgen.core import metrics
from loadgen.core.result import Result
from loadgen.core.safetext import csv_cell

__all__ = ["HISTORY_COLUMNS", "STATS_COLUMNS", "history_columns", "stats_columns", "write_csv"]

_STATS = ("count", "mean", "p50", "p90", "p95", "p99", "p99.9", "max", "min")
_BRIEF = ("count", "p50", "p95", "p99", "max", "mean")


def _stats_metrics() -> list[str]:
    """stats.csv: every scoped metric of the registry, in its order."""
    return [m.name for m in metrics.scoped()]


def _history_metrics() -> list[str]:
    """history.csv: the metrics of the per-second record, in the record's order."""
    return [m.name for m in metrics.per_second()]


def stats_columns() -> tuple[str, ...]:
    return (
        "scope",
        "name",
        "requests",
        "ok",
        "errors",
        "error_rate",
        "interrupted",
        "rps",
        "output_tokens",
        "output_tps",
        "input_tokens",
        "input_tps",
        *[f"{m}_{s}" for m in _stats_metrics() for s in _STATS],
        "cancelled",  # since issue 21.3: abandoned answers, outside requests
    )


#: The per-second record's counts, in history.csv's order (the header and every row).
_COUNTS = (
    "requests",
    "ok",
    "errors",
    "interrupted",
    "dropped",
    "rps",
    "output_tokens",
    "output_tps",
    "input_tokens",
    "input_tps",
)


def history_columns() -> tuple[str, ...]:
    return (
        "t",
        "length",
        "users",
        "planned",
        *_COUNTS,
        *[f"{m}_{s}" for m in _history_metrics() for s in _BRIEF],
        "rate_limited",
        "good",
        "counters",  # custom counters of that second: name=value;name=value
        "cancelled",
    )


STATS_COLUMNS = stats_columns()  # with the built-in metrics; write_csv asks again
HISTORY_COLUMNS = history_columns()
FAILURE_COLUMNS = ("kind", "name", "status", "count", "example")


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows([csv_cell(c) for c in row] for row in rows)
    return path


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _stats_rows(data: dict[str, Any]) -> Iterable[list[Any]]:
    scopes = data["scopes"]
    kept = _stats_metrics()
    tables = [("overall", {"all": scopes["overall"]})]
    tables += [(kind, scopes.get(f"by_{kind}") or {}) for kind in ("name", "class", "category")]
    for kind, table in tables:
        for key, s in table.items():
            row = [
                kind,
                key,
                s["requests"],
                s["ok"],
                s["errors"],
                s["error_rate"],
                s.get("interrupted", 0),
                s["rps"],
                s["output_tokens"],
                s["output_tps"],
                s.get("input_tokens", 0),
                s.get("input_tps", 0.0),
            ]
            for m in kept:
                summary = s["metrics"].get(m) or {}
                has = bool(summary.get("count"))
                row += [
                    summary.get("count", 0)
                    if st == "count"
                    else _cell(summary.get(st) if has else None)
                    for st in _STATS
                ]
            row.append(s.get("cancelled", 0))
            yield row


def _history_rows(data: dict[str, Any]) -> Iterable[list[Any]]:
    kept = _history_metrics()
    for iv in data.get("intervals") or []:
        planned = next(iter((iv.get("planned") or {}).values()), None)
        row = [iv.get("t"), iv.get("length"), iv.get("users"), _cell(planned)]
        row += [iv.get(k, 0) for k in _COUNTS]
        for m in kept:
            brief = iv.get(m) or {}
            row += [
                brief.get("count", 0) if st == "count" else _cell(brief.get(st)) for st in _BRIEF
            ]
        counters = iv.get("counters") or {}
        row += [
            iv.get("rate_limited", 0),
            iv.get("good", 0),
            ";".join(f"{k}={v}" for k, v in sorted(counters.items())),
            iv.get("cancelled", 0),
        ]
        yield row


CUSTOM_COLUMNS = [
    "kind",
    "name",
    "value",
    "passes",
    "fails",
    "count",
    "mean",
    "p50",
    "p95",
    "p99",
    "max",
]


def _custom_rows(data: dict[str, Any]) -> Iterable[list[Any]]:
    """Custom counters, checks and histograms, one row each (kind says which)."""
    custom = data.get("custom") or {}
    for name, value in sorted((custom.get("counters") or {}).items()):
        yield ["counter", name, value, "", "", "", "", "", "", "", ""]
    for name, c in sorted((custom.get("checks") or {}).items()):
        yield ["check", name, "", c["passes"], c["fails"], "", "", "", "", "", ""]
    for name, h in sorted((custom.get("histograms") or {}).items()):
        yield [
            "histogram",
            name,
            "",
            "",
            "",
            h["count"],
            *(_cell(h.get(s)) for s in ("mean", "p50", "p95", "p99", "max")),
        ]


def write_csv(result: Result, out_dir: Path) -> list[Path]:
    """Write ``stats.csv``, ``history.csv``, ``failures.csv`` (and ``requests.csv`` if raw)."""
    data = result.data
    paths = [
        _write(out_dir / "stats.csv", stats_columns(), _stats_rows(data)),
        _write(out_dir / "history.csv", history_columns(), _history_rows(data)),
        _write(out_dir / "custom.csv", CUSTOM_COLUMNS, _custom_rows(data)),
        _write(
            out_dir / "failures.csv",
            FAILURE_COLUMNS,
            (
                [e.get(k, "") if e.get(k) is not None else "" for k in FAILURE_COLUMNS]
                for e in data.get("errors") or []
            ),
        ),
    ]
    raw = result.path.parent / "requests.csv" if result.path is not None else None
    if raw is not None and raw.is_file():
        target = out_dir / "requests.csv"
        if raw.resolve() != target.resolve():
            shutil.copyfile(raw, target)
        paths.append(target)
    return paths
