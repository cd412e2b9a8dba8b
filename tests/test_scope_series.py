"""Each request name's and user class's series per interval, checked against the raw rows of
a real run on the built-in target: the requests and errors of every name in every second,
and the TTFT of the seconds no request ended near the edge of; merged exactly over parts.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from report_helpers import profile_dict
from support import run_async

import loadgen
from loadgen.core.hist import Histogram
from loadgen.core.intervalmerge import merge_intervals
from loadgen.core.profile import load_profile
from loadgen.core.scopeseries import HistMark, brief
from loadgen.engine.distributed import LocalOptions, LocalRun
from loadgen.engine.run import Engine

# A request that ends just before an interval's edge may be counted after it (if the VU
# awaits between stamping its end and recording it), and one that ends after it but before
# the ticker, running late, closed the interval, before it: "near" an edge is from SLACK
# before it to SLACK after the closing tick's own lateness (its interval's loop lag max).
SLACK = 0.005


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[dict], float]:
    """About 5 s, 2 classes, 3 names, injected 500s and 429s: the result, the raw rows and
    the recorder's start (monotonic s, the raw rows' clock)."""
    out = tmp_path_factory.mktemp("series")
    profile = loadgen.profile_from_dict(profile_dict())

    async def go() -> tuple[dict[str, Any], float]:
        async with Engine(profile, out=out) as engine:
            result = await engine.run()
            assert engine.recorder is not None
            return result.data, engine.recorder.start

    data, start = run_async(go())
    with (out / "requests.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["interrupted"] == "0" and r["cancelled"] == "0"]
    return data, rows, start


Edge = tuple[float, float]  # (monotonic s, how late the tick that closed there was, s)


def _edges(data: dict[str, Any], start: float) -> list[tuple[Edge, Edge]]:
    """Each interval's opening and closing edges."""
    out, lo = [], (start, 0.0)
    for iv in data["intervals"]:
        hi = (start + iv["t"] + iv["length"], iv["loop_lag"].get("max", 0.0) / 1000)
        out.append((lo, hi))
        lo = hi
    return out


def _near_edge(end: float, edges: tuple[Edge, Edge]) -> bool:
    return any(at - SLACK <= end <= at + late + SLACK for at, late in edges)


def test_every_name_and_class_counts_what_the_raw_rows_hold_second_by_second(run):
    data, rows, start = run
    intervals = data["intervals"]
    assert {"chat.simple", "chat.complex"} <= set(intervals[-1]["by_name"])
    assert set(intervals[-1]["by_class"]) == {"regular", "monitor"}
    checked = 0
    for group, column in (("by_name", "name"), ("by_class", "user_class")):
        for iv, edges in zip(intervals, _edges(data, start), strict=True):
            lo, hi = edges[0][0], edges[1][0]
            inside = [r for r in rows if lo <= float(r["end"]) < hi]
            sure = [r for r in inside if not _near_edge(float(r["end"]), edges)]
            near = [r for r in rows if _near_edge(float(r["end"]), edges)]
            for scope, entry in iv.get(group, {}).items():
                mine = [r for r in sure if r[column] == scope]
                extra = [r for r in near if r[column] == scope]
                assert len(mine) <= entry["requests"] <= len(mine) + len(extra)
                errs = sum(1 for r in mine if r["error"])
                assert errs <= entry["errors"] <= errs + sum(1 for r in extra if r["error"])
                if not extra:  # no request of this scope ended near the edges: exact
                    assert entry["requests"] == len(mine)
                    assert entry["errors"] == errs
                    checked += 1
        # every request of every scope is in exactly one interval
        totals = Counter[str]()
        for iv in intervals:
            totals.update({k: v["requests"] for k, v in iv.get(group, {}).items()})
        assert totals == Counter(r[column] for r in rows)
    assert checked >= 10, checked
    assert sum(iv["by_name"]["chat.simple"]["errors"] for iv in intervals) > 0


def test_a_names_ttft_in_a_second_is_the_histogram_of_its_rows(run):
    """Where no request of the name ended near the interval's edges, the name's TTFT in
    that second is exactly its rows' (count, and p50/p95/p99 within one HDR bucket)."""
    data, rows, start = run
    checked = 0
    for iv, edges in zip(data["intervals"], _edges(data, start), strict=True):
        lo, hi = edges[0][0], edges[1][0]
        for name, entry in iv["by_name"].items():
            mine = [r for r in rows if r["name"] == name]
            if any(_near_edge(float(r["end"]), edges) for r in mine):
                continue
            ttfts = [
                float(r["ttft_ms"]) for r in mine if lo <= float(r["end"]) < hi and r["ttft_ms"]
            ]
            assert entry["ttft"]["count"] == len(ttfts)
            if not ttfts:
                continue
            h = Histogram()
            for ms in ttfts:
                h.record_us(round(ms * 1000))
            want = h.percentiles_ms((50.0, 95.0, 99.0))
            for p in (50.0, 95.0, 99.0):
                assert entry["ttft"][f"p{p:g}"] == pytest.approx(want[p], rel=2e-3)
            assert Histogram.decode(entry["ttft"]["hdr"]).count == len(ttfts)
            # summarised from the buckets used, exactly as a histogram of them summarises
            assert entry["ttft"] == brief(Histogram.decode(entry["ttft"]["hdr"]))
            assert entry["e2e"] == brief(Histogram.decode(entry["e2e"]["hdr"]))
            checked += 1
    assert checked >= 4, checked


