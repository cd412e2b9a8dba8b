"""Each request name's lines in the explorable report, in a real headless Chromium: hovering
a name's line reads that interval's value for that name; a threshold on p99.9, and one
scoped to a name, each draw their line on the series they judge; at most 8 names are drawn
(the rest as one line); a one-hour report with 5 names stays under 2 MB; and the live
feed pushes a name's p99.9 for its threshold line.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cdp import CHROMIUM, Browser
from report_helpers import cached_run, profile_dict
from support import run_async
from test_report_explore import _AT, shown

import loadgen
from loadgen.core.hist import Histogram
from loadgen.core.result import Result
from loadgen.engine.livefeed import LiveFeed
from loadgen.engine.run import Engine
from loadgen.report import render_all
from loadgen.report.livedata import page_data
from loadgen.report.namecharts import OTHER

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")

_LEGEND = """Object.fromEntries(Array.from(
  lgBoard.plots[{chart!r}].root.querySelectorAll(".u-legend .u-series"))
  .map(s => [s.querySelector(".u-label").textContent, s.querySelector(".u-value").textContent]))"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Result:
    return cached_run(tmp_path_factory)


def _threshold(expr: str, metric: str, stat: str, limit: float, **scope: str) -> dict[str, Any]:
    return {"expr": expr, "metric": metric, "stat": stat, "scope": scope, "op": "<"} | {
        "limit": limit,
        "unit": "ms",
        "value": 1.0,
        "ok": True,
        "abort_on_fail": False,
    }


@needs_chromium
def test_hover_on_a_names_line_reads_that_intervals_value(base, tmp_path):
    """The per-name charts' legends, at two intervals, read each name's requests/s and TTFT
    p95 of that interval as the result records them (requests / length)."""
    html = render_all(Result(base.data, base.path), tmp_path, ["html"])[0]
    intervals = base.data["intervals"]
    name = "chat.simple"
    picks = [i for i, iv in enumerate(intervals) if iv["by_name"][name]["ttft"]["count"]][1:3]
    assert len(picks) == 2

    async def hover() -> list[tuple[dict[str, str], dict[str, str]]]:
        async with Browser(tmp_path) as b:
            await b.goto(html.as_uri())
            await b.wait_for("window.lgBoard && lgBoard.plots.name_ttft && lgBoard.plots.name_rps")
            seen = []
            for i in picks:
                x, y = await b.eval(_AT.format(chart="name_ttft", i=i))
                await b.mouse(x, y)
                await b.wait_for(f"lgBoard.plots.name_ttft.cursor.idx === {i}")
                await b.wait_for(f"lgBoard.plots.name_rps.cursor.idx === {i}")
                ttft = await b.eval(_LEGEND.format(chart="name_ttft"))
                rps = await b.eval(_LEGEND.format(chart="name_rps"))
                seen.append((ttft, rps))
            assert b.errors == []
            return seen

    for i, (ttft, rps) in zip(picks, run_async(hover(), timeout=60), strict=True):
        iv = intervals[i]
        entry = iv["by_name"][name]
        assert ttft[f"{name} p95"] == shown(float(f"{entry['ttft']['p95']:.4g}"))
        assert ttft[f"{name} p99"] == shown(float(f"{entry['ttft']['p99']:.4g}"))
        assert rps[name] == shown(float(f"{entry['requests'] / iv['length']:.4g}"))


@needs_chromium
def test_a_p99_9_threshold_and_a_names_threshold_draw_their_lines(base, tmp_path):
    """ttft.p99.9 (a percentile no interval summary holds) gets its own series, each
    interval's p99.9 from its histogram, and its line on the TTFT chart; a threshold on one
    name's e2e p99 draws on the per-name E2E chart, where that name's p99 is shown."""
    data = copy.deepcopy(base.data)
    worst = max(iv["ttft"].get("max", 0.0) for iv in data["intervals"])
    data["thresholds"] = [
        _threshold("ttft.p99.9 < 9s", "ttft", "p99.9", 3 * worst),
        _threshold("e2e{name=chat.complex}.p99 < 9s", "e2e", "p99", 2500.0, name="chat.complex"),
    ]
    html = render_all(Result(data), tmp_path, ["html"])[0]

    async def look() -> dict[str, Any]:
        async with Browser(tmp_path) as b:
            await b.goto(html.as_uri())
            await b.wait_for("window.lgBoard && lgBoard.plots.ttft && lgBoard.plots.name_e2e")
            got: dict[str, Any] = await b.eval("""(() => {
              const keys = id => lgBoard.plots[id].lgKeys;
              const shown = id => lgBoard.plots[id].series.slice(1).map(s => s.show);
              return {limits: lgBoard.limits, ttft: keys("ttft"), col: lgBoard.cols["ttft.p99.9"],
                      top: lgBoard.plots.ttft.scales.y.max, e2e: keys("name_e2e"),
                      e2e_shown: shown("name_e2e"), e2e_top: lgBoard.plots.name_e2e.scales.y.max};
            })()""")
            assert b.errors == []
            return got

    got = run_async(look(), timeout=60)
    assert [(line["chart"], line["key"]) for line in got["limits"]] == [
        ("ttft", "ttft.p99.9"),
        ("name_e2e", "n.e2e.p99|chat.complex"),
    ]
    assert "ttft.p99.9" in got["ttft"]
    for iv, value in zip(data["intervals"], got["col"], strict=True):
        if not iv["ttft"].get("count"):
            assert value is None
            continue
        want = Histogram.decode(iv["ttft"]["hdr"]).percentiles_ms((99.9,))[99.9]
        assert value == float(f"{want:.4g}")
    assert got["top"] >= 3 * worst
    assert got["e2e_shown"][got["e2e"].index("n.e2e.p99|chat.complex")] is True
    assert got["e2e_shown"][got["e2e"].index("n.e2e.p99|chat.simple")] is False
    assert got["e2e_top"] >= 2500.0


