"""JUnit XML: one test case per threshold and per SLO, so CI shows pass/fail natively.

Jenkins, GitLab, GitHub test reporters and Azure DevOps read the common subset written
here: ``testsuites`` > ``testsuite`` > ``testcase`` with a ``failure`` child on failure.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from loadgen.report.view import check_rows
from loadgen.result import Result

__all__ = ["junit_xml", "write_junit"]


def junit_xml(data: dict[str, Any]) -> str:
    """The document as a string; the suite is named after the profile."""
    rows = check_rows(data)
    failures = sum(1 for r in rows if not r["ok"])
    profile = (data.get("profile") or {}).get("name", "loadgen")
    duration = f"{float(data['run'].get('duration') or 0):.3f}"
    started = dt.datetime.fromtimestamp(float(data.get("started", 0)), dt.UTC)
    root = ET.Element(
        "testsuites",
        name=f"loadgen {profile}",
        tests=str(len(rows)),
        failures=str(failures),
        errors="0",
        time=duration,
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        name=f"loadgen.{profile}",
        tests=str(len(rows)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=duration,
        timestamp=started.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("target", (data.get("target") or {}).get("base_url", "")),
        ("seed", data.get("seed", "")),
        ("loadgen_version", data.get("loadgen_version", "")),
        ("stop_reason", data["run"].get("stop_reason", "")),
    ):
        ET.SubElement(props, "property", name=name, value=str(value))
    for r in rows:
        kind = "slo" if r["kind"] == "SLO" else "threshold"
        case = ET.SubElement(
            suite, "testcase", classname=f"loadgen.{kind}", name=r["expr"], time="0"
        )
        text = f"{r['expr']} (scope {r['scope']}): observed {r['value']}, limit {r['limit']}"
        if r["ok"]:
            ET.SubElement(case, "system-out").text = text
        else:
            failure = ET.SubElement(case, "failure", message=text, type=f"{kind}_failed")
            failure.text = text
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(result: Result, out_dir: Path) -> Path:
    path = out_dir / "junit.xml"
    path.write_text(junit_xml(result.data), encoding="utf-8")
    return path
