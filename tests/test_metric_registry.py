"""The metric registry: one entry makes a metric recorded, merged, written, shown and judged.

``queue_wait`` (the sample's send stamp minus its intended start, in ms) is registered for
one test at a time and must turn up everywhere its entry says; the built-in entries must
give exactly the columns and keys the outputs had before the registry.
"""

from __future__ import annotations

import csv
from operator import attrgetter

import pytest
from support import chat_profile, run_async
from test_segments import run_segments

from loadgen.core import metrics
from loadgen.core.merge import merge_results
from loadgen.core.metrics import Metric, registered
from loadgen.core.sample import Sample
from loadgen.core.stats import Recorder
from loadgen.core.thresholds import METRICS, evaluate, parse
from loadgen.report import csvout, hlog, series
from loadgen.report.html import render_html

FAST = {"timing": {"ttft": "5ms", "itl": "1ms", "output_tokens": 4}, "capacity": {"slots": 0}}
QUEUE_WAIT = Metric(
    name="queue_wait",
    unit="ms",
    doc="intended start → send stamp",
    of=attrgetter("schedule_lag"),
    answered=False,
    per_second="hdr",
    title="Queue wait",
    table=("p50", "p95"),
    console=("p95",),
)


@pytest.fixture
def queue_wait():
    with registered(QUEUE_WAIT) as metric:
        yield metric


async def _segments(parts: int) -> list:
    return await run_segments(chat_profile(users=2, duration="1s"), parts)


@pytest.fixture
def two_parts(queue_wait):
    """A 1-second test in two segments, recorded with queue_wait registered."""
    return run_async(_segments(2))


def test_a_registered_metric_is_in_the_result_with_one_value_per_request(two_parts):
    """Every scope holds it; the overall count is the number of requests."""
    for part in two_parts:
        overall = part.data["scopes"]["overall"]
        assert overall["requests"] > 0
        assert overall["metrics"]["queue_wait"]["count"] == overall["requests"]
        assert part.metrics["queue_wait"].count == overall["requests"]
        for scope in part.data["scopes"]["by_name"].values():
            assert scope["metrics"]["queue_wait"]["count"] == scope["requests"]
        assert (
            sum(iv["queue_wait"]["count"] for iv in part.data["intervals"]) == overall["requests"]
        )


def test_a_registered_metric_is_judged_by_thresholds(two_parts):
    """queue_wait.p95 < 10s holds; < 0ms fails; its unit is the entry's."""
    data = two_parts[0].data
    assert METRICS["queue_wait"] == (metrics.HIST_STATS, "ms")
    held, failed = evaluate([parse("queue_wait.p95 < 10s"), parse("queue_wait.p95 < 0ms")], data)
    assert held["ok"]
    assert held["limit"] == 10_000
    assert held["unit"] == "ms"
    assert not failed["ok"]
    assert failed["value"] == data["scopes"]["overall"]["metrics"]["queue_wait"]["p95"]


def test_a_registered_metric_is_in_the_csv_export(two_parts, tmp_path):
    """stats.csv has its nine statistics per scope; history.csv its per-second summary."""
    data = two_parts[0].data
    csvout.write_csv(two_parts[0], tmp_path)
    with (tmp_path / "stats.csv").open() as f:
        rows = list(csv.DictReader(f))
    overall = next(r for r in rows if r["scope"] == "overall")
    summary = data["scopes"]["overall"]["metrics"]["queue_wait"]
    assert int(overall["queue_wait_count"]) == summary["count"]
    assert float(overall["queue_wait_p95"]) == summary["p95"]
    assert list(rows[0]).index("queue_wait_count") > list(rows[0]).index("request_tps_min")
    with (tmp_path / "history.csv").open() as f:
        history = list(csv.DictReader(f))
    assert sum(int(r["queue_wait_count"]) for r in history) == summary["count"]


def test_a_registered_metric_is_in_the_merged_result(two_parts):
    """Two segments merge into one histogram holding both parts' requests."""
    merged = merge_results([p.data for p in two_parts])
    overall = merged["scopes"]["overall"]
    assert overall["metrics"]["queue_wait"]["count"] == sum(p.requests for p in two_parts)
    assert overall["requests"] == sum(p.requests for p in two_parts)
    assert sum(iv["queue_wait"]["count"] for iv in merged["intervals"]) == overall["requests"]


def test_a_registered_metric_is_in_the_html_report(two_parts, tmp_path):
    """The per-scope table gets its group and columns."""
    page = render_html(two_parts[0], tmp_path / "report.html").read_text()
    assert "Queue wait (ms)" in page


