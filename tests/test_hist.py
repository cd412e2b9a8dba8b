"""Tests for loadgen.core.hist: recording, clamping, percentiles, encoding and exact merging."""

from __future__ import annotations

import random

import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from loadgen.core.hist import PERCENTILES, Histogram, ValueHistogram, _tables

SUMMARY_KEYS = ["count", "mean", "p50", "p90", "p95", "p99", "p99.9", "max", "min"]


def test_uniform_values_give_known_percentiles() -> None:
    """1..10,000 µs uniform: each percentile is within HDR's 0.1 % of the exact value."""
    h = Histogram()
    h.record_many_us(range(1, 10_001))
    assert h.count == 10_000
    for p, value in h.percentiles_ms().items():
        assert value == pytest.approx(p / 10, rel=1e-3), p
    assert h.mean_ms == pytest.approx(5.0005, rel=1e-3)
    assert h.min_ms == 0.001
    assert h.max_ms == pytest.approx(10.0, rel=1e-3)


def test_summary_has_the_spec_keys_in_ms() -> None:
    """summary() reports count, mean, p50..p99.9, max and min, in milliseconds."""
    h = Histogram()
    h.record_us(2_000, count=3)
    summary = h.summary()
    assert list(summary) == SUMMARY_KEYS
    assert summary["count"] == 3
    assert summary["p50"] == pytest.approx(2.0, rel=1e-3)
    assert summary["mean"] == pytest.approx(2.0, rel=1e-3)


@pytest.mark.parametrize(
    ("value", "recorded_ms", "out_of_range"),
    [
        pytest.param(0, 0.001, 0, id="a zero gap is recorded as 1 µs"),
        pytest.param(-5, 0.001, 0, id="a negative value (clock noise) is recorded as 1 µs"),
        pytest.param(1, 0.001, 0, id="1 µs is the lowest value"),
        pytest.param(3_600_000_000, 3_600_000, 0, id="one hour is in range"),
        pytest.param(3_600_000_001, 3_600_000, 1, id="past one hour is clamped and counted"),
        pytest.param(10**15, 3_600_000, 1, id="far past one hour is clamped and counted"),
    ],
)
def test_clamping(value: int, recorded_ms: float, out_of_range: int) -> None:
    """Out-of-range values are never dropped: clamped into range, overflow counted."""
    h = Histogram()
    h.record_us(value)
    assert h.count == 1
    assert h.percentiles_ms([50.0])[50.0] == pytest.approx(recorded_ms, rel=1e-3)
    assert h.out_of_range == out_of_range


def test_out_of_range_counts_the_count_argument() -> None:
    """record_us(v, count=n) above the range adds n to out_of_range."""
    h = Histogram(highest_us=1_000)
    h.record_us(5_000, count=4)
    assert (h.count, h.out_of_range) == (4, 4)


def test_record_seconds_rounds_to_microseconds() -> None:
    """record_seconds takes a monotonic-clock difference in seconds."""
    h = Histogram()
    h.record_seconds(0.0125)
    h.record_seconds(0.0000004)
    assert h.max_ms == pytest.approx(12.5, rel=1e-3)
    assert h.min_ms == 0.001


def test_empty_histogram() -> None:
    """An empty histogram summarises to count 0 and zeros, and survives encode/decode."""
    h = Histogram()
    assert h.summary() == dict.fromkeys(SUMMARY_KEYS, 0.0) | {"count": 0}
    assert h.percentiles_ms() == dict.fromkeys(PERCENTILES, 0.0)
    assert not h
    back = Histogram.decode(h.encode())
    assert back.summary() == h.summary()
    back.record_us(5)
    assert back.count == 1