def test_two_parts_merge_into_the_sum_of_their_series(run, tmp_path: Path):
    """Two runs as the two parts of one test: each merged second's per-name requests,
    errors and TTFT count are the parts' sums, and its percentiles those of the merged
    histograms (not an average)."""
    data, _, _ = run
    other = dict(data, started=data["started"])  # the same seconds: parts started together
    merged = merge_intervals([data, other])
    assert len(merged) == len(data["intervals"])
    for one, both in zip(data["intervals"], merged, strict=True):
        for name, entry in one["by_name"].items():
            twice = both["by_name"][name]
            assert twice["requests"] == 2 * entry["requests"]
            assert twice["errors"] == 2 * entry["errors"]
            assert twice["ttft"]["count"] == 2 * entry["ttft"]["count"]
            if entry["ttft"]["count"]:  # every value twice: the percentiles of that histogram
                h = Histogram.decode(entry["ttft"]["hdr"])
                h.merge(Histogram.decode(entry["ttft"]["hdr"]))
                want = h.percentiles_ms((50.0, 95.0, 99.0))
                assert [twice["ttft"][k] for k in ("p50", "p95", "p99")] == list(want.values())


def test_a_mark_yields_exactly_what_was_recorded_since():
    """Three rounds of values into one growing histogram (its range widening both ways):
    each round's difference, added to an empty and to a non-empty histogram, is that
    round's histogram bucket for bucket."""
    grown, mark = Histogram(), HistMark()
    for low, high in ((150_000, 160_000), (1_000, 900_000), (5, 3_000_000_000)):
        step = Histogram()
        values = [low + (high - low) * k // 97 for k in range(98)]
        for v in values:
            grown.record_us(v)
            step.record_us(v)
        fresh, seeded, want = Histogram(), Histogram(), Histogram()
        seeded.record_us(42)
        want.record_us(42)
        want.merge(step)
        assert sum(n for _, n in mark.since(grown, [fresh, seeded])) == len(values)
        assert fresh.summary() == step.summary()
        assert fresh.encode() == step.encode()
        assert seeded.summary() == want.summary()
    assert mark.since(grown, [Histogram()]) == []


@pytest.mark.slow  # two worker processes, about 8 s
def test_a_two_process_runs_merged_series_are_the_sum_of_its_parts(tmp_path: Path):
    """``--processes 2``: each merged second's per-name requests, errors and TTFT count are
    the two parts' of that second added up, and its TTFT percentiles those of the parts'
    histograms merged; over the run, each name's requests are the merged scope's."""
    data = profile_dict(faults=True)
    data["report"] = {"dir": str(tmp_path / "reports"), "formats": ["json"]}
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    opts = LocalOptions(
        profile_path=str(path), processes=2, out=tmp_path / "out", seed=11, start_delay=1.5
    )
    merged = run_async(LocalRun(load_profile(path), opts).run(), timeout=120).data
    parts = [
        json.loads((tmp_path / "out" / f"part-{i}" / "result.json").read_text()) for i in (1, 2)
    ]
    starts = {p["segment"]: float(p["start"]) for p in merged["parts"]}
    seconds: dict[float, list[dict[str, Any]]] = {}
    for i, part in enumerate(parts, 1):
        for iv in part["intervals"]:
            seconds.setdefault(float(round(starts[i] + iv["t"])), []).append(iv)
    assert {iv["t"] for iv in merged["intervals"]} == set(seconds)
    both = 0
    for iv in merged["intervals"]:
        ivs = seconds[iv["t"]]
        both += len(ivs) == 2
        names = {n for one in ivs for n in one.get("by_name", {})}
        assert set(iv.get("by_name", {})) == names
        for name in names:
            entries = [one["by_name"][name] for one in ivs if name in one.get("by_name", {})]
            got = iv["by_name"][name]
            assert got["requests"] == sum(e["requests"] for e in entries)
            assert got["errors"] == sum(e["errors"] for e in entries)
            assert got["ttft"]["count"] == sum(e["ttft"]["count"] for e in entries)
            if got["ttft"]["count"]:
                h = Histogram()
                for e in entries:
                    if e["ttft"]["count"]:
                        h.merge(Histogram.decode(e["ttft"]["hdr"]))
                want = h.percentiles_ms((50.0, 95.0, 99.0))
                assert [got["ttft"][k] for k in ("p50", "p95", "p99")] == list(want.values())
    assert both >= 4
    for name, scope in merged["scopes"]["by_name"].items():
        per_second = [iv.get("by_name", {}).get(name, {}) for iv in merged["intervals"]]
        assert sum(e.get("requests", 0) for e in per_second) == scope["requests"]