def test_registered_is_undone_after_the_block():
    """Nothing leaks into other tests: the registry and the outputs are the built-in ones."""
    with registered(QUEUE_WAIT):
        assert metrics.get("queue_wait") is QUEUE_WAIT
        assert "queue_wait_p95" in csvout.stats_columns()
        with pytest.raises(ValueError, match="already registered"):
            metrics.register(QUEUE_WAIT)
    assert metrics.get("queue_wait") is None
    assert "queue_wait" not in METRICS
    assert csvout.stats_columns() == csvout.STATS_COLUMNS
    with pytest.raises(ValueError, match="built in"):
        metrics.unregister("ttft")


def test_entries_that_cannot_be_kept_are_refused():
    """A per-second record of a quantity, or a journal without the histogram, says why."""
    with pytest.raises(ValueError, match="times only"):
        metrics.register(Metric(name="x", unit="tokens", doc="", of=len, scale=1, per_second="hdr"))
    with pytest.raises(ValueError, match="per_second='hdr'"):
        metrics.register(Metric(name="x", unit="ms", doc="", of=len, journaled=True))
    assert metrics.get("x") is None


# The built-in entries reproduce the columns and keys each output had before the registry,
# then the model-server metrics of issue #20 (input tokens, TTFO, reasoning) after them.

STATS = ("count", "mean", "p50", "p90", "p95", "p99", "p99.9", "max", "min")
BRIEF = ("count", "p50", "p95", "p99", "max", "mean")
SCOPED = (
    "ttfb",
    "ttft",
    "itl",
    "tpot",
    "e2e",
    "output_tokens",
    "request_tps",
    "input_tokens",
    "ttfo",
    "reasoning_time",
    "reasoning_tokens",
    "connect",
    "tls",
    "send",
    "wait",
    "time_to_cancel",
    "cancel_tokens",
)
PER_SECOND = ("ttft", "e2e", "itl", "ttfb", "schedule_lag", "loop_lag", "connect")


def test_stats_csv_columns_are_those_of_every_scoped_metric():
    assert csvout.stats_columns()[12:-1] == tuple(f"{m}_{s}" for m in SCOPED for s in STATS)


def test_history_csv_columns_follow_the_per_second_record():
    columns = csvout.history_columns()
    assert columns[14:-4] == tuple(f"{m}_{s}" for m in PER_SECOND for s in BRIEF)


def test_the_per_second_record_and_the_result_hold_the_registry_metrics_in_order():
    """Recorder output keys are the registry's: scoped metrics in each scope, the
    per-second ones in each interval (with a histogram where the entry says hdr)."""
    rec = Recorder(0.0)
    rec.add(Sample("chat", "u", 1.0, 1.001, first_byte=1.1, token_times=[1.2, 1.3], end=1.4))
    interval = rec.close_interval(1.0, 1)
    briefs = [k for k, v in interval.items() if isinstance(v, dict) and k in metrics.by_name()]
    assert briefs == list(PER_SECOND)
    for m in metrics.per_second():
        assert ("hdr" in interval[m.name]) == (m.per_second == "hdr")
    result = rec.to_result(1.0)
    assert tuple(result["scopes"]["overall"]["metrics"]) == SCOPED
    assert [m.name for m in metrics.scoped()] == list(SCOPED)


def test_charts_hlog_thresholds_and_live_merge_read_their_entries():
    assert [m.name for m in metrics.charted()] == ["ttft", "e2e"]
    assert hlog.tags() == hlog.TAGS == ("ttft", "e2e")
    assert [m.name for m in metrics.live()] == ["ttft", "e2e", "itl"]
    assert [m.name for m in metrics.journaled()] == ["ttft", "e2e"]
    keys = series.time_series([]).values
    assert [k for k in keys if "_p" in k] == [
        f"{m}_p{p}" for m in ("ttft", "e2e") for p in (50, 95, 99)
    ]
    assert list(METRICS)[: len(SCOPED)] == list(SCOPED)
    assert METRICS["output_tokens"][1] == ""
    assert METRICS["request_tps"][1] == "tokens/s"


def test_sample_properties_are_the_per_request_definitions():
    """ttfb, ttft, e2e, itl and tpot from the intended start, as SPEC §1 defines them."""
    s = Sample("chat", "u", 10.0, 10.5, first_byte=11.0, token_times=[12.0, 12.0, 13.0], end=14.0)
    assert (s.ttfb, s.ttft, s.e2e, s.schedule_lag) == (1.0, 2.0, 4.0, 0.5)
    assert s.itl == (1, [1_000_000])  # one gap of 0 (same read), one of 1 s
    assert s.tpot == pytest.approx(1.0)  # (4 − 2) / (3 − 1)
    assert s.request_tps == pytest.approx(1.5)  # 3 tokens / 2 s
    bare = Sample("get", "u", 10.0, 10.0)
    assert (bare.ttfb, bare.ttft, bare.e2e, bare.tpot, bare.request_tps) == (None,) * 5