def test_encode_decode_round_trip() -> None:
    """decode(encode(h)) has the same counts and summary; the encoding is ASCII text."""
    rng = random.Random(7)
    h = Histogram()
    h.record_many_us(rng.randint(1, 60_000_000) for _ in range(5_000))
    text = h.encode()
    assert isinstance(text, str)
    assert text.startswith("HISTF")
    back = Histogram.decode(text)
    assert back.summary() == h.summary()
    assert list(back._h.counts) == list(h._h.counts)
    back.record_us(10)
    assert back.count == h.count + 1


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("", id="an empty string"),
        pytest.param("not base64!", id="not base64"),
        pytest.param("SGVsbG8gd29ybGQ=", id="base64 of something else"),
        pytest.param("é", id="non-ASCII text"),
    ],
)
def test_decode_rejects_garbage(data: str) -> None:
    """A string that is not an encoded histogram raises ValueError."""
    with pytest.raises(ValueError, match=r"HdrHistogram|ascii"):
        Histogram.decode(data)


def test_merge_is_exact() -> None:
    """Merging two halves, via encode/decode, equals one histogram fed every value."""
    rng = random.Random(42)
    values = [int(rng.lognormvariate(10, 2)) for _ in range(20_000)]
    whole, a, b = Histogram(), Histogram(), Histogram()
    whole.record_many_us(values)
    a.record_many_us(values[:7_000])
    b.record_many_us(values[7_000:])
    merged = Histogram.decode(a.encode())
    merged.merge(Histogram.decode(b.encode()))
    merged.out_of_range = whole.out_of_range  # not carried by the encoding
    assert merged.summary() == whole.summary()
    assert merged.percentiles_ms([0.0, 10.0, 99.99, 100.0]) == whole.percentiles_ms(
        [0.0, 10.0, 99.99, 100.0]
    )


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param([], [50, 60], id="into an empty histogram"),
        pytest.param([50, 60], [], id="an empty histogram into a full one"),
        pytest.param([], [], id="two empty histograms"),
    ],
)
def test_merge_with_empty_keeps_min(left: list[int], right: list[int]) -> None:
    """Merging with an empty side keeps the true minimum (hdrh's add() would report 0)."""
    a, b = Histogram(), Histogram()
    a.record_many_us(left)
    b.record_many_us(right)
    a.merge(b)
    assert a.count == len(left + right)
    assert a.min_ms == (0.05 if left + right else 0.0)


def test_merge_sums_out_of_range() -> None:
    """out_of_range counts add up on merge."""
    a, b = Histogram(highest_us=1_000), Histogram(highest_us=1_000)
    a.record_us(2_000)
    b.record_us(3_000, count=2)
    a.merge(b)
    assert a.out_of_range == 3


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(Histogram(digits=2), id="different precision"),
        pytest.param(Histogram(highest_us=60_000_000), id="different range"),
        pytest.param(ValueHistogram(), id="a value histogram"),
    ],
)
def test_merge_rejects_different_shapes(other: Histogram | ValueHistogram) -> None:
    """Only histograms of the same kind, range and precision merge."""
    with pytest.raises(ValueError, match="cannot merge"):
        Histogram().merge(other)


def test_copy_is_independent_and_reset_clears() -> None:
    """copy() keeps counts and out_of_range apart from the original; reset() empties."""
    h = Histogram(highest_us=1_000)
    h.record_many_us([5, 50, 5_000])
    c = h.copy()
    h.record_us(7)
    assert (c.count, c.out_of_range, h.count) == (3, 1, 4)
    assert c.summary()["min"] == 0.005
    h.reset()
    assert (h.count, h.out_of_range, len(h)) == (0, 0, 0)
    assert h.summary()["max"] == 0.0
    h.record_us(9)
    assert h.summary()["min"] == h.summary()["max"] == 0.009


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=-10, max_value=4_000_000_000), min_size=1, max_size=300))
def test_matches_hdrh(values: list[int]) -> None:
    """The inlined recording and table-driven statistics match hdrh's own answers."""
    h = Histogram()
    ref = HdrHistogram(1, 3_600_000_000, 3)
    for v in values:
        h.record_us(v)
        ref.record_value(min(max(v, 1), 3_600_000_000))
    assert list(h._h.counts) == list(ref.counts)
    ps = [0.0, 1.0, *PERCENTILES, 99.999, 100.0]
    expected = ref.get_percentile_to_value_dict(ps)
    assert h.percentiles_ms(ps) == {p: expected[p] / 1000 for p in ps}
    assert h.mean_ms == pytest.approx(ref.get_mean_value() / 1000, rel=1e-12)
    assert (h.min_ms, h.max_ms) == (ref.get_min_value() / 1000, ref.get_max_value() / 1000)


