"""The HTML report rendered from a real run: sections, numbers equal to the JSON, offline."""

from __future__ import annotations

import copy
import re

import pytest
from report_helpers import cached_run, enrich, parse

from loadgen.core.result import Result
from loadgen.report import fmt, render_all
from loadgen.report.html import template_dir
from loadgen.report.view import COLUMNS, phase_rows


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return cached_run(tmp_path_factory)


@pytest.fixture(scope="module")
def rich(base, tmp_path_factory):
    """The real run plus thresholds, SLOs, breakpoint, health warnings and counters."""
    out = tmp_path_factory.mktemp("rich")
    result = Result(enrich(base.data), base.path)
    path = render_all(result, out, ["html"])[0]
    return result, path.read_text(encoding="utf-8")


def json_value(scope: dict, key: str):
    for _, _, _, get in (c for c in COLUMNS if c[0] == key):
        return get(scope)
    raise KeyError(key)


def assert_cell(text: str, value) -> None:
    """The cell shows ``value`` to the precision it displays (percentages in %)."""
    if value is None:
        assert text == "–"
        return
    shown = float(text.rstrip("%").replace(",", ""))
    expected = float(value) * (100 if text.endswith("%") else 1)
    assert abs(shown - expected) <= fmt.precision(text) + 1e-9, (text, value)


def test_templates_are_found_in_the_repository_or_the_wheel():
    """html.template_dir finds report.html.j2 (top-level templates/ in a checkout)."""
    assert (template_dir() / "report.html.j2").is_file()


def test_every_section_is_present(rich):
    """Verdict, facts, charts, distributions, the three tables, errors, counters, breakpoint."""
    _, text = rich
    ids = set(parse(text).ids)
    for section in (
        "verdict",
        "checks",
        "health",
        "facts",
        "over-time",
        "distribution",
        "by-name",
        "by-class",
        "by-category",
        "errors",
        "errors-by-kind",
        "statuses",
        "error-examples",
        "counters",
        "custom-counters",
        "breakpoint",
        "breakpoint-steps",
        "lengths",
    ):
        assert section in ids, section
    # over time (input tokens/s too), percentile curves, ISL and OSL, breakpoint
    assert text.count("<svg") == 6 + 3 + 2 + 2
    for title in (
        "Active users",
        "Throughput",
        "Time to first token",
        "End-to-end latency",
        "Output tokens per second",
        "TTFT by percentile",
        "ITL by percentile",
        "E2E by percentile",
    ):
        assert f">{title}</text>" in text


@pytest.mark.parametrize("kind", ["name", "class", "category"])
def test_table_numbers_equal_the_result_json(rich, kind):
    """Every cell of the per-name, per-class and per-category tables is the JSON value as
    formatted (parsed back, within half a unit of the last digit shown)."""
    result, text = rich
    table = parse(text).tables[f"by-{kind}"]
    scopes = result.data["scopes"][f"by_{kind}"]
    assert table["keys"] == [c[0] for c in COLUMNS]
    assert [row[0] for row in table["rows"]] == list(scopes)
    for row in table["rows"]:
        for key, cell in zip(table["keys"], row[1:], strict=True):
            assert_cell(cell, json_value(scopes[row[0]], key))


def test_total_row_equals_the_overall_scope(rich):
    result, text = rich
    table = parse(text).tables["by-name"]
    (foot,) = table["foot"]
    for key, cell in zip(table["keys"], foot[1:], strict=True):
        assert_cell(cell, json_value(result.data["scopes"]["overall"], key))


def test_checks_table_shows_the_verdicts_checks_in_a_breakpoint_search(rich):
    """A breakpoint search's verdict is its answer: its thresholds and SLOs are shown, the
    failed one as "missed", and none of them fails the run."""
    result, text = rich
    rows = parse(text).tables["checks"]["rows"]
    assert len(rows) == 2 + len(result.data["thresholds"]) + len(result.data["slo"]) + 1
    assert [r[0] for r in rows] == ["PASS", "PASS", "ok", "missed", "ok", "ok"]
    assert 'class="badge">PASSED<' in text
    assert "broke at 40 users" in text


def test_checks_table_shows_a_failed_threshold_and_the_verdict(base, tmp_path):
    """Without a breakpoint the failing threshold is FAIL and the verdict FAILED."""
    data = enrich(base.data)
    del data["breakpoint"]
    text = render_all(Result(data), tmp_path, ["html"])[0].read_text()
    rows = parse(text).tables["checks"]["rows"]
    assert [r[0] for r in rows] == ["PASS", "PASS", "PASS", "FAIL", "ok"]
    assert 'class="badge">FAILED<' in text


