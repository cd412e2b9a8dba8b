"""Native histograms in remote write (``--out prometheus=URL?histograms=native``) and the
summed reading of HDR histograms behind both histogram forms (``loadgen.core.promhist``).

The fast tests check the buckets against values whose native bucket is known by formula
(integers of microseconds below 2,048, where HDR at 3 digits is exact) and the classic
counts against HDR's own ``cumulative``; the slow one runs loadgen against the built-in
target into a real Prometheus started with ``--enable-feature=native-histograms`` and asks
PromQL for ``histogram_count`` and ``histogram_quantile`` over the native series.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from itertools import accumulate
from pathlib import Path
from typing import Any

import cramjam
import pytest
import yaml
from promserver import ROOT, Prom, at_prometheus_rank, running_prometheus

from loadgen.core import promseries, promwire
from loadgen.core.hist import Histogram, ValueHistogram, _tables
from loadgen.core.promhist import NATIVE_SCHEMA, Summer, summed
from loadgen.core.stats import Recorder

BASE = (("profile", "p"), ("run_id", "r1"), ("segment", "1/1"))


def native_index(seconds: float, schema: int = NATIVE_SCHEMA) -> int:
    """The native bucket holding ``seconds``: bucket i is (2^((i-1)/2^s), 2^(i/2^s)]."""
    return math.ceil(math.log2(seconds) * 2**schema - 1e-9)


def test_native_buckets_hold_each_value_where_the_formula_puts_it():
    """Exact HDR values (1..2047 µs) in two histograms: the sum's native buckets are the
    values' buckets by formula; count and sum are the values' own."""
    rng = random.Random(5)
    values = [rng.randint(1, 2047) for _ in range(3000)]
    a, b = Histogram(), Histogram()
    for i, v in enumerate(values):
        (a if i % 3 else b).record_seconds(v / 1e6)
    total = summed([a, b])
    assert total is not None
    native = total.native(total.total())
    expected: dict[int, int] = {}
    for v in values:
        expected[native_index(v / 1e6)] = expected.get(native_index(v / 1e6), 0) + 1
    assert native.buckets() == expected
    assert native.count == len(values)
    assert native.sum == pytest.approx(sum(values) / 1e6, rel=1e-3)  # HDR midpoints
    assert native.schema == NATIVE_SCHEMA


def test_native_buckets_of_wide_values_count_each_hdr_bucket_at_its_lowest_value():
    """Latencies over four decades: each value counts in the native bucket of its HDR
    bucket's lowest value, so at most 0.1 % below its own (the documented error bound)."""
    rng = random.Random(8)
    stored = [max(1, round(rng.lognormvariate(-3, 1.5) * 1e6)) for _ in range(5000)]
    hist = Histogram()
    for us in stored:
        hist.record_us(us)
    got = summed([hist])
    assert got is not None
    lows = _tables(hist._unit, hist._shift, hist._h.counts_len)[0]
    expected: dict[int, int] = {}
    moved = 0
    for us in stored:
        low = lows[hist._index(us)]
        assert us / 1.001 <= low <= us  # an HDR bucket is at most 0.1 % wide
        index = native_index(low / 1e6)
        expected[index] = expected.get(index, 0) + 1
        moved += index != native_index(us / 1e6)
    assert got.native(0.0).buckets() == expected
    assert moved < 0.05 * len(stored)  # only values within 0.1 % above a 2.2 %-wide bound


def test_summed_classic_counts_equal_hdr_cumulative_of_the_merge():
    """A group's cumulative counts at the classic bounds are those of the merged HDR
    histogram (hist.cumulative, the reading this replaced), and the sum is its mean × count."""
    rng = random.Random(2)
    parts = []
    for k in range(4):
        h = Histogram()
        for _ in range(800):
            h.record_seconds(rng.lognormvariate(-2 + k, 0.8))
        parts.append(h)
    limits = tuple(int(b * 1e6 + 1e-6) for b in promseries.TIME_BOUNDS)
    merged = parts[0].copy()
    for h in parts[1:]:
        merged.merge(h)
    summer = Summer(parts)
    for group in (parts, parts[1:3], parts[3:]):
        total = summer.summed(group)
        assert total is not None
        one = group[0].copy()
        for h in group[1:]:
            one.merge(h)
        below, stored = one.cumulative(limits)
        assert total.cumulative(limits) == below
        assert total.total() == pytest.approx(stored / 1e6, rel=1e-12)
        assert total.count == one.count
    values = ValueHistogram(scale=100)
    values.record_many([1.5, 2.0, 2.0, 300.25])
    read = summed([values])
    assert read is not None
    assert read.native(read.total()).buckets() == {
        native_index(1.5): 1,
        native_index(2.0): 2,
        native_index(300.25): 1,
    }


def _chat(t0: float, ttft: float, name: str = "chat.simple") -> Any:
    from loadgen.core.sample import Sample

    return Sample(
        name=name,
        user_class="regular",
        t0=t0,
        send=t0,
        category="simple",
        first_byte=t0 + ttft,
        token_times=[t0 + ttft, t0 + ttft + 0.01],
        end=t0 + ttft + 0.02,
        status=200,
        usage_tokens=2,
    )


