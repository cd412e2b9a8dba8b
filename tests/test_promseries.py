"""loadgen's metrics as Prometheus series (pure): bucket counts from the HDR histograms,
scopes and labels, every registry metric exported, and both wire forms read back."""

from __future__ import annotations

import itertools
import random

import cramjam
import pytest

from loadgen.core import metrics, promseries, promwire
from loadgen.core.errors import ErrorKind
from loadgen.core.hist import Histogram
from loadgen.core.metrics import Metric
from loadgen.core.sample import Sample
from loadgen.core.stats import Recorder

BASE = (("profile", "p"), ("run_id", "r1"), ("segment", "1/1"))


def chat(
    t0: float,
    ttft: float,
    *,
    name: str = "chat.simple",
    cls: str = "regular",
    error: ErrorKind | None = None,
) -> Sample:
    times = [t0 + ttft, t0 + ttft + 0.01, t0 + ttft + 0.02]
    return Sample(
        name=name, user_class=cls, t0=t0, send=t0, category="simple", first_byte=t0 + ttft / 2,
        token_times=times, end=times[-1] + 0.001, status=200, usage_tokens=3, error=error,
    )  # fmt: skip


def series(
    families: list[promseries.Family],
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(name, labels): value for f in families for name, labels, value in f.series}


def test_bucket_counts_are_the_values_at_or_below_each_bound():
    """Below 2,048 µs HDR buckets are 1 µs wide, so the counts are exact; above, they are
    exact to HDR's 3 significant digits."""
    rng = random.Random(4)
    values = [rng.randint(1, 2047) for _ in range(500)] + [
        rng.randint(1, 10**8) for _ in range(500)
    ]
    hist = Histogram()
    for v in values:
        hist.record_us(v)
    limits = tuple(int(b * 1e6) for b in promseries.TIME_BOUNDS)
    counts, stored = hist.cumulative(limits)
    for limit, count in zip(limits, counts, strict=True):
        if limit < 2048:
            assert count == sum(v <= limit for v in values)
        else:
            assert sum(v <= limit * 0.999 for v in values) <= count
            assert count <= sum(v <= limit * 1.001 for v in values)
    assert counts == sorted(counts)
    assert stored == pytest.approx(sum(values), rel=1e-3)
    assert Histogram().cumulative((1, 2)) == ([0, 0], 0)


def test_bounds_are_log_spaced_ten_per_decade():
    """Every step is 10^0.1 (~1.26) up to the 3-digit rounding; times start at 100 µs."""
    for layout in (promseries.TIME_BOUNDS, promseries.VALUE_BOUNDS):
        steps = [b / a for a, b in itertools.pairwise(layout)]
        assert all(1.24 < s < 1.28 for s in steps)
    assert promseries.TIME_BOUNDS[0] == 0.0001
    assert promseries.TIME_BOUNDS[10] == 0.001
    assert promseries.VALUE_BOUNDS[0] == 1.0
    assert promseries.VALUE_BOUNDS[-1] == 1e6


def test_scopes_counts_and_errors_are_labelled_and_add_up():
    """Overall, per name and per class scopes; errors by kind; the scopes' counts are the
    recorder's (interrupted requests counted apart)."""
    rec = Recorder(start=0.0)
    rec.add(chat(0.0, 0.05))
    rec.add(chat(0.0, 0.2, name="chat.long", cls="admin"))
    rec.add(chat(0.0, 0.1, error=ErrorKind.HTTP_5XX))
    got = series(promseries.collect(rec, BASE, {"users": 3, "in_flight": 2, "bogus": 9}))
    overall = (*BASE, ("scope", "overall"))
    assert got["loadgen_requests_total", overall] == 3
    assert got["loadgen_requests_total", (*BASE, ("name", "chat.long"), ("scope", "name"))] == 1
    assert got["loadgen_requests_total", (*BASE, ("class", "regular"), ("scope", "class"))] == 2
    assert got["loadgen_errors_total", (*overall, ("kind", "http_5xx"))] == 1
    assert got["loadgen_output_tokens_total", overall] == 6  # usage 3, two answers
    assert got["loadgen_users", overall] == 3
    assert got["loadgen_in_flight", overall] == 2
    assert not any(name == "bogus" for name, _ in got)
    # ttft: 50 ms and 200 ms answered (the failed one has none): le 0.0501 holds one
    assert got["loadgen_ttft_seconds_count", overall] == 2
    assert got["loadgen_ttft_seconds_bucket", (*overall, ("le", "0.0501"))] == 1
    assert got["loadgen_ttft_seconds_bucket", (*overall, ("le", "0.2"))] == 2
    assert got["loadgen_ttft_seconds_bucket", (*overall, ("le", "+Inf"))] == 2
    assert got["loadgen_ttft_seconds_sum", overall] == pytest.approx(0.25, rel=1e-3)


def test_every_registry_metric_with_values_is_exported_as_a_histogram():
    """Nothing is hard-coded: a metric registered for a test shows up under its family."""
    extra = Metric(name="queue_wait", doc="test metric", of=lambda s: 0.004, unit="ms")
    with metrics.registered(extra):
        rec = Recorder(start=0.0)
        rec.add(chat(0.0, 0.05))
        families = {f.name: f for f in promseries.collect(rec, BASE, {})}
        assert "loadgen_queue_wait_seconds_bucket" in promseries.names()
    assert families["loadgen_queue_wait_seconds"].kind == "histogram"
    for m in metrics.metrics():
        name = promseries.family_name(m)
        if m.name in ("ttft", "e2e", "itl", "output_tokens", "schedule_lag"):
            assert families[name].kind == "histogram", name
    assert "loadgen_request_output_tokens" in families  # a quantity, not a time
    assert "loadgen_request_tps" in families


def test_exposition_text_escapes_labels_and_writes_each_family_once():
    rec = Recorder(start=0.0)
    rec.add(chat(0.0, 0.05, name='we"ird\\name\n'))
    text = promwire.exposition(promseries.collect(rec, BASE, {"users": 1}))
    assert text.count("# TYPE loadgen_ttft_seconds histogram\n") == 1
    assert 'name="we\\"ird\\\\name\\n"' in text
    assert 'loadgen_users{profile="p",run_id="r1",segment="1/1",scope="overall"} 1\n' in text


def test_remote_write_body_is_snappy_protobuf_with_sorted_labels():
    """The body decompresses (snappy block format) to a WriteRequest holding every series
    with ``__name__`` and sorted labels, at the given timestamp, and each family's type."""
    rec = Recorder(start=0.0)
    rec.add(chat(0.0, 0.05))
    families = promseries.collect(rec, BASE, {"users": 1})
    body = promwire.write_request(families, 1_700_000_000_000)
    request = promwire._message_classes()["WriteRequest"]()
    request.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
    assert len(request.timeseries) == sum(len(f.series) for f in families)
    for ts in request.timeseries:
        names = [label.name for label in ts.labels]
        assert names == sorted(names)
        assert "__name__" in names
        assert ts.samples[0].timestamp == 1_700_000_000_000
    users = next(ts for ts in request.timeseries if ts.labels[0].value == "loadgen_users")
    assert users.samples[0].value == 1
    kinds = {m.metric_family_name: m.type for m in request.metadata}
    assert kinds["loadgen_ttft_seconds"] == 3
    assert kinds["loadgen_requests_total"] == 1
