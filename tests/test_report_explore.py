"""The explorable report in a real headless Chromium: hovering a chart shows the values of
the interval under the mouse; a drag zooms every chart to that time range; a legend click
hides a series; printed, and without JavaScript, the static SVG charts are what shows. And a
one-hour run's report stays under 2 MB.
"""

from __future__ import annotations

import copy
import decimal

import pytest
from cdp import CHROMIUM, Browser
from report_helpers import cached_run
from support import run_async

from loadgen.core.result import Result
from loadgen.report import render_all
from loadgen.report.livedata import point

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = cached_run(tmp_path_factory)
    out = tmp_path_factory.mktemp("explore")
    return base, render_all(Result(base.data, base.path), out, ["html"])[0]


def shown(value: float | None) -> str:
    """What the page prints for a value (LG.fmt in templates/lgcharts.js)."""
    if value is None:
        return "–"
    places = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    # Number.toFixed rounds the exact binary value half up (Python's format: half even)
    exact = decimal.Decimal(value).quantize(
        decimal.Decimal(1).scaleb(-places), decimal.ROUND_HALF_UP
    )
    return f"{exact:.{places}f}"


_AT = """(() => {{
  const u = lgBoard.plots[{chart!r}];
  u.root.scrollIntoView({{block: "center"}});
  const r = u.over.getBoundingClientRect();
  return [r.left + u.valToPos(lgBoard.cols.t[{i}], "x"), r.top + r.height / 2];
}})()"""

_LEGEND = """Array.from(lgBoard.plots[{chart!r}].root.querySelectorAll(".u-legend .u-series"))
  .map(s => s.querySelector(".u-value").textContent)"""


@needs_chromium
def test_hover_shows_the_values_of_the_interval_under_the_mouse(report, tmp_path):
    """For two intervals: the legend reads that interval's own p50/p95/p99 TTFT and its end
    time, as recorded in the result (4 significant digits, the page's format)."""
    base, html = report
    intervals = base.data["intervals"]
    picks = [i for i, iv in enumerate(intervals) if iv["ttft"].get("count")][1:3]
    assert len(picks) == 2

    async def hover() -> list[list[str]]:
        async with Browser(tmp_path) as b:
            await b.goto(html.as_uri())
            await b.wait_for("window.lgBoard && lgBoard.plots.ttft")
            seen = []
            for i in picks:
                x, y = await b.eval(_AT.format(chart="ttft", i=i))
                await b.mouse(x, y)
                await b.wait_for(f"lgBoard.plots.ttft.cursor.idx === {i}")
                seen.append(await b.eval(_LEGEND.format(chart="ttft")))
            assert b.errors == []
            return seen

    for i, legend in zip(picks, run_async(hover(), timeout=60), strict=True):
        p = point(intervals[i])
        assert legend == [
            f"{p['t']:.1f} s",
            shown(p["ttft.p50"]),
            shown(p["ttft.p95"]),
            shown(p["ttft.p99"]),
        ]


@needs_chromium
def test_drag_zooms_every_chart_and_a_legend_click_hides_a_series(report, tmp_path):
    base, html = report

    async def explore() -> tuple[list[list[float]], bool, bool]:
        async with Browser(tmp_path) as b:
            await b.goto(html.as_uri())
            await b.wait_for("window.lgBoard && lgBoard.plots.e2e")
            x1, y = await b.eval(_AT.format(chart="e2e", i=1))
            x2, _ = await b.eval(_AT.format(chart="e2e", i=3))
            await b.mouse(x1, y)
            await b.mouse(x1, y, "mousePressed", button="left", clickCount=1)
            await b.mouse((x1 + x2) / 2, y, buttons=1)
            await b.mouse(x2, y, buttons=1)
            await b.mouse(x2, y, "mouseReleased", button="left", clickCount=1)
            await b.wait_for("lgBoard.zoomed !== null")
            scales = await b.eval(
                "Object.values(lgBoard.plots).map(u => [u.scales.x.min, u.scales.x.max])"
            )
            await b.click("#lg-chart-ttft .u-legend .u-series:nth-child(4) .u-label")
            hidden = await b.eval("!lgBoard.plots.ttft.series[3].show")
            others = await b.eval("lgBoard.plots.ttft.series[2].show")
            return scales, hidden, others

    scales, hidden, others = run_async(explore(), timeout=60)
    t = [point(iv)["t"] for iv in base.data["intervals"]]
    assert len({tuple(s) for s in scales}) == 1  # every chart shows the same range
    lo, hi = scales[0]
    assert t[1] - 0.5 < lo < t[1] + 0.5
    assert t[3] - 0.5 < hi < t[3] + 0.5
    assert hidden
    assert others


