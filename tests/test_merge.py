"""merge: segment results add up to the result of recording every sample in one place."""

from __future__ import annotations

import random
from typing import Any

import pytest

from loadgen.core.errors import ErrorKind
from loadgen.core.health import assess
from loadgen.core.hist import Histogram
from loadgen.core.journal import rebuild
from loadgen.core.merge import merge_intervals, merge_results, thresholds_of
from loadgen.core.sample import Sample
from loadgen.core.slo import Slo
from loadgen.core.stats import Recorder
from loadgen.core.thresholds import evaluate, parse

START = 1_000.0  # monotonic seconds of every recorder's start
WALL = 1_700_000_000.0
SLO = Slo(ttft_p95=300.0, error_rate=0.05, goodput_ratio=0.8)


def samples(n: int, seed: int = 7) -> list[Sample]:
    """n requests over three seconds: chats of two classes and names, some failing."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t0 = START + rng.uniform(0.0, 2.95)
        name, cls = rng.choice([("chat.simple", "regular"), ("chat.complex", "power")])
        if i % 17 == 0:
            out.append(
                Sample(name, cls, t0, t0, first_byte=t0 + 0.01, end=t0 + 0.02, status=500,
                       error=ErrorKind.HTTP_5XX, message="boom")
            )  # fmt: skip
            continue
        times = [t0 + rng.uniform(0.05, 0.4)]
        for _ in range(rng.randrange(1, 12)):
            times.append(times[-1] + rng.expovariate(50))
        out.append(
            Sample(name, cls, t0, t0 + rng.uniform(0, 0.002), category=name.split(".")[1],
                   first_byte=times[0] - 0.001, token_times=times, end=times[-1] + 0.001,
                   status=200, usage_tokens=len(times) + (i % 3 == 0))
        )  # fmt: skip
    return sorted(out, key=lambda s: s.end or s.t0)


def record(parts: list[list[Sample]], index: int, count: int, started: float) -> dict[str, Any]:
    """The result document a segment's engine would write for these samples."""
    rec = Recorder(START, good=SLO.good)
    mine = parts[index - 1]
    intervals = []
    for second in (1, 2, 3):
        for s in [s for s in mine if second - 1 <= (s.end or s.t0) - START < second]:
            rec.add(s)
        rec.add_loop_lag(0.001 * index)
        if second == 2:
            rec.add_dropped()
            rec.count("retries", index)
            rec.check("has tokens", True)
        intervals.append(rec.close_interval(START + second, users=index))
        intervals[-1]["cpu"] = 0.1 * index
    duration = 3.0
    data: dict[str, Any] = {
        "schema": "loadgen.result/1",
        "loadgen_version": "test",
        "profile": {"name": "t", "path": None, "raw": {}},
        "target": {"base_url": "http://127.0.0.1:1", "builtin": False},
        "seed": 5,
        "started": started,
        "segment": {"index": index, "count": count},
        "plan": [{"at": 0.0, "until": 3.0, "start": 0.0, "end": 4.0, "name": "ramp"}],
        "environment": {},
        "run": {"duration": duration, "ended": started + duration, "stop_reason": "completed",
                "interrupted": False, "complete": True, "internal_errors": []},
        "scopes": {
            "overall": rec.overall.to_dict(duration)
            | {"good": rec.good, "goodput": rec.good / duration},
            "by_name": {k: v.to_dict(duration) for k, v in sorted(rec.by_name.items())},
            "by_class": {k: v.to_dict(duration) for k, v in sorted(rec.by_class.items())},
            "by_category": {k: v.to_dict(duration) for k, v in sorted(rec.by_category.items())},
        },
        "schedule_lag": rec.schedule_lag.summary() | {"hdr": rec.schedule_lag.encode()},
        "loop_lag": rec.loop_lag.summary() | {"hdr": rec.loop_lag.encode()},
        "errors": rec.errors_table(),
        "load": {"model": "closed", "dropped": rec.dropped},
        "users_by_class": {"regular": index, "power": 1},
        "custom": {
            "counters": dict(rec.counters),
            "checks": {k: {"passes": v[0], "fails": v[1]} for k, v in rec.checks.items()},
        },
        "intervals": intervals,
        "health": assess(intervals),
        "phases": [],
        "slo": SLO.records({}),  # merge reads only the keys and limits back
        "thresholds": [],
        "aborted_by": None,
    }  # fmt: skip
    return data


def split(all_samples: list[Sample], n: int) -> list[list[Sample]]:
    return [all_samples[i::n] for i in range(n)]


def counts(encoded: str) -> list[int]:
    hist = Histogram.decode(encoded)
    return list(hist._h.counts)


