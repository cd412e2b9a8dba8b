"""The interactive charts' points (loadgen.report.livedata) and the live page's tables
(loadgen.report.livestatus), from interval records and results."""

from __future__ import annotations

import json

from report_helpers import cached_run

from loadgen.report.livedata import CHARTS, columns, island, limit_lines, page_data, point
from loadgen.report.livestatus import final_status, limit_rows
from loadgen.report.view import scope_cells

RECORD = {
    "t": 4.0,
    "length": 0.5,
    "users": 7,
    "planned": {"users": 8.0},
    "rps": 24.0,
    "errors": 3,
    "errors_by_kind": {"http_429": 2, "timeout": 1},
    "output_tps": 1234.5678,
    "input_tps": 512.3,
    "dropped": 0,
    "cpu": 0.4567,
    "ttft": {"count": 12, "p50": 101.23456, "p95": 180.0, "p99": 199.9, "hdr": "x"},
    "itl": {"count": 0},
    "e2e": {"count": 12, "p50": 900.0, "p95": 1000.0, "p99": 1100.0},
    "loop_lag": {"count": 9, "p50": 0.1, "p95": 0.2, "p99": 0.3},
    "schedule_lag": {"count": 0},
}


def test_a_point_is_the_interval_at_its_end_with_rates_per_second():
    p = point(RECORD)
    assert p["t"] == 4.5  # the interval's end: the time its numbers are known
    assert (p["users"], p["planned"], p["rps"]) == (7, 8.0, 24.0)
    assert p["errors"] == 6.0  # 3 errors in half a second
    assert (p["err.http_429"], p["err.timeout"]) == (4.0, 2.0)
    assert p["output_tps"] == 1235.0  # four significant digits
    assert p["input_tps"] == 512.3
    assert point({**RECORD, "input_tps": None})["input_tps"] is None  # results before 20.3
    assert p["cpu"] == 45.67  # percent of a core
    assert (p["ttft.p50"], p["ttft.p95"], p["ttft.p99"]) == (101.2, 180.0, 199.9)
    assert p["itl.p50"] is None  # no gap in this interval: no point, not zero
    assert p["schedule_lag.p99"] is None
    assert p["loop_lag.p99"] == 0.3


def test_columns_hold_every_key_for_every_point():
    quiet = {**RECORD, "t": 4.5, "errors": 0, "errors_by_kind": {}}
    cols = columns([RECORD, quiet])
    assert cols["t"] == [4.5, 5.0]
    assert cols["err.timeout"] == [2.0, None]
    assert {len(v) for v in cols.values()} == {2}
    keys = {s["key"] for c in CHARTS for s in c["series"]}
    assert keys <= set(cols)  # every series of a fixed chart has its column


def test_the_island_cannot_close_its_script_element():
    text = island({"name": "</script><script>alert(1)</script>&"})
    assert "</script>" not in text
    assert "<" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script>&"}


def test_a_finished_result_in_the_page(tmp_path_factory):
    """``loadgen ui`` and ``--ui-linger``: the points are the result's intervals, the tables
    the report's cells, the checks the verdict's."""
    data = cached_run(tmp_path_factory).data
    page = page_data(data)
    assert page["columns"]["t"] == [point(iv)["t"] for iv in data["intervals"]]
    status = final_status(data)
    assert status["state"] == "finished"
    by_name = status["tables"][0]
    assert by_name["id"] == "by_name"
    name, scope = sorted(data["scopes"]["by_name"].items())[0]
    assert by_name["rows"][0] == [name, *scope_cells(scope)]
    assert by_name["rows"][-1] == ["all", *scope_cells(data["scopes"]["overall"])]
    assert sum(n for _, n in by_name["groups"]) == len(by_name["columns"])


def test_a_threshold_not_yet_measured_is_neither_pass_nor_fail():
    rows = limit_rows(
        [
            {"expr": "ttft.p95 < 1s", "value": None, "op": "<", "limit": 1000, "unit": "ms"},
            {
                "expr": "errors.rate < 5%",
                "value": 0.5,
                "ok": False,
                "op": "<",
                "limit": 0.05,
                "unit": "%",
            },
        ],
        "threshold",
    )
    assert [(r["ok"], r["value"]) for r in rows] == [(None, "–"), (False, "50.00%")]


def test_limits_on_a_charted_percentile_become_lines_on_its_chart():
    """Whole-run thresholds and SLOs on ttft/itl/e2e p50/p95/p99 are drawn; scoped ones, rates
    and other statistics are not (no chart holds them)."""
    limits = [
        {"expr": "ttft.p95 < 400ms", "metric": "ttft", "stat": "p95", "limit": 400.0, "unit": "ms"},
        {
            "expr": "e2e.p99 <= 2000ms",
            "metric": "e2e",
            "stat": "p99",
            "limit": 2000,
            "unit": "ms",
            "scope": {},
        },
        {
            "expr": "ttft{name:x}.p95 < 1s",
            "metric": "ttft",
            "stat": "p95",
            "limit": 1000.0,
            "unit": "ms",
            "scope": ("name", "x"),
        },
        {
            "expr": "errors.rate < 5%",
            "metric": "errors",
            "stat": "rate",
            "limit": 0.05,
            "unit": "%",
        },
        {"expr": "ttft.mean < 1s", "metric": "ttft", "stat": "mean", "limit": 1000.0, "unit": "ms"},
    ]
    assert limit_lines(limits) == [
        {"chart": "ttft", "key": "ttft.p95", "value": 400.0, "label": "ttft.p95 < 400ms"},
        {"chart": "e2e", "key": "e2e.p99", "value": 2000.0, "label": "e2e.p99 <= 2000ms"},
    ]
