"""JUnit XML: one test case per check of the verdict, so CI shows pass/fail natively.

Jenkins, GitLab, GitHub test reporters and Azure DevOps read the common subset written
here: ``testsuites`` > ``testsuite`` > ``testcase`` with a ``failure`` child on failure. The
cases are the verdict's checks (``loadgen.core.verdict``): a gating check that failed is a
failure; a check that only informs (an SLO without ``gate: true``, limits in a breakpoint
search) is ``skipped`` with its outcome in the message, so the suite fails exactly when the
exit code says the run failed.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from loadgen.core.result import Result
from loadgen.core.resultdoc import as_doc
from loadgen.core.safetext import xml
from loadgen.core.verdict import judge
from loadgen.report.view import check_rows

__all__ = ["junit_xml", "write_junit"]


def _only_xml_chars(root: ET.Element) -> None:
    """Profile names, targets and stop reasons may hold characters XML 1.0 forbids (an
    escape, a NUL): ElementTree would write them and every JUnit reader would refuse the file."""
    for element in root.iter():
        element.attrib = {k: xml(v) for k, v in element.attrib.items()}
        if element.text:
            element.text = xml(element.text)


def junit_xml(data: dict[str, Any]) -> str:
    """The document as a string; the suite is named after the profile."""
    doc = as_doc(data)
    rows = check_rows(data)
    verdict = judge(doc)
    failures = sum(1 for r in rows if r["gates"] and not r["ok"])
    skipped = sum(1 for r in rows if not r["gates"])
    profile = (doc.get("profile") or {}).get("name", "loadgen")
    duration = f"{float(doc['run'].get('duration') or 0):.3f}"
    started = dt.datetime.fromtimestamp(float(doc.get("started", 0)), dt.UTC)
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
        skipped=str(skipped),
        time=duration,
        timestamp=started.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("target", (doc.get("target") or {}).get("base_url", "")),
        ("seed", doc.get("seed", "")),
        ("loadgen_version", doc.get("loadgen_version", "")),
        ("stop_reason", doc["run"].get("stop_reason", "")),
        ("verdict", verdict.text),
        ("exit_code", verdict.exit_code),
    ):
        ET.SubElement(props, "property", name=name, value=str(value))
    for r in rows:
        kind = str(r["kind"])
        case = ET.SubElement(
            suite, "testcase", classname=f"loadgen.{kind}", name=r["expr"], time="0"
        )
        text = f"{r['expr']} (scope {r['scope']}): observed {r['value']}, limit {r['limit']}"
        if not r["gates"]:
            outcome = "held" if r["ok"] else "missed"
            ET.SubElement(case, "skipped", message=f"{outcome}; informs only: {r['why']}")
            ET.SubElement(case, "system-out").text = text
        elif r["ok"]:
            ET.SubElement(case, "system-out").text = text
        else:
            failure = ET.SubElement(case, "failure", message=text, type=f"{kind}_failed")
            failure.text = text
    _only_xml_chars(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(result: Result, out_dir: Path) -> Path:
    path = out_dir / "junit.xml"
    path.write_text(junit_xml(result.data), encoding="utf-8")
    return path