def test_merged_scopes_equal_one_recording_histogram_for_histogram():
    """Two segments merged equal one recorder that saw every sample: each histogram of each
    scope has the same bucket counts, and every counter and summary is the same."""
    every = samples(400)
    whole = record([every], 1, 1, WALL)
    merged = merge_results([record(split(every, 2), i, 2, WALL) for i in (1, 2)])
    for table in ("by_name", "by_class", "by_category"):
        assert merged["scopes"][table].keys() == whole["scopes"][table].keys()
    pairs = [(merged["scopes"]["overall"], whole["scopes"]["overall"])] + [
        (merged["scopes"][t][k], whole["scopes"][t][k])
        for t in ("by_name", "by_class", "by_category")
        for k in whole["scopes"][t]
    ]
    for got, want in pairs:
        for metric, summary in want["metrics"].items():
            assert counts(got["metrics"][metric]["hdr"]) == counts(summary["hdr"]), metric
            assert got["metrics"][metric] == summary  # percentiles come from the same counts
        assert got == want
    for key in ("schedule_lag",):
        assert counts(merged[key]["hdr"]) == counts(whole[key]["hdr"])
    assert merged["errors"] == whole["errors"]


def test_merged_intervals_add_up_second_by_second():
    """Interval ttft and e2e histograms merge exactly; counts are summed; users add up."""
    every = samples(300)
    whole = record([every], 1, 1, WALL)
    merged = merge_results([record(split(every, 3), i, 3, WALL) for i in (1, 2, 3)])
    assert [r["t"] for r in merged["intervals"]] == [0.0, 1.0, 2.0]
    for got, want in zip(merged["intervals"], whole["intervals"], strict=True):
        for key in ("requests", "ok", "errors", "output_tokens", "errors_by_kind"):
            assert got[key] == want[key], key
        for metric in ("ttft", "e2e", "itl"):  # kept with their histograms: exact
            assert got[metric] == want[metric]
        assert got["ttfb"]["count"] == want["ttfb"]["count"]
        assert got["ttfb"]["bound"] == "max_of_parts"
        assert got["good"] == want["good"]
        assert got["users"] == 1 + 2 + 3
        assert got["cpu"] == pytest.approx(0.3)  # the busiest process
        assert got["parts"] == 3


def test_counters_checks_drops_and_users_are_summed():
    """Custom counters, checks, dropped arrivals and users by class add up over segments."""
    parts = [record(split(samples(60), 2), i, 2, WALL) for i in (1, 2)]
    merged = merge_results(parts)
    assert merged["custom"] == {
        "counters": {"retries": 3},
        "checks": {"has tokens": {"passes": 2, "fails": 0}},
        "histograms": {},  # the parts observed none
    }
    assert merged["load"]["dropped"] == 2
    assert merged["users_by_class"] == {"regular": 3, "power": 2}
    assert merged["segment"] == {"index": None, "count": 2, "merged": [1, 2], "missing": []}
    assert merged["run"]["complete"]


def test_custom_histograms_merge_exactly():
    """A custom histogram (``observe:``) merges bucket by bucket, as the engine writes it: a
    merged result used to drop ``custom.histograms`` altogether."""
    parts = [record(split(samples(30), 2), i, 2, WALL) for i in (1, 2)]
    whole = Recorder(START)
    for i, part in enumerate(parts, start=1):
        rec = Recorder(START)
        for value in (i * 1.5, i * 10.0, 0.25):
            rec.observe("citations", value)
            whole.observe("citations", value)
        part["custom"]["histograms"] = rec.to_result(1.0)["custom"]["histograms"]
    merged = merge_results(parts)["custom"]["histograms"]
    assert merged == whole.to_result(1.0)["custom"]["histograms"]
    assert merged["citations"]["count"] == 6


def test_thresholds_are_judged_on_the_merged_numbers():
    """Each segment alone passes `errors.count < 20` and fails `requests.count >= 300`; the
    merged test fails the first and passes the second: thresholds are global, not per worker."""
    rules = [parse("errors.count < 20"), parse("requests.count >= 300")]
    parts = [record(split(samples(400), 2), i, 2, WALL) for i in (1, 2)]
    for p in parts:
        p["thresholds"] = evaluate(rules, p)
        assert [t["ok"] for t in p["thresholds"]] == [True, False]
    merged = merge_results(parts)
    assert [t["ok"] for t in merged["thresholds"]] == [False, True]
    assert [t.expr for t in thresholds_of(parts)] == [r.expr for r in rules]


