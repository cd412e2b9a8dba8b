"""Thresholds: the expression grammar, evaluation against a result, and the exit codes."""

from __future__ import annotations

import json
import re
import time

import pytest
from support import chat_profile

from loadgen.cli.commands import main
from loadgen.core.thresholds import evaluate, parse


@pytest.mark.parametrize(
    ("expr", "metric", "stat", "op", "limit", "scope"),
    [
        ("ttft.p95 < 1500ms", "ttft", "p95", "<", 1500.0, None),
        ("ttft.p95 < 1.5s", "ttft", "p95", "<", 1500.0, None),
        ("ttft.p95<250", "ttft", "p95", "<", 250.0, None),  # bare number = ms
        ("e2e{name=chat.complex}.p99 < 10s", "e2e", "p99", "<", 10000.0, ("name", "chat.complex")),
        ("itl{class=power}.p99.9 <= 80ms", "itl", "p99.9", "<=", 80.0, ("class", "power")),
        ("errors.rate < 1%", "errors", "rate", "<", 0.01, None),
        ("http_429.count == 0", "http_429", "count", "==", 0.0, None),
        ("output_tps.mean > 20", "output_tps", "mean", ">", 20.0, None),
        ("requests.count >= 100", "requests", "count", ">=", 100.0, None),
    ],
    ids=lambda v: str(v),
)
def test_expressions_parse(expr, metric, stat, op, limit, scope):
    """Every form SPEC and the issue name reads into metric, statistic, operator and limit."""
    t = parse(expr)
    assert (t.metric, t.stat, t.op, t.limit, t.scope) == (metric, stat, op, limit, scope)


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("ttf.p95 < 1s", "did you mean 'ttft'"),
        ("ttft.p96 < 1s", "no statistic 'p96'"),
        ("ttft.p95 =< 1s", "unknown operator"),
        ("ttft.p95 << 1s", "unknown operator"),
        ("ttft.p95 < soon", "not a duration"),
        ("errors.rate < lots", "not a rate"),
        ("e2e{nme=x}.p95 < 1s", "unknown scope"),
        ("ttft p95 < 1s", "cannot read threshold"),
    ],
    ids=lambda v: str(v),
)
def test_mistakes_say_what_is_wrong(expr, words):
    """Typos in a metric, statistic, operator or value are errors with a fix."""
    with pytest.raises(ValueError, match=words):
        parse(expr)


RESULT = {
    "scopes": {
        "overall": {
            "requests": 200,
            "errors": 4,
            "errors_by_kind": {"http_429": 3, "http_5xx": 1},
            "interrupted": 0,
            "rps": 10.0,
            "output_tps": 55.0,
            "metrics": {"ttft": {"p95": 1200.0, "count": 196}, "request_tps": {"p50": 30.0}},
        },
        "by_name": {
            "chat.simple": {
                "requests": 100,
                "errors": 0,
                "errors_by_kind": {},
                "interrupted": 0,
                "rps": 5.0,
                "output_tps": 20.0,
                "metrics": {"e2e": {"p99": 900.0}},
            }
        },
        "by_class": {},
        "by_category": {},
    },
    "load": {"dropped": 0},
}


@pytest.mark.parametrize(
    ("expr", "value", "ok"),
    [
        ("ttft.p95 < 1500ms", 1200.0, True),
        ("ttft.p95 < 1s", 1200.0, False),
        ("errors.rate < 1%", 0.02, False),
        ("http_429.count == 0", 3.0, False),
        ("http_5xx.rate <= 0.5%", 0.005, True),
        ("output_tps.mean > 20", 55.0, True),
        ("output_tps.p50 > 20", 30.0, True),
        ("e2e{name=chat.simple}.p99 < 1s", 900.0, True),
        ("requests.count >= 100", 200.0, True),
        ("dropped.count == 0", 0.0, True),
    ],
    ids=lambda v: str(v),
)
def test_evaluation_reads_the_right_number(expr, value, ok):
    """Each threshold compares the value the result holds for its metric, stat and scope."""
    [verdict] = evaluate([parse(expr)], RESULT)
    assert verdict["value"] == pytest.approx(value)
    assert verdict["ok"] is ok


def test_a_scope_that_never_ran_fails_and_says_so():
    """A threshold on a request name with no requests is not silently passed."""
    [verdict] = evaluate([parse("e2e{name=nope}.p95 < 1s")], RESULT)
    assert verdict["value"] is None
    assert verdict["ok"] is False


def run_cli(tmp_path, data, *extra):
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(data))
    return main(["run", str(path), "--out", str(tmp_path / "out"), *extra])


FAST = {"timing": {"ttft": "20ms", "itl": "2ms", "output_tokens": 4}, "capacity": {"slots": 0}}


def test_passing_and_failing_thresholds_give_exit_0_and_1(tmp_path, capsys):
    """A generous threshold passes (0); an impossible one fails (1) and both are printed."""
    data = chat_profile(
        users=2, duration="2s", builtin=FAST, thresholds={"ttft.p95": "< 5s", "errors.rate": "< 1%"}
    )
    assert run_cli(tmp_path, data) == 0
    assert "verdict: PASSED — all 4 checks held" in capsys.readouterr().out
    data["thresholds"] = {"ttft.p50": "< 1ms", "errors.rate": "< 1%"}
    assert run_cli(tmp_path, data) == 1
    out = capsys.readouterr().out
    assert re.search(r"^  FAIL\s+ttft\.p50 < 1ms\s", out, re.M)
    assert "verdict: FAILED — 1 of 4 checks failed: ttft.p50 < 1ms" in out
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert [t["ok"] for t in saved["thresholds"]] == [False, True]


def test_a_threshold_typo_is_a_profile_error_with_its_line(tmp_path, capsys):
    """An unknown metric in a YAML profile exits 2 naming the line."""
    path = tmp_path / "p.yaml"
    path.write_text(
        "target: {base_url: builtin}\nusers: [{tasks: [{chat: {}}]}]\n"
        "load: {users: 1, duration: 1s}\nthresholds:\n  ttft.p95: '< 1s'\n"
        "  tfft.p99: '< 2s'\n"
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:6: thresholds.tfft.p99: unknown metric 'tfft' — did you mean 'ttft'?" in err


def test_abort_on_fail_stops_a_failing_run_within_its_delay_plus_an_interval(tmp_path, capsys):
    """50 % injected errors and errors.rate < 10 % with after: 2s: stopped by ~3 s, exit 1."""
    builtin = {**FAST, "faults": {"http_500": 0.5}}
    data = chat_profile(
        users=4,
        duration="30s",
        builtin=builtin,
        thresholds=[{"expr": "errors.rate < 10%", "abort_on_fail": True, "after": "2s"}],
    )
    started = time.monotonic()
    assert run_cli(tmp_path, data) == 1
    assert time.monotonic() - started < 10
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved["run"]["duration"] < 3.5
    assert saved["aborted_by"]["expr"] == "errors.rate < 10%"
    assert saved["run"]["stop_reason"].startswith("aborted: threshold errors.rate < 10% failed")
    assert len(saved["intervals"]) >= 2
    assert re.search(r"FAIL\s+ran to the end of its plan\s+stopped early", capsys.readouterr().out)
