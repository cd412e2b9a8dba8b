"""CSV files from a real run: stats per scope, interval history, failures, raw requests."""

from __future__ import annotations

import csv

import pytest
from report_helpers import cached_run

from loadgen.report import render_all
from loadgen.report.csvout import HISTORY_COLUMNS, STATS_COLUMNS


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    base = cached_run(tmp_path_factory)
    out = tmp_path_factory.mktemp("csv")
    paths = render_all(base, out, ["csv"])
    return base, out, paths


def rows(path):
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_files_written(written):
    """stats, history, custom and failures always; requests.csv copied because it was raw."""
    _, _, paths = written
    assert [p.name for p in paths] == [
        "stats.csv",
        "history.csv",
        "custom.csv",
        "failures.csv",
        "requests.csv",
    ]


def test_stats_hold_every_scope_with_exact_values(written):
    """One row per scope; counts and percentiles are the JSON values at full precision."""
    base, out, _ = written
    table = rows(out / "stats.csv")
    assert list(table[0]) == list(STATS_COLUMNS)
    scopes = base.data["scopes"]
    expected = [("overall", "all", scopes["overall"])]
    for kind in ("name", "class", "category"):
        expected += [(kind, k, v) for k, v in scopes[f"by_{kind}"].items()]
    assert [(r["scope"], r["name"]) for r in table] == [(k, n) for k, n, _ in expected]
    for row, (_, _, scope) in zip(table, expected, strict=True):
        assert int(row["requests"]) == scope["requests"]
        assert int(row["errors"]) == scope["errors"]
        assert float(row["rps"]) == scope["rps"]
        for metric in ("ttft", "itl", "tpot", "e2e"):
            m = scope["metrics"][metric]
            assert int(row[f"{metric}_count"]) == m["count"]
            for stat in ("p50", "p95", "p99", "p99.9", "max"):
                cell = row[f"{metric}_{stat}"]
                assert (float(cell) == m[stat]) if m["count"] else cell == ""


def test_history_has_one_row_per_interval(written):
    base, out, _ = written
    table = rows(out / "history.csv")
    intervals = base.data["intervals"]
    assert list(table[0]) == list(HISTORY_COLUMNS)
    assert len(table) == len(intervals)
    for row, iv in zip(table, intervals, strict=True):
        assert float(row["t"]) == iv["t"]
        assert int(row["requests"]) == iv["requests"]
        assert int(row["ttft_count"]) == iv["ttft"]["count"]
        if iv["ttft"]["count"]:
            assert float(row["ttft_p95"]) == iv["ttft"]["p95"]


def test_failures_list_every_error_row(written):
    base, out, _ = written
    table = rows(out / "failures.csv")
    assert [(r["kind"], r["name"], int(r["count"])) for r in table] == [
        (e["kind"], e["name"], e["count"]) for e in base.data["errors"]
    ]
    assert sum(int(r["count"]) for r in table) == base.data["scopes"]["overall"]["errors"]


def test_requests_csv_has_one_row_per_request(written):
    """Per-request ttft/e2e/tokens rows: every counted request, plus interrupted ones."""
    base, out, _ = written
    table = rows(out / "requests.csv")
    overall = base.data["scopes"]["overall"]
    assert len(table) == overall["requests"] + overall["interrupted"]
    assert {"ttft_ms", "e2e_ms", "output_tokens"} <= set(table[0])
