"""Crash-safe results: a run killed with SIGKILL leaves a journal that ``loadgen report``
renders, saying it was cut short (loadgen.core.journal rebuilds the result from it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loadgen.cli.commands import main
from loadgen.core.hist import Histogram
from loadgen.core.journal import JournalError, read_journal, rebuild
from loadgen.core.result import SCHEMA


def intervals_in(journal: Path) -> int:
    return journal.read_text().count('"type":"interval"') if journal.exists() else 0


@pytest.fixture(scope="module")
def killed_run(builtin, tmp_path_factory) -> Path:
    """A 30 s run against the shared target, killed with SIGKILL after 3 intervals."""
    tmp = tmp_path_factory.mktemp("killed")
    profile = tmp / "p.yaml"
    profile.write_text(
        json.dumps(
            {
                "name": "killed",
                "target": {"base_url": builtin.url, "timeout": "5s"},
                "users": [{"tasks": [{"chat": {"headers": {"x-loadgen-fault": "none"}}}]}],
                "load": {"users": 3, "duration": "30s"},
            }
        )
    )
    out = tmp / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadgen", str(profile), "--out", str(out), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and intervals_in(out / "result.jsonl") < 3:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return out


def test_a_killed_run_leaves_a_journal_and_no_result(killed_run):
    """SIGKILL gives no chance to write result.json; every closed interval is on disk."""
    assert not (killed_run / "result.json").exists()
    assert intervals_in(killed_run / "result.jsonl") >= 3


def test_report_renders_a_killed_run_and_says_it_was_cut_short(killed_run, capsys):
    """``loadgen report DIR`` exits 0, writes every default format and says the run was cut
    short, on stderr and in the HTML page."""
    assert main(["report", str(killed_run)]) == 0
    err = capsys.readouterr().err
    assert "was cut short" in err
    html = (killed_run / "report.html").read_text()
    assert "cut-short journal" in html
    for name in ("stats.csv", "history.csv", "junit.xml", "latency.hlog"):
        assert (killed_run / name).stat().st_size > 0
    history = (killed_run / "history.csv").read_text().splitlines()
    assert len(history) - 1 == intervals_in(killed_run / "result.jsonl")  # every interval kept


def test_rebuilt_totals_are_the_sum_of_the_journaled_intervals(killed_run):
    """Counts are summed and TTFT/E2E merged exactly from the intervals' histograms."""
    data = read_journal(killed_run / "result.jsonl")
    lines = [json.loads(x) for x in (killed_run / "result.jsonl").read_text().splitlines()]
    intervals = [x for x in lines if x["type"] == "interval"]
    overall = data["scopes"]["overall"]
    assert data["run"]["truncated"] is True
    assert data["run"]["complete"] is False
    assert overall["requests"] == sum(i["requests"] for i in intervals) > 0
    assert overall["metrics"]["ttft"]["count"] == sum(i["ttft"]["count"] for i in intervals)
    assert overall["metrics"]["itl"] == {"count": 0, "not_journaled": True}  # never guessed
    merged = Histogram.decode(overall["metrics"]["ttft"]["hdr"])
    assert merged.max_ms == pytest.approx(max(i["ttft"]["max"] for i in intervals), rel=1e-3)


def test_a_torn_last_line_is_dropped_and_the_rest_rendered(killed_run, tmp_path, capsys):
    """The write a kill interrupted leaves half a line: it is skipped, the rest is kept."""
    journal = tmp_path / "result.jsonl"
    text = (killed_run / "result.jsonl").read_bytes()
    journal.write_bytes(text + b'{"type":"interval","t":9.0,"len')
    data = read_journal(journal)
    assert data["run"]["journal"]["skipped_lines"] == 1
    assert main(["report", str(journal), "--format", "html,json"]) == 0
    rebuilt = json.loads((tmp_path / "result.json").read_text())
    assert rebuilt["run"]["truncated"] is True
    # The rebuilt result.json is now a result like any other.
    assert main(["report", str(tmp_path), "--format", "csv"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    "records",
    [
        pytest.param([], id="an empty journal"),
        pytest.param([{"type": "interval", "t": 0}], id="no header"),
        pytest.param([{"type": "header", "schema": "other/9"}], id="another schema"),
    ],
)
def test_a_journal_without_a_header_is_a_clear_error(records):
    """Nothing to rebuild from: ``JournalError`` saying what the first record should be."""
    with pytest.raises(JournalError, match="not a loadgen journal"):
        rebuild(records)


def test_report_on_a_journal_that_is_not_one_exits_2(tmp_path, capsys):
    """Garbage named result.jsonl is bad input (exit 2, one line), not a traceback."""
    (tmp_path / "result.jsonl").write_bytes(b"\x00\xffgarbage\n[1,2]\n")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a loadgen journal" in err
    assert "Traceback" not in err


def test_a_header_only_journal_renders_an_empty_report(killed_run, tmp_path, capsys):
    """Killed before the first interval closed: the report renders with zero requests."""
    header = (killed_run / "result.jsonl").read_text().splitlines()[0]
    assert json.loads(header)["schema"] == SCHEMA
    (tmp_path / "result.jsonl").write_text(header + "\n")
    assert main(["report", str(tmp_path), "--format", "html,csv,junit,hlog"]) == 0
    assert "0 intervals" in capsys.readouterr().err
