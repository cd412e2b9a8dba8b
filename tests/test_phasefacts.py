"""The report's facts about cancellations and connection phases (report.phasefacts), the
``cancelled`` threshold and the verdict's view of cancelled requests: pure, on result data."""

from __future__ import annotations

from typing import Any

import pytest

from loadgen.core.thresholds import evaluate, parse
from loadgen.core.verdict import judge
from loadgen.report import phasefacts


def overall(connect_p99: float | None, ttft_p99: float, **more: Any) -> dict[str, Any]:
    metrics: dict[str, Any] = {"ttft": {"count": 10, "p50": ttft_p99 / 2, "p99": ttft_p99}}
    if connect_p99 is not None:
        metrics["connect"] = {"count": 10, "p50": 0.0, "p99": connect_p99}
    return {"requests": 10, "ok": 10, "errors": 0, "metrics": metrics, **more}


@pytest.mark.parametrize(
    ("connect", "ttft", "warns"),
    [
        pytest.param(1050.0, 1070.0, True, id="connect is the whole tail: warns"),
        pytest.param(600.0, 1000.0, True, id="just over half: warns"),
        pytest.param(500.0, 1000.0, False, id="half: no warning"),
        pytest.param(0.0, 1000.0, False, id="reused connections: no warning"),
        pytest.param(None, 1000.0, False, id="not measured: no warning"),
    ],
)
def test_the_connect_warning_fires_past_half_the_ttft_tail(connect, ttft, warns):
    text = phasefacts.connect_warning(overall(connect, ttft))
    assert bool(text) == warns
    if warns:
        assert f"{connect / ttft:.0%} of ttft p99" in text


def test_the_cancelled_fact_says_how_many_when_and_how_far():
    """Counts, time-to-cancel percentiles, content received, and those cancelled before any
    content (the count histogram holds only those that got some)."""
    data = overall(None, 100.0, cancelled=5)
    data["metrics"]["time_to_cancel"] = {"count": 5, "p50": 210.0, "p99": 380.25}
    data["metrics"]["cancel_tokens"] = {"count": 3, "p50": 20.0}
    assert phasefacts.cancelled(data) == (
        "5 (not errors; time to cancel p50 210.0 ms, p99 380.2 ms; "
        "20 content events received (p50); 2 before any content)"
    )
    assert phasefacts.cancelled(overall(None, 100.0)) == ""


def result(ok: int, cancelled: int, errors: int = 0) -> dict[str, Any]:
    scope = {
        "requests": ok + errors,
        "ok": ok,
        "errors": errors,
        "errors_by_kind": {"http_5xx": errors} if errors else {},
        "interrupted": 0,
        "cancelled": cancelled,
        "rps": 1.0,
        "metrics": {},
    }
    return {"run": {}, "scopes": {"overall": scope, "by_name": {}, "by_class": {}}}


def test_cancelled_threshold_counts_and_rates_over_the_requests_that_ended():
    """``cancelled.rate`` is cancelled / (requests + cancelled): 4 of 10 ended requests."""
    data = result(ok=5, cancelled=4, errors=1)
    rows = evaluate([parse("cancelled.count == 4"), parse("cancelled.rate < 41%")], data)
    assert [r["value"] for r in rows] == [4.0, pytest.approx(0.4)]
    assert all(r["ok"] for r in rows)
    (errors,) = evaluate([parse("errors.rate <= 20%")], data)  # 1 of 6, cancelled not in it
    assert errors["value"] == pytest.approx(1 / 6)


@pytest.mark.parametrize(
    ("ok", "cancelled", "status"),
    [
        pytest.param(0, 3, "passed", id="every answer abandoned as asked: not a failure"),
        pytest.param(0, 0, "failed", id="nothing succeeded nor was cancelled: fails"),
    ],
)
def test_the_run_check_does_not_count_cancelled_requests_as_failures(ok, cancelled, status):
    assert judge(result(ok=ok, cancelled=cancelled)).status == status
