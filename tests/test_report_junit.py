"""JUnit XML: one test case per threshold and SLO, failures where they failed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from report_helpers import cached_run, enrich

from loadgen.report import render_all
from loadgen.report.junit import junit_xml
from loadgen.result import Result


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return cached_run(tmp_path_factory)


def test_one_case_per_threshold_and_slo_with_the_right_failures(base, tmp_path):
    """Two thresholds (one failed) and one SLO: 3 cases, 1 failure naming value and limit."""
    data = enrich(base.data)
    path = render_all(Result(data, base.path), tmp_path, ["junit"])[0]
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures"), root.get("failures")) == ("3", "1", "1")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("loadgen.threshold", "ttft.p95 < 5s"),
        ("loadgen.threshold", "e2e.p95{name:chat.simple} < 1ms"),
        ("loadgen.slo", "ttft_p95 < 2s"),
    ]
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["e2e.p95{name:chat.simple} < 1ms"]
    message = failed[0].find("failure").get("message")
    assert "scope name chat.simple" in message
    assert "< 1.00 ms" in message


def test_a_run_without_checks_is_an_empty_valid_suite(base):
    root = ET.fromstring(junit_xml(base.data).encode())
    assert root.find("testsuite").get("tests") == "0"
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["target"] == base.data["target"]["base_url"]
