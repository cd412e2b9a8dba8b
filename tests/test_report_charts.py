"""Pure SVG builders and the downsampled time series: values in, markup out."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from loadgen.core.hist import Histogram
from loadgen.report import charts
from loadgen.report.series import time_series

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("lo", "hi", "ticks"),
    [
        pytest.param(0, 10, [0, 2, 4, 6, 8, 10], id="steps of 2 up to 10"),
        pytest.param(0, 1700, [0, 500, 1000, 1500, 2000][:4], id="steps of 500 to 1500"),
        pytest.param(0, 0.9, [0, 0.2, 0.4, 0.6, 0.8], id="fractions"),
        pytest.param(5, 5, [5], id="an empty range is one tick"),
    ],
)
def test_nice_ticks(lo, hi, ticks):
    assert charts.nice_ticks(lo, hi) == ticks


def chart(**kw):
    lines = kw.pop(
        "lines", [charts.Line("p95 <x>", [(0, 1.0), (1, None), (2, 3.0), (3, 4.0)], "#000")]
    )
    return charts.line_chart(
        lines, title="Latency & more", y_label="ms", x_label="time", x_range=(0, 3), **kw
    )


def test_chart_is_valid_svg_with_title_axes_and_legend():
    """Well-formed XML; title, axis labels and legend text escaped and present."""
    root = ET.fromstring(chart())
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Latency & more" in texts
    assert {"ms", "time", "p95 <x>"} <= set(texts)
    assert root.get("viewBox") == "0 0 1160 210"


def test_missing_values_leave_a_gap():
    root = ET.fromstring(chart())
    (path,) = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == "#000"]
    assert path.get("d").count("M") == 2


def test_stage_marks_are_dashed_vertical_lines_with_labels():
    root = ET.fromstring(chart(marks=[charts.Mark(1.5, "hold 5"), charts.Mark(9, "outside")]))
    dashed = [g for g in root.iter(f"{SVG}g") if g.get("stroke-dasharray") == "5 4"]
    assert len(list(dashed[0])) == 1
    assert "hold 5" in [t.text for t in root.iter(f"{SVG}text")]


def test_empty_chart_says_no_data():
    svg = chart(lines=[charts.Line("x", [], "#000")])
    assert ">no data<" in svg


def test_percentile_chart_labels_the_tail():
    line = charts.Line("ttft", [(0.0, 1.0), (50.0, 2.0), (99.9, 9.0)], "#000")
    texts = [
        t.text
        for t in ET.fromstring(charts.percentile_chart([line], title="t", y_label="ms")).iter(
            f"{SVG}text"
        )
    ]
    assert {"0%", "90%", "99%", "99.9%"} <= set(texts)


@pytest.mark.parametrize(
    ("seconds", "span", "label"),
    [(30, 60, "30s"), (300, 3600, "5m"), (5400, 7200, "1h30m"), (150, 600, "2:30")],
)
def test_time_labels(seconds, span, label):
    assert charts.time_label(seconds, span) == label


def interval(t: int, values_us: list[int]) -> dict:
    h = Histogram()
    for v in values_us:
        h.record_us(v)
    p = h.percentiles_ms((50.0, 95.0, 99.0))
    brief = {
        "count": h.count,
        "p50": p[50.0],
        "p95": p[95.0],
        "p99": p[99.0],
        "max": h.max_ms,
        "hdr": h.encode(),
    }
    return {
        "t": float(t),
        "length": 1.0,
        "users": 10,
        "requests": len(values_us),
        "errors": 1,
        "dropped": 0,
        "output_tokens": 100,
        "ttft": brief,
        "e2e": brief,
        "planned": {"users": 10.0},
    }


def test_long_runs_are_downsampled_with_merged_histograms():
    """1,200 one-second intervals become 600 points of 2 s: rates recomputed from sums and
    p95 from the merged histograms, equal to one histogram holding both seconds."""
    intervals = [
        interval(t, [1000 * (t % 7 + 1)] * 3 + [50_000 * (t % 3 + 1)]) for t in range(1200)
    ]
    ts = time_series(intervals, max_points=600)
    assert len(ts.t) == 600
    assert ts.step == 2.0
    assert ts.values["rps"][0] == 4.0
    assert ts.values["errors"][0] == 1.0
    both = Histogram()
    for iv in intervals[:2]:
        both.merge(Histogram.decode(iv["ttft"]["hdr"]))
    assert ts.values["ttft_p95"][0] == both.percentiles_ms((95.0,))[95.0]
    assert ts.t[0] == 1.0  # the middle of the bucket


def test_short_runs_keep_every_interval():
    intervals = [interval(t, [2000]) for t in range(5)]
    ts = time_series(intervals)
    assert ts.t == [0.5, 1.5, 2.5, 3.5, 4.5]
    assert ts.values["ttft_p50"] == [iv["ttft"]["p50"] for iv in intervals]


def test_a_short_final_interval_is_drawn_as_a_rate_over_its_real_length():
    """3 requests in a final 5 ms are not a point at 600 req/s: they join the last second."""
    intervals = [interval(t, [2000] * 10) for t in range(5)]
    intervals.append(dict(interval(5, [2000] * 3), length=0.005))
    ts = time_series(intervals)
    assert len(ts.t) == 5
    assert ts.values["rps"][-1] == pytest.approx(13 / 1.005)
    assert max(ts.values["rps"]) < 14


def test_a_graceful_stop_draws_users_still_finishing_and_ends_the_plan():
    """After the plan's end no user is planned, and users finishing answers are still drawn."""
    intervals = [interval(t, [2000]) for t in range(4)]
    intervals[2].update(users=0, finishing=7)  # the plan ended at 2 s; 7 answers in flight
    intervals[3].update(users=0, finishing=0)
    ts = time_series(intervals, plan_end=2.0)
    assert ts.values["users"] == [10, 10, 7, 0]
    assert ts.values["planned"] == [10.0, 10.0, None, None]


def test_the_open_model_series_counts_sent_arrivals_not_completions():
    """``sent`` is arrivals sent per second, independent of when their answers complete."""
    intervals = [dict(interval(t, [2000] * 2), sent=5) for t in range(3)]
    ts = time_series(intervals)
    assert ts.values["sent"] == [5.0, 5.0, 5.0]
    assert ts.values["rps"] == [2.0, 2.0, 2.0]
    assert time_series([interval(0, [2000])]).values["sent"] == [None]