@pytest.mark.parametrize(
    ("lowest", "highest", "digits"),
    [
        pytest.param(1, 3_600_000_000, 3, id="the latency layout"),
        pytest.param(1, 10**9, 3, id="the value layout"),
        pytest.param(1000, 10**7, 2, id="a coarse layout with a unit above 1"),
    ],
)
def test_bucket_tables_match_hdrh(lowest: int, highest: int, digits: int) -> None:
    """The precomputed per-bucket edges equal hdrh's for every counts index."""
    ref = HdrHistogram(lowest, highest, digits)
    lows, highs, mids = _tables(
        ref.unit_magnitude, ref.sub_bucket_half_count_magnitude, ref.counts_len
    )
    for i in range(ref.counts_len):
        v = ref.get_value_from_index(i)
        assert lows[i] == ref.get_lowest_equivalent_value(v)
        assert highs[i] == ref.get_highest_equivalent_value(v)
        assert mids[i] == ref._hdr_median_equiv_value(v)


def test_value_histogram_scales() -> None:
    """A scale-1000 histogram keeps tokens/s to three decimals and reports the natural unit."""
    h = ValueHistogram(scale=1000)
    h.record_many([12.5, 40.25, 80.0])
    h.record(0.0001)
    summary = h.summary()
    assert list(summary) == SUMMARY_KEYS
    assert summary["count"] == 4
    assert summary["max"] == pytest.approx(80.0, rel=1e-3)
    assert summary["min"] == 0.001
    assert h.percentiles([50.0])[50.0] == pytest.approx(12.5, rel=1e-3)
    back = ValueHistogram.decode(h.encode(), scale=1000)
    assert back.summary() == summary
    back.merge(h)
    assert back.count == 8


def test_value_histogram_counts() -> None:
    """Raw token counts: scale 1, clamped at highest with out_of_range."""
    h = ValueHistogram(highest=1_000)
    h.record_many([1, 32, 32, 5_000])
    assert (h.count, h.out_of_range) == (4, 1)
    assert h.percentiles([50.0]) == {50.0: 32.0}
    assert h.mean == pytest.approx((1 + 32 + 32 + 1000) / 4, rel=1e-3)
    assert h.min == 1.0


def test_percentiles_outside_0_to_100_raise() -> None:
    """Asking for p101 is a caller bug, not a silent omission as in hdrh."""
    with pytest.raises(ValueError, match=r"0\.\.100"):
        Histogram().percentiles_ms([101.0])


def test_a_batch_all_below_the_lowest_value_holds_the_lowest():
    """Values under 1 µs (a schedule lag of 0) clamp to 1 µs in a batch as one by one."""
    one, batch = Histogram(), Histogram()
    for _ in range(3):
        one.record_us(0)
    batch.record_many_us([0, 0, 0])
    assert batch.summary() == one.summary()
    assert batch.count == 3
    assert batch.max_ms == one.max_ms == 0.001


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=-10, max_value=4_000_000_000), min_size=0, max_size=300))
def test_reset_zeroes_every_counter_it_touched(values: list[int]) -> None:
    """reset() zeroes only from the lowest to the highest value's counter: every counter a
    recording (clamped or out of range included) can have touched is 0 after it."""
    h = Histogram()
    h.record_many_us(values)
    h.reset()
    assert not any(h._h.counts)
    assert (h.count, h.out_of_range) == (0, 0)
    h.record_many_us(values)  # the same histogram records anew, as an interval's does
    fresh = Histogram()
    fresh.record_many_us(values)
    assert list(h._h.counts) == list(fresh._h.counts)