def _with_names(data: dict[str, Any], names: int) -> dict[str, Any]:
    """The run's intervals with ``names`` request names (each a copy of a real one's)."""
    d = copy.deepcopy(data)
    for iv in d["intervals"]:
        real = list(iv["by_name"].values())
        iv["by_name"] = {f"route_{k:02d}": real[k % len(real)] for k in range(names)}
    return d


def test_at_most_8_names_are_drawn_the_rest_as_one_line(base):
    """12 names: the 8 busiest are drawn; the other 4's requests are one line, their sum."""
    data = _with_names(base.data, 12)
    for iv in data["intervals"]:  # route_k has k + 1 requests a second: route_11 the most
        iv["by_name"] = {
            name: dict(entry, requests=k + 1)
            for k, (name, entry) in enumerate(iv["by_name"].items())
        }
    cols = page_data(data)["columns"]
    drawn = sorted(k.split("|", 1)[1] for k in cols if k.startswith("n.rps|"))
    assert drawn == sorted([f"route_{k:02d}" for k in range(4, 12)] + [OTHER])
    for i, iv in enumerate(data["intervals"]):
        rest = sum(iv["by_name"][f"route_{k:02d}"]["requests"] for k in range(4))
        assert cols[f"n.rps|{OTHER}"][i] == float(f"{rest / iv['length']:.4g}")


def test_a_one_hour_report_with_5_names_stays_under_2_mb(base, tmp_path, capsys):
    data = _with_names(base.data, 5)
    whole = [iv for iv in data["intervals"] if abs(iv["length"] - 1.0) < 0.01]
    data["intervals"] = [
        dict(copy.deepcopy(whole[k % len(whole)]), t=float(k), length=1.0) for k in range(3600)
    ]
    data["run"]["duration"] = 3600.0
    html = render_all(Result(data), tmp_path, ["html"])[0]
    size = html.stat().st_size
    with capsys.disabled():
        print(f"\none-hour report, 5 names: {size / 1e6:.2f} MB")
    island = html.read_text().split('id="lg-data">', 1)[1].split("</script>", 1)[0]
    assert island.count("n.ttft.p95|route_04") == 1  # every name's series is in the data
    assert size < 2_000_000, size


def test_the_live_page_draws_a_names_p99_9_threshold_from_each_seconds_histogram(base):
    """The live feed of an engine whose profile has ``ttft{name=chat.simple}.p99.9 < 2s``:
    the page is told the line (on the per-name TTFT chart) and each pushed point carries
    that name's p99.9 of that second, read from the second's histogram."""
    data = profile_dict()
    data["thresholds"] = {"ttft{name=chat.simple}.p99.9": "< 2s"}
    feed = LiveFeed(Engine(loadgen.profile_from_dict(data)), control={})
    limits = feed.init()["data"]["limits"]
    key = "n.ttft.p99.9|chat.simple"
    assert limits == [
        {"chart": "name_ttft", "key": key, "value": 2000.0, "label": limits[0]["label"]}
    ]
    seen = 0
    for record in base.data["intervals"]:
        got = feed.take(record)[key]
        brief = record["by_name"]["chat.simple"]["ttft"]
        if not brief["count"]:
            assert got is None
            continue
        want = Histogram.decode(brief["hdr"]).percentiles_ms((99.9,))[99.9]
        assert got == float(f"{want:.4g}")
        seen += 1
    assert seen >= 3
    assert sorted(feed.names) == sorted(base.data["intervals"][-1]["by_name"])