@needs_chromium
def test_print_and_no_javascript_show_the_static_charts(report, tmp_path):
    """Printed: the SVG charts, not the canvases; with JavaScript off: the SVG charts only."""
    _, html = report
    static = "Array.from(document.querySelectorAll('#over-time > figure'))"

    async def look() -> tuple[list[str], str, list[str], bool]:
        async with Browser(tmp_path) as b:
            await b.goto(html.as_uri())
            await b.wait_for("window.lgBoard")
            await b.send("Emulation.setEmulatedMedia", {"media": "print"})
            printed = await b.eval(f"{static}.map(f => getComputedStyle(f).display)")
            board = await b.eval("getComputedStyle(document.getElementById('lg-explore')).display")
            await b.send("Emulation.setScriptExecutionDisabled", {"value": True})
            await b.send("Emulation.setEmulatedMedia", {"media": "screen"})
            await b.goto(html.as_uri())
            plain = await b.eval(f"{static}.map(f => getComputedStyle(f).display)")
            none = await b.eval("document.getElementById('lg-explore') === null")
            return printed, board, plain, none

    printed, board, plain, none = run_async(look(), timeout=60)
    assert printed
    assert set(printed) == {"block"}
    assert board == "none"
    assert plain
    assert set(plain) == {"block"}
    assert none


def test_a_one_hour_report_stays_under_2_mb(report, tmp_path):
    """3,600 one-second intervals (a real run's, repeated): the HTML with its interactive
    layer and every point stays under 2 MB."""
    base, _ = report
    data = copy.deepcopy(base.data)
    whole = [iv for iv in data["intervals"] if abs(iv["length"] - 1.0) < 0.01]
    data["intervals"] = [
        dict(copy.deepcopy(whole[k % len(whole)]), t=float(k), length=1.0) for k in range(3600)
    ]
    data["run"]["duration"] = 3600.0
    html = render_all(Result(data), tmp_path, ["html"])[0]
    size = html.stat().st_size
    text = html.read_text()
    assert text.count('"t":[') == 1
    island = text.split('id="lg-data">', 1)[1].split("</script>", 1)[0]
    assert island.count(",") >= 3600  # every interval is a point
    assert size < 2_000_000, size


def test_changes_made_from_the_live_page_are_marked_on_the_time_axis(report, tmp_path):
    """A hold and a stop from the live page: a labelled line on every static chart over
    time, and an event in the interactive charts' data."""
    base, _ = report
    data = copy.deepcopy(base.data)
    data["control"] = [
        {"t": 1.5, "action": "hold", "unit": "users", "value": 4.0, "by": "ui"},
        {"t": 3.0, "action": "stop", "unit": "users", "value": None, "by": "ui"},
    ]
    text = render_all(Result(data), tmp_path, ["html"])[0].read_text()
    over_time = text.split('<section id="over-time">', 1)[1].split("</section>", 1)[0]
    charts = over_time.count("<svg")
    assert charts >= 4
    assert over_time.count("live page: hold 4 users") == charts
    assert over_time.count("live page: stop") == charts
    island = text.split('id="lg-data">', 1)[1].split("</script>", 1)[0]
    assert '{"t":1.5,"label":"hold 4 users","kind":"control"}' in island
    assert '{"t":3.0,"label":"stop","kind":"control"}' in island


@needs_chromium
def test_a_threshold_on_a_percentile_is_a_line_the_chart_makes_room_for(report, tmp_path):
    """ttft.p95 < 3x the run's worst interval: the TTFT chart's scale reaches the limit."""
    base, _ = report
    data = copy.deepcopy(base.data)
    worst = max(iv["ttft"].get("p99", 0.0) for iv in data["intervals"])
    limit = round(3 * worst)
    data["thresholds"] = [
        {"expr": f"ttft.p95 < {limit}ms", "metric": "ttft", "stat": "p95", "scope": {}, "op": "<"}
        | {"limit": float(limit), "unit": "ms", "value": 1.0, "ok": True, "abort_on_fail": False}
    ]
    html = render_all(Result(data), tmp_path, ["html"])[0]

    async def look() -> list[float]:
        async with Browser(tmp_path) as b:
            await b.goto(html.as_uri())
            await b.wait_for("window.lgBoard && lgBoard.plots.ttft")
            got: list[float] = await b.eval(
                "[lgBoard.limits.length, lgBoard.plots.ttft.scales.y.max]"
            )
            assert b.errors == []
            return got

    count, ttft_top = run_async(look(), timeout=60)
    assert count == 1
    assert ttft_top >= limit