def test_slos_are_judged_on_the_merged_numbers():
    """Good requests add up exactly, and each SLO verdict reads the merged value."""
    every = samples(400)
    whole = record([every], 1, 1, WALL)
    merged = merge_results([record(split(every, 2), i, 2, WALL) for i in (1, 2)])
    overall = whole["scopes"]["overall"]
    assert 0 < merged["scopes"]["overall"]["good"] == overall["good"] < overall["requests"]
    verdicts = {r["key"]: r for r in merged["slo"]}
    assert verdicts.keys() == {"ttft_p95", "error_rate", "goodput_ratio"}
    assert verdicts["goodput_ratio"]["value"] == overall["good"] / overall["requests"]
    assert verdicts["ttft_p95"]["value"] == overall["metrics"]["ttft"]["p95"]
    assert verdicts["error_rate"]["value"] == overall["error_rate"]


def test_intervals_align_on_wall_clock_seconds():
    """A part started one second later has its first interval merged into the second one."""
    a = {
        "started": 100.0,
        "intervals": [
            {"t": 0.0, "length": 1.0, "requests": 1},
            {"t": 1.0, "length": 1.0, "requests": 2},
        ],
    }
    b = {"started": 101.002, "intervals": [{"t": 0.0, "length": 1.0, "requests": 10}]}
    merged = merge_intervals([a, b])
    assert [(r["t"], r["requests"], r["parts"]) for r in merged] == [(0.0, 1, 1), (1.0, 12, 2)]
    # The same part on a clock 5 s ahead of the driver's, corrected by its measured offset.
    c = dict(b, started=106.002)
    assert merge_intervals([a, c], offsets=[0.0, 5.0]) == merged  # fmt: skip


def test_clock_offsets_move_parts_onto_the_driver_clock():
    """The merged start and the parts' starts are on the driver's clock; offsets are kept."""
    parts = [record(split(samples(40), 2), i, 2, WALL + 2.0 * (i - 1)) for i in (1, 2)]
    merged = merge_results(parts, offsets=[0.0, 2.0])
    assert merged["started"] == WALL
    assert [p["start"] for p in merged["parts"]] == [0.0, 0.0]
    assert merged["clock"] == {"offsets": [0.0, 2.0], "max_abs_offset": 2.0}
    assert merged["run"]["duration"] == pytest.approx(3.0)


def test_a_missing_segment_is_reported_and_the_rest_kept():
    """Merging 2 of 3 segments works, says which one is missing and is not complete."""
    parts = [record(split(samples(60), 3), i, 3, WALL) for i in (1, 3)]
    merged = merge_results(parts)
    assert merged["segment"]["missing"] == [2]
    assert not merged["run"]["complete"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param({"seed": 6}, "same --seed", id="different seeds are refused"),
        pytest.param({"segment": {"index": 1, "count": 2}}, "given twice", id="duplicates"),
        pytest.param({"segment": {"index": 2, "count": 3}}, "not segments", id="other counts"),
    ],
)
def test_results_of_different_tests_are_refused(change, match):
    """Only segments of one test (same seed, same count, each once) merge."""
    parts = [record(split(samples(20), 2), i, 2, WALL) for i in (1, 2)]
    parts[1].update(change)
    with pytest.raises(ValueError, match=match):
        merge_results(parts)


def test_a_part_rebuilt_from_its_journal_merges_and_is_marked_partial():
    """A killed worker's journal rebuilt (loadgen.core.journal) merges: its requests, TTFT and
    E2E count in full, the metrics its journal lacks name it in ``missing_parts``, and the
    run lists it as partial without calling the whole run interrupted."""
    every = samples(120)
    whole = [record(split(every, 2), i, 2, WALL) for i in (1, 2)]
    header = {k: v for k, v in whole[1].items() if k in ("schema", "profile", "target", "seed",
              "started", "segment", "plan", "environment", "loadgen_version")}  # fmt: skip
    journal = [
        {"type": "header", **header},
        *({"type": "interval", **i} for i in whole[1]["intervals"]),
    ]
    rebuilt = rebuild(journal)
    merged = merge_results([whole[0], rebuilt])
    overall = merged["scopes"]["overall"]
    full = merge_results(whole)["scopes"]["overall"]
    assert overall["requests"] == full["requests"]
    for metric in ("ttft", "e2e"):
        assert overall["metrics"][metric]["count"] == full["metrics"][metric]["count"]
        assert "missing_parts" not in overall["metrics"][metric]
    itl = overall["metrics"]["itl"]
    assert itl["count"] == whole[0]["scopes"]["overall"]["metrics"]["itl"]["count"]
    assert itl["missing_parts"] == [2]
    assert merged["run"]["partial_parts"] == [2]
    assert merged["segment"]["missing"] == []
    assert not merged["run"]["complete"]
    assert not merged["run"]["interrupted"]  # a loss (exit 1), not a Ctrl-C (130)
