"""JUnit XML: one test case per threshold and SLO, failures where they failed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from report_helpers import cached_run, enrich

from loadgen.core.result import Result
from loadgen.report import render_all
from loadgen.report.junit import junit_xml


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return cached_run(tmp_path_factory)


def test_one_case_per_threshold_and_slo_with_the_right_failures(base, tmp_path):
    """The run's 2 checks, 2 thresholds (one failed) and one SLO that informs: 5 cases,
    1 failure naming value and limit, the SLO skipped."""
    data = enrich(base.data)
    del data["breakpoint"]
    path = render_all(Result(data, base.path), tmp_path, ["junit"])[0]
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures"), root.get("failures")) == ("5", "1", "1")
    assert suite.get("skipped") == "1"
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("loadgen.run", "requests succeeded"),
        ("loadgen.run", "virtual users ran without internal errors"),
        ("loadgen.threshold", "ttft.p95 < 5s"),
        ("loadgen.threshold", "e2e.p95{name:chat.simple} < 1ms"),
        ("loadgen.slo", "ttft_p95 < 2s"),
    ]
    assert [c.get("name") for c in cases if c.find("skipped") is not None] == ["ttft_p95 < 2s"]
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["e2e.p95{name:chat.simple} < 1ms"]
    message = failed[0].find("failure").get("message")
    assert "scope name chat.simple" in message
    assert "limit < 1.0 ms" in message


def test_a_run_without_checks_is_an_empty_valid_suite(base):
    """A run without thresholds or SLOs still has the run's own two checks, both passed."""
    root = ET.fromstring(junit_xml(base.data).encode())
    assert root.find("testsuite").get("tests") == "2"
    assert root.find("testsuite").get("failures") == "0"
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["target"] == base.data["target"]["base_url"]
