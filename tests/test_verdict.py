"""The one verdict (loadgen.core.verdict): which checks gate the exit code, and what each says."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from loadgen.core.verdict import judge


def _data(**over: Any) -> dict[str, Any]:
    """A minimal finished result: 10 requests, all ok, nothing declared."""
    data: dict[str, Any] = {
        "run": {"interrupted": False, "internal_errors": [], "complete": True},
        "scopes": {"overall": {"requests": 10, "ok": 10, "errors": 0}},
        "thresholds": [],
        "slo": [],
        "segment": {"index": 1, "count": 1},
    }
    for key, value in over.items():
        if key in ("run", "overall"):
            target = data["run"] if key == "run" else data["scopes"]["overall"]
            target.update(value)
        else:
            data[key] = value
    return data


def _limit(expr: str, ok: bool, value: float | None = 120.0, **extra: Any) -> dict[str, Any]:
    return {
        "expr": expr,
        "scope": {},
        "op": "<",
        "limit": 100.0,
        "unit": "ms",
        "value": value,
        "ok": ok,
        **extra,
    }


_BP = {"unit": "users", "highest_ok": 12.0, "require_at_least": None, "ok": True}

CASES = [
    pytest.param(_data(), "passed", 0, [], id="all requests ok and nothing declared: passed"),
    pytest.param(
        _data(overall={"ok": 0, "errors": 10}),
        "failed",
        1,
        ["requests succeeded"],
        id="no request succeeded: failed even with no thresholds",
    ),
    pytest.param(
        _data(overall={"requests": 0, "ok": 0}),
        "failed",
        1,
        ["requests succeeded"],
        id="no request completed at all: failed",
    ),
    pytest.param(
        _data(run={"internal_errors": ["KeyError: 'x'"]}),
        "failed",
        1,
        ["virtual users ran without internal errors"],
        id="a VU hit an internal error: failed",
    ),
    pytest.param(
        _data(thresholds=[_limit("ttft.p95 < 100ms", False)]),
        "failed",
        1,
        ["ttft.p95 < 100ms"],
        id="a failed threshold gates",
    ),
    pytest.param(
        _data(slo=[_limit("ttft.p95 <= 100ms", False, kind="slo", gates=False)]),
        "passed",
        0,
        [],
        id="a missed SLO without gate informs only",
    ),
    pytest.param(
        _data(slo=[_limit("ttft.p95 <= 100ms", False, kind="slo", gates=True)]),
        "failed",
        1,
        ["ttft.p95 <= 100ms"],
        id="a missed SLO with gate: true fails",
    ),
    pytest.param(
        _data(
            slo=[_limit("ttft.p95 <= 100ms", False, kind="slo", gates=False)],
            thresholds=[_limit("ttft.p95 < 100ms", False)],
            breakpoint=_BP,
        ),
        "passed",
        0,
        [],
        id="a breakpoint search goes past its limits on purpose: its answer decides",
    ),
    pytest.param(
        _data(breakpoint={**_BP, "require_at_least": 16.0, "ok": False}),
        "failed",
        1,
        ["highest load within the SLOs"],
        id="a breakpoint below require_at_least fails",
    ),
    pytest.param(
        _data(breakpoint={**_BP, "require_at_least": 8.0, "ok": True}),
        "passed",
        0,
        [],
        id="a breakpoint at or above require_at_least passes",
    ),
    pytest.param(
        _data(aborted_by={"expr": "errors.rate < 5%"}),
        "failed",
        1,
        ["ran to the end of its plan"],
        id="an abort_on_fail stop fails",
    ),
    pytest.param(
        _data(
            segment={"index": None, "count": 2, "merged": [1], "missing": [2]},
            run={"complete": False},
        ),
        "failed",
        1,
        ["every part of the distributed run finished"],
        id="a distributed run with a lost part fails",
    ),
    pytest.param(
        _data(overall={"ok": 7, "errors": 3, "errors_by_kind": {"generator": 3}}),
        "failed",
        1,
        ["no request failed on the generator's own limits"],
        id="requests failed on the generator's own limits (EMFILE): failed, however many passed",
    ),
    pytest.param(
        _data(overall={"ok": 7, "errors": 3, "errors_by_kind": {"connect": 3}}),
        "passed",
        0,
        [],
        id="the target's errors alone do not fail the run without a threshold",
    ),
    pytest.param(
        _data(run={"interrupted": True}, thresholds=[_limit("ttft.p95 < 100ms", False)]),
        "interrupted",
        130,
        ["ttft.p95 < 100ms"],
        id="an interrupted run exits 130 whatever its checks say",
    ),
]


@pytest.mark.parametrize(("data", "status", "code", "failed"), CASES)
def test_judge(data, status, code, failed):
    """Status, exit code and the failed gating checks, per case."""
    verdict = judge(data)
    assert verdict.status == status
    assert verdict.exit_code == code
    assert [c.name for c in verdict.failed] == failed


def test_checks_that_only_inform_say_why_and_are_marked_missed():
    """A non-gating miss reads "missed" with a reason; a gating miss reads "FAIL"."""
    data = _data(
        slo=[_limit("ttft.p95 <= 100ms", False, kind="slo", gates=False)],
        thresholds=[_limit("e2e.p95 < 100ms", False)],
    )
    checks = {c.name: c for c in judge(data).checks}
    slo, threshold = checks["ttft.p95 <= 100ms"], checks["e2e.p95 < 100ms"]
    assert (slo.mark, slo.gates) == ("missed", False)
    assert "gate: true" in slo.why
    assert (threshold.mark, threshold.gates, threshold.why) == ("FAIL", True, "")
    assert threshold.observed == "120.0 ms"
    assert threshold.limit == "< 100.0 ms"


def test_text_names_each_reason_once_and_counts_gating_checks():
    """The one-line verdict counts only gating checks and names each failure."""
    data = _data(overall={"ok": 0, "errors": 10}, thresholds=[_limit("ttft.p95 < 100ms", True)])
    text = judge(data).text
    assert text.startswith("FAILED — 1 of 3 checks failed: requests succeeded: 0 of 10")


def test_to_dict_round_trips_the_same_verdict():
    """The dict written into result.json and --json holds the same checks and exit code."""
    data = _data(thresholds=[_limit("ttft.p95 < 100ms", False)])
    d = judge(copy.deepcopy(data)).to_dict()
    assert d["status"] == "failed"
    assert d["exit_code"] == 1
    assert [c["name"] for c in d["checks"]] == [c.name for c in judge(data).checks]