def test_error_tables_match_the_result(rich):
    result, text = rich
    t = parse(text).tables
    overall = result.data["scopes"]["overall"]
    kinds = {r[0]: int(r[1].replace(",", "")) for r in t["errors-by-kind"]["rows"]}
    assert kinds == overall["errors_by_kind"]
    assert {r[0]: int(r[1]) for r in t["statuses"]["rows"]} == overall["statuses"]
    examples = t["error-examples"]["rows"]
    assert [(r[0], r[1], int(r[3])) for r in examples] == [
        (e["kind"], e["name"], e["count"]) for e in result.data["errors"]
    ]


def test_breakpoint_steps_and_counters(rich):
    result, text = rich
    t = parse(text).tables
    steps = result.data["breakpoint"]["steps"]
    rows = t["breakpoint-steps"]["rows"]
    assert [r[0] for r in rows] == [f"{s['level']} users" for s in steps]
    assert [r[10] for r in rows] == [s["verdict"] for s in steps]
    assert t["custom-counters"]["rows"] == [["citations_seen", "42"], ["retries", "3"]]


def test_named_phases_have_their_own_table_with_rates_over_their_span(rich):
    """The named stage "steady" (1.2 s to 3.2 s) is a row whose req/s is its requests over its
    own 2 s span, and the page's cells are the view's numbers."""
    result, text = rich
    (phase,) = result.data["phases"]
    assert (phase["name"], phase["seconds"]) == ("steady", 2.0)
    shared = sum(
        i["requests"] * (min(3.2, i["t"] + i["length"]) - max(1.2, i["t"])) / i["length"]
        for i in result.intervals
        if i["t"] < 3.2 and i["t"] + i["length"] > 1.2
    )
    assert phase["rps"] == pytest.approx(shared / 2.0)
    assert parse(text).tables["phase-table"]["rows"] == phase_rows(result.data)
    assert 'href="#phases"' in text


def test_nothing_is_loaded_from_outside(rich):
    """No script, stylesheet link, frame or CSS url(); every href is an in-page anchor; the
    only http(s) text is the SVG namespace and the target's own URL in the run facts."""
    result, page = rich
    text, marker, layer = page.partition("<!-- loadgen interactive layer")
    assert marker, "the interactive layer is inlined"
    # the layer: inline scripts only, nothing fetched; the one URL is uPlot's licence header
    assert not re.search(r"<script[^>]*\bsrc=|<(link|iframe|img|base)\b|url\(|@import", layer)
    assert not re.search(r"fetch\(|XMLHttpRequest|WebSocket|import\(", layer)
    assert set(re.findall(r"https?://[^\s)*]+", layer)) == {"https://github.com/leeoniya/uPlot"}
    parsed = parse(text)
    assert parsed.links, "the table of contents has anchors"
    assert all(value.startswith("#") for _, _, value in parsed.links), parsed.links
    assert not re.search(r"<(script|link|iframe|object|embed|img|base)\b", text, re.I)
    assert "url(" not in text
    assert "@import" not in text
    target = result.data["target"]["base_url"]
    rest = text.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(target, "")
    assert "http://" not in rest
    assert "https://" not in rest


def test_a_plain_run_has_no_empty_sections(base, tmp_path):
    """Without thresholds, breakpoint or counters: the run's own checks, PASSED, and no
    empty sections."""
    text = render_all(base, tmp_path, ["html"])[0].read_text()
    ids = set(parse(text).ids)
    assert 'class="badge">PASSED<' in text
    rows = parse(text).tables["checks"]["rows"]
    assert [r[2] for r in rows] == [
        "requests succeeded",
        "virtual users ran without internal errors",
    ]
    assert not {"breakpoint", "counters", "health"} & ids


def test_truncated_and_interrupted_runs_carry_a_banner(base, tmp_path):
    data = copy.deepcopy(base.data)
    data["run"].update(truncated=True, interrupted=True, stop_reason="interrupted by Ctrl-C")
    text = render_all(Result(data), tmp_path, ["html"])[0].read_text()
    assert "cut-short journal" in text
    assert "interrupted by Ctrl-C" in text


def test_messages_from_the_target_are_escaped(base, tmp_path):
    """An error example is untrusted text: markup in it is shown, never interpreted."""
    data = copy.deepcopy(base.data)
    data["errors"] = [
        {
            "kind": "http_5xx",
            "name": "chat",
            "status": 500,
            "count": 1,
            "example": "<script>alert(1)</script>",
        }
    ]
    text = render_all(Result(data), tmp_path, ["html"])[0].read_text()
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
