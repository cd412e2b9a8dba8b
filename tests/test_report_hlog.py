"""The .hlog interval log is read back by hdrh's standard HistogramLogReader."""

from __future__ import annotations

import pytest
from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader
from report_helpers import cached_run

from loadgen.report import render_all
from loadgen.report.hlog import LEGEND, TAGS


@pytest.fixture(scope="module")
def hlog(tmp_path_factory):
    base = cached_run(tmp_path_factory)
    return base, render_all(base, tmp_path_factory.mktemp("hlog"), ["hlog"])[0]


def test_header_and_legend(hlog):
    base, path = hlog
    lines = path.read_text().splitlines()
    assert lines[2].startswith(f"#[StartTime: {base.data['started']:.3f} (seconds since epoch)")
    assert lines[3].startswith("#[BaseTime: ")
    assert lines[4] == LEGEND
    assert len(lines) == 5 + len(TAGS) * len(base.data["intervals"])


def test_standard_reader_gets_every_interval_with_its_counts_and_max(hlog):
    """Per tag and interval: the count and max (µs) of the result; start times are absolute."""
    base, path = hlog
    reader = HistogramLogReader(str(path), HdrHistogram(1, 3_600_000_000, 3))
    got = []
    try:
        while (h := reader.get_next_interval_histogram()) is not None:
            got.append(h)
    finally:
        reader.close()
    intervals = base.data["intervals"]
    assert len(got) == 2 * len(intervals)
    started = base.data["started"]
    for i, iv in enumerate(intervals):
        for h, tag in zip(got[2 * i : 2 * i + 2], TAGS, strict=True):
            assert h.get_tag() == tag
            assert h.get_total_count() == iv[tag]["count"]
            assert h.get_start_time_stamp() / 1000 == pytest.approx(started + iv["t"], abs=2e-3)
            if iv[tag]["count"]:
                assert h.get_max_value() / 1000 == pytest.approx(iv[tag]["max"], rel=1e-3)


def test_the_lines_carry_interval_max_in_ms(hlog):
    base, path = hlog
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("Tag=ttft,")]
    for line, iv in zip(lines, base.data["intervals"], strict=True):
        _, start, length, peak, _ = line.split(",")
        assert float(start) == pytest.approx(iv["t"], abs=1e-3)
        assert float(length) == pytest.approx(iv["length"], abs=1e-3)
        assert float(peak) == pytest.approx(iv["ttft"].get("max", 0.0), abs=1e-3)