def test_remote_write_body_carries_native_histograms_and_classic_counters():
    """histograms=native: histogram families travel as one TimeSeries of Histogram each
    (count, schema, spans and deltas), no _bucket series; counters stay samples. A second
    push of the same exporter carries the grown counts."""
    rec = Recorder(start=0.0)
    for i in range(10):
        rec.add(_chat(i * 0.1, 0.001 * (i + 1)))
    collector = promseries.Collector(native=True)
    encoder = promwire.RemoteWrite(native=True)
    request = promwire._message_classes()["WriteRequest"]()
    for pushed in (10, 11):
        body = encoder.body(collector.collect(rec, BASE, {}), 1_700_000_000_000)
        request.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
        by_name = {}
        for ts in request.timeseries:
            labels = {label.name: label.value for label in ts.labels}
            by_name.setdefault(labels["__name__"], []).append((labels, ts))
        assert not any(name.endswith("_bucket") for name in by_name)
        ttft = {lb["scope"]: ts for lb, ts in by_name["loadgen_ttft_seconds"]}
        hist = ttft["overall"].histograms[0]
        assert (hist.count_int, hist.schema) == (pushed, NATIVE_SCHEMA)
        assert sum(s.length for s in hist.positive_spans) == len(hist.positive_deltas)
        assert hist.timestamp == 1_700_000_000_000
        counts = list(accumulate(hist.positive_deltas))
        assert sum(counts) == pushed
        (requests,) = [
            ts for lb, ts in by_name["loadgen_requests_total"] if lb["scope"] == "overall"
        ]
        assert requests.samples[0].value == pushed
        rec.add(_chat(2.0, 0.5))


def test_receiver_option_parses_and_rejects_with_the_fix():
    assert promwire.receiver("http://h:9/api/v1/write?histograms=native") == (
        "http://h:9/api/v1/write",
        True,
    )
    assert promwire.receiver("http://h:9/w?extra_label=a%3Db&histograms=classic") == (
        "http://h:9/w?extra_label=a%3Db",
        False,
    )
    assert promwire.receiver("http://h:9/w") == ("http://h:9/w", False)
    with pytest.raises(ValueError, match="histograms=native"):
        promwire.receiver("http://h:9/w?histograms=exponential")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadgen",
            "run",
            "x.yaml",
            "--out",
            "prometheus=http://h/w?histograms=x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 2
    assert "histograms=x is not a histogram form" in done.stderr
    assert "Traceback" not in done.stderr


def _profile(tmp_path: Path) -> Path:
    data = {
        "name": "nativetest",
        "target": {
            "base_url": "builtin",
            "timeout": "20s",
            "builtin": {
                "timing": {"ttft": "30ms", "itl": "2ms", "output_tokens": 6},
                "capacity": {"slots": 0},
                "seed": 3,
            },
        },
        "users": [{"name": "regular", "think_time": "20ms", "tasks": [{"chat": {}}]}],
        "load": {"users": 4, "duration": "2s", "graceful_stop": "5s"},
        "seed": 7,
        "report": {"formats": ["json"]},
    }
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def native_bucket(seconds: float) -> tuple[float, float]:
    i = native_index(seconds)
    return 2 ** ((i - 1) / 2**NATIVE_SCHEMA), 2 ** (i / 2**NATIVE_SCHEMA)


@pytest.mark.slow
def test_native_histograms_in_a_real_prometheus_equal_the_result(tmp_path: Path) -> None:
    """histogram_count over the native series is the result's count; histogram_quantile(0.95)
    lies in the native bucket (~2.2 % wide) of the result's value at that rank."""
    (tmp_path / "prom").mkdir()
    with running_prometheus(tmp_path / "prom", "native-histograms") as prom:
        out = tmp_path / "nat"
        argv = [sys.executable, "-m", "loadgen", "run", str(_profile(tmp_path)), "--quiet"]
        argv += ["--out", str(out), "--out", f"prometheus={prom.write_url}?histograms=native"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=90, env=env, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "warning" not in done.stderr, done.stderr  # every push accepted
        result = json.loads((out / "result.json").read_text(encoding="utf-8"))
        _check(prom, result["scopes"]["overall"])


def _check(prom: Prom, overall: dict[str, Any]) -> None:
    sel = '{scope="overall",run_id="nat"}'
    assert overall["requests"] > 20
    for metric in ("ttft", "e2e"):
        summary = overall["metrics"][metric]
        count = prom.settled(
            f"histogram_count(sum(loadgen_{metric}_seconds{sel}))",
            lambda v, n=summary["count"]: v.get("") == n,
        )
        assert count == {"": summary["count"]}, metric
        assert not prom.query(f"loadgen_{metric}_seconds_bucket{sel}")  # native only
        (estimate,) = prom.settled(
            f"histogram_quantile(0.95, sum(loadgen_{metric}_seconds{sel}))", bool
        ).values()
        truth = at_prometheus_rank(summary, 0.95) / 1000
        # the bucket of the value, or of a value 0.1 % below it (HDR's resolution)
        lower, upper = native_bucket(truth / 1.001)[0], native_bucket(truth)[1]
        assert lower * 0.999 <= estimate <= upper * 1.001, (metric, estimate, truth)
