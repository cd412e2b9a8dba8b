"""One verdict everywhere (issue 16, items 2, 3 and 5): a real run against the built-in target,
then the exit code, the console, --json, the HTML report and JUnit must say the same thing."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from support import chat_profile

from loadgen.cli.commands import main

FAST = {"timing": {"ttft": "20ms", "itl": "2ms", "output_tokens": 4}, "capacity": {"slots": 0}}


def _run(tmp_path: Path, data: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict:
    """Run twice from the same profile: once for the console, once for --json."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(data))
    formats = ["--set", "report.formats=[json, html, junit]"]
    code = main(["run", str(path), "--out", str(tmp_path / "text"), "--seed", "1", *formats])
    console = capsys.readouterr().out
    json_code = main(
        ["run", str(path), "--out", str(tmp_path / "json"), "--seed", "1", "--json", *formats]
    )
    summary = json.loads(capsys.readouterr().out)
    out = tmp_path / "text"
    html = (out / "report.html").read_text()
    junit = ET.parse(out / "junit.xml").getroot().find("testsuite")
    saved = json.loads((out / "result.json").read_text())
    return {
        "code": code,
        "json_code": json_code,
        "console": console,
        "json": summary,
        "html": html,
        "junit": junit,
        "saved": saved,
    }


def _html_badge(html: str) -> str:
    match = re.search(r'<span class="badge">([A-Z ]+)</span>', html)
    assert match, "the report has a verdict badge"
    return match.group(1)


def _html_checks(html: str) -> list[tuple[str, str]]:
    """(mark, check) per row of the report's checks table."""
    table = html[html.index('<table id="checks">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(
        r'<span class="pill [a-z]+">([A-Za-z]+)</span></td><td class="text">[^<]*</td>'
        r'<td class="text">([^<]*)</td>',
        table,
    )
    return [(mark, check.replace("&lt;", "<").replace("&gt;", ">")) for mark, check in rows]


def _junit_cases(suite: ET.Element) -> list[tuple[str, str]]:
    out = []
    for case in suite.findall("testcase"):
        if case.find("failure") is not None:
            state = "failed"
        elif case.find("skipped") is not None:
            state = "skipped"
        else:
            state = "passed"
        out.append((str(case.get("name")), state))
    return out


def _agree(r: dict[str, Any], status: str, code: int) -> None:
    """Every output shows the same checks and the same outcome."""
    assert r["code"] == code
    assert r["json_code"] == code
    verdict = r["json"]["verdict"]
    assert (verdict["status"], verdict["exit_code"], r["json"]["exit_code"]) == (status, code, code)
    assert r["saved"]["verdict"]["status"] == status
    assert f"verdict: {status.upper()}" in r["console"]
    assert _html_badge(r["html"]) == status.upper()
    names = [c["name"] for c in verdict["checks"]]
    assert [name for _, name in _html_checks(r["html"])] == names
    assert [name for name, _ in _junit_cases(r["junit"])] == names
    for check in verdict["checks"]:
        mark = (
            ("PASS" if check["ok"] else "FAIL")
            if check["gates"]
            else ("ok" if check["ok"] else "missed")
        )
        assert re.search(rf"^  {mark}\s+{re.escape(check['name'])}\s", r["console"], re.M), mark
        assert (mark, check["name"]) in _html_checks(r["html"])
        state = "skipped" if not check["gates"] else ("passed" if check["ok"] else "failed")
        assert (check["name"], state) in _junit_cases(r["junit"])
    failures = sum(1 for c in verdict["checks"] if c["gates"] and not c["ok"])
    assert r["junit"].get("failures") == str(failures)
    assert (failures > 0) == (code == 1)


def test_a_run_where_every_request_failed_fails_everywhere(tmp_path, capsys):
    """Every request answered HTTP 500 and no threshold declared: exit 1, FAILED in all five."""
    data = chat_profile(users=2, duration="2s", builtin={**FAST, "faults": {"http_500": 1.0}})
    r = _run(tmp_path, data, capsys)
    _agree(r, "failed", 1)
    assert r["saved"]["scopes"]["overall"]["ok"] == 0
    assert r["saved"]["scopes"]["overall"]["requests"] > 0
    assert "requests succeeded: 0 of" in r["json"]["verdict"]["text"]
    assert '<span class="verdict-text">1 of 2 checks failed: requests succeeded: 0 of' in r["html"]


def test_a_missed_slo_informs_unless_it_gates(tmp_path, capsys):
    """An impossible SLO: without gate it is shown as missed and the run passes everywhere;
    with gate: true the same run fails everywhere."""
    data = chat_profile(users=2, duration="2s", builtin=FAST, slo={"ttft_p95": "1ms"})
    r = _run(tmp_path, data, capsys)
    _agree(r, "passed", 0)
    assert "missed" in r["console"]
    data["slo"]["gate"] = True
    r = _run(tmp_path / "gated", data, capsys)
    _agree(r, "failed", 1)


def test_a_failed_threshold_fails_everywhere(tmp_path, capsys):
    """An impossible threshold beside a generous one: exit 1, the same failure in all five."""
    data = chat_profile(
        users=2,
        duration="2s",
        builtin=FAST,
        thresholds={"ttft.p50": "< 1ms", "errors.rate": "< 1%"},
    )
    r = _run(tmp_path, data, capsys)
    _agree(r, "failed", 1)
    assert [c["name"] for c in r["json"]["verdict"]["checks"] if not c["ok"]] == ["ttft.p50 < 1ms"]


def test_a_check_on_a_failed_request_is_a_failed_check(tmp_path, capsys):
    """status: [201, 409] on a register answered 422 counts as failed checks, not "n/n
    passed"; a listed 409 (already registered) is expected and not an error."""

    def register(name: str, email: str, password: str, check: str) -> dict:
        json_body = {"email": email, "password": password}
        return {
            "name": name,
            "http": {"method": "POST", "path": "/api/auth/register", "json": json_body},
            "checks": [{"status": [201, 409], "name": check}],
        }

    short = register("short", "a-{{ vu }}@example.com", "short", "registered")
    again = register("again", "same@example.com", "long-enough", "registered_or_known")
    data = chat_profile(users=2, duration="2s", builtin=FAST, tasks=[short, again])
    data["users"][0]["think_time"] = {"constant": "100ms"}
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(data))
    code = main(["run", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    saved = json.loads((tmp_path / "o" / "result.json").read_text())
    checks = saved["custom"]["checks"]
    by_name = saved["scopes"]["by_name"]
    assert checks["registered"]["passes"] == 0
    assert checks["registered"]["fails"] == by_name["short"]["requests"] > 0
    assert by_name["short"]["errors_by_kind"] == {"http_4xx": by_name["short"]["requests"]}
    assert checks["registered_or_known"]["fails"] == 0
    assert checks["registered_or_known"]["passes"] == by_name["again"]["requests"] > 1
    assert by_name["again"]["errors"] == 0
    assert by_name["again"]["statuses"].get("409", 0) >= 1
    assert code == 0  # "again" succeeded: the run had successful requests and no thresholds
