"""Issue #18 class 9: nothing a server or a profile sends reaches a terminal or a file raw.

A hostile server answers with escape sequences, C0/C1 controls, NUL and a bidi override; the
profile's own names carry them too. The run's and the check's printed text, the HTML, every
CSV and the JUnit file are searched for any of them; JUnit must parse as XML.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from output_echo import EchoServer

from loadgen.core.safetext import csv_cell, terminal, xml

RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
NAME = "evil\x1b[31m\x00name\u202e"  # the profile's and a class's name
TASK = "=HYPERLINK(\x07x)"  # a task name a spreadsheet would run as a formula


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("plain ünïcødé 漢字 😀", "plain ünïcødé 漢字 😀", id="printable text is kept"),
        pytest.param("a\x1b[2J\x1b[31mb", "ab", id="CSI sequences go"),
        pytest.param("a\x1b]0;title\x07b", "ab", id="an OSC title ended by BEL goes"),
        pytest.param("a\x1b]8;;http://x\x1b\\b", "ab", id="an OSC hyperlink ended by ST goes"),
        pytest.param("a\x9b1mb\x85c", "abc", id="C1 controls and 8-bit CSI go"),
        pytest.param("a\x00b\x07c\x7f", "abc", id="NUL, BEL and DEL go"),
        pytest.param("a\u202eb\u2066c", "abc", id="bidi overrides and isolates go"),
        pytest.param("line\nbreak\ttab", "line break tab", id="line breaks become spaces"),
    ],
)
def test_terminal_text(text: str, expected: str) -> None:
    """The one sanitiser for terminal text keeps printable Unicode and nothing else."""
    assert terminal(text) == expected


def test_xml_text_drops_what_xml_forbids_and_csv_cells_defuse_formulas() -> None:
    """JUnit gets only XML 1.0 characters; a CSV cell that starts like a formula is quoted,
    a negative number is still a number."""
    assert xml("a\x00b\ud800c\ufffed\x1b[1me") == "abcde"
    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("-3.5") == "-3.5"
    assert csv_cell(7) == 7


def _profile(url: str) -> dict[str, Any]:
    think = {"constant": "100ms"}
    return {
        "name": NAME,
        "target": {"base_url": url, "timeout": "5s"},
        "users": [
            {
                "name": "healthy",
                "think_time": think,
                "tasks": [{"name": "healthy", "chat": {"path": "/ok/v1/chat"}}],
            },
            {
                "name": NAME,
                "think_time": think,
                "tasks": [
                    {"name": TASK, "http": {"path": "/ansi"}},
                    {"name": "chat.ansi", "chat": {"path": "/ansi"}},
                ],
            },
        ],
        "load": {"users": 2, "duration": "2s", "graceful_stop": "1s"},
        "thresholds": {"errors.rate": "< 99%"},
        "seed": 3,
        "report": {"formats": ["json", "html", "csv", "junit"], "raw": True},
    }


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run and one check of the hostile profile: what they printed, and the files."""
    tmp = tmp_path_factory.mktemp("terminal")
    profile = tmp / "p.yaml"
    out = tmp / "out"
    printed: dict[str, bytes] = {}
    began = time.monotonic()
    with EchoServer() as server:
        profile.write_text(json.dumps(_profile(server.url)))
        for what, argv in (
            ("run", [str(profile), "--out", str(out)]),
            ("check", ["check", str(profile)]),
        ):
            proc = subprocess.run(
                [sys.executable, "-m", "loadgen", *argv],
                env=os.environ,
                capture_output=True,
                timeout=90,
                check=False,
            )
            printed[what] = proc.stdout + proc.stderr
            printed[what + ".rc"] = str(proc.returncode).encode()
    return {
        "printed": printed,
        "out": out,
        "took": time.monotonic() - began,
        "result": json.loads((out / "result.json").read_text()),
    }


def test_printed_text_holds_no_escape_or_control_character(hostile_run: dict[str, Any]) -> None:
    """The run summary (with the server's error examples) and the check table are clean, and
    they still show the readable part of what the server said."""
    for what in ("run", "check"):
        text = hostile_run["printed"][what].decode("utf-8")
        assert "Traceback" not in text
        assert RAW.findall(text) == [], what
        assert "PWNED-TITLE" not in text  # an OSC title's text goes with its sequence
    assert "boom" in hostile_run["printed"]["run"].decode()
    assert hostile_run["printed"]["run.rc"] == b"0"
    assert hostile_run["took"] < 60


def test_every_written_file_is_free_of_raw_control_characters(hostile_run: dict[str, Any]) -> None:
    """HTML and every CSV carry no raw escape; the result JSON keeps the server's words as
    data (JSON escapes them), and counted them as the kind they are."""
    out: Path = hostile_run["out"]
    for name in ("report.html", "stats.csv", "failures.csv", "requests.csv", "history.csv"):
        assert RAW.findall((out / name).read_text(encoding="utf-8")) == [], name
    kinds = hostile_run["result"]["scopes"]["overall"]["errors_by_kind"]
    assert set(kinds) == {"http_5xx"}
    assert hostile_run["result"]["scopes"]["by_name"]["healthy"]["errors"] == 0


def test_junit_is_valid_xml_whatever_the_names(hostile_run: dict[str, Any]) -> None:
    """A profile name holding ESC and NUL still gives a JUnit file every reader can parse."""
    root = ET.parse(hostile_run["out"] / "junit.xml").getroot()
    assert root.get("name") == "loadgen evilname"
    assert RAW.findall(ET.tostring(root, encoding="unicode")) == []


def test_a_formula_in_a_task_name_is_defused_in_csv(hostile_run: dict[str, Any]) -> None:
    """The task named ``=HYPERLINK(...)`` is written as text (leading quote) in every CSV."""
    out: Path = hostile_run["out"]
    for name in ("stats.csv", "failures.csv", "requests.csv"):
        text = (out / name).read_text(encoding="utf-8")
        assert "'=HYPERLINK" in text, name
        assert ",=HYPERLINK" not in text, name
