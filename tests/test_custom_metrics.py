"""Custom metrics: counters, checks and histograms declared in a profile, in every format."""

from __future__ import annotations

import csv

import pytest
from support import run_async

import loadgen
from loadgen import profile_from_dict
from loadgen.report import render_all


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("custom")
    data = {
        "name": "custom",
        "seed": 5,
        "target": {
            "base_url": "builtin",
            "builtin": {
                "timing": {"ttft": "5ms", "itl": "1ms", "output_tokens": 7},
                "chat": {"citation_rate": 0.5},
            },
        },
        "auth": {
            "kind": "login",
            "login": {
                "path": "/api/auth/login",
                "json": {"email": "admin@example.com", "password": "admin-password"},
            },
        },
        "users": [
            {
                "name": "regular",
                "tasks": [
                    {
                        "chat": {"api": "sse", "category": "simple"},
                        "count": {
                            "with_citations": {"citations": True},
                            "without_citations": {"citations": False},
                        },
                        "checks": [{"name": "answered", "answer_length": {"min": 1}}],
                        "observe": {
                            "answer_chars": "answer_length",
                            "tokens": "output_tokens",
                            "prompt_tokens": {"json": "usage.prompt_tokens"},
                        },
                    }
                ],
            }
        ],
        "load": {"users": 2, "duration": "2s"},
    }
    result = run_async(loadgen.run(profile_from_dict(data), out=out))
    render_all(result, out, ["csv", "html"])
    return result, out


def test_counters_checks_and_histograms_are_in_the_result(run):
    """Counters add up to the chats, every check passed, histograms hold exact known values."""
    result, _ = run
    custom = result.data["custom"]
    chats = result.scope("name", "chat.simple")["requests"]
    counters = custom["counters"]
    assert counters["with_citations"] + counters["without_citations"] == chats
    assert counters["with_citations"] > 0
    assert counters["without_citations"] > 0
    assert custom["checks"]["answered"] == {"passes": chats, "fails": 0}
    tokens = custom["histograms"]["tokens"]
    assert tokens["count"] == chats
    assert tokens["p50"] == pytest.approx(7, rel=1e-3)  # 7 tokens, within HDR precision
    assert custom["histograms"]["answer_chars"]["p50"] > 7
    assert custom["histograms"]["prompt_tokens"]["count"] == chats
    assert sum(sum(i["counters"].values()) for i in result.intervals) == chats


def test_custom_metrics_reach_the_csv_and_the_html(run):
    """custom.csv has a row per counter, check and histogram; history has per-second counters."""
    result, out = run
    with (out / "custom.csv").open() as f:
        rows = {(r["kind"], r["name"]): r for r in csv.DictReader(f)}
    custom = result.data["custom"]
    assert int(rows[("counter", "with_citations")]["value"]) == custom["counters"]["with_citations"]
    assert int(rows[("check", "answered")]["passes"]) == custom["checks"]["answered"]["passes"]
    assert int(rows[("histogram", "tokens")]["count"]) == custom["histograms"]["tokens"]["count"]
    with (out / "history.csv").open() as f:
        history = list(csv.DictReader(f))
    assert any("with_citations=" in r["counters"] for r in history)
    html = (out / "report.html").read_text()
    for name in ("with_citations", "answered", "answer_chars", "Custom metrics"):
        assert name in html
