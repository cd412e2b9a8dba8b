"""Issue #18 class 7: an output that cannot be written is one clear line and exit 3.

``--out`` naming a file, a path under a file, and a disk that fills up mid-run (a file-size
limit, RLIMIT_FSIZE, makes writes fail with EFBIG past a size, as a full disk fails them with
ENOSPC; /dev/full fails every write with ENOSPC itself). Each case checks the exit code (3,
never 1, which means a threshold failed), the single line naming the path and cause, that no
``*.tmp`` is left, and where a journal was started, that it keeps what it wrote.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from output_echo import EchoServer

from loadgen.core.journal import read_journal

OUTPUT_FAILED = 3


def _profile(tmp: Path, url: str, duration: str = "1s") -> Path:
    profile = {
        "name": "outputs",
        "target": {"base_url": url, "timeout": "5s"},
        "users": [
            {
                "name": "healthy",
                "think_time": {"constant": "50ms"},
                "tasks": [{"name": "healthy", "chat": {"path": "/ok/v1/chat"}}],
            }
        ],
        "load": {"users": 2, "duration": duration, "graceful_stop": "1s"},
        "seed": 5,
        "report": {"formats": ["json", "html", "csv", "junit"]},
    }
    path = tmp / "p.yaml"
    path.write_text(json.dumps(profile))
    return path


def _run(argv: list[str], fsize: int | None = None) -> tuple[int, str, str, float]:
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "loadgen", *argv],
        capture_output=True,
        timeout=90,
        check=False,
        preexec_fn=limit,
    )
    return (
        proc.returncode,
        proc.stdout.decode(),
        proc.stderr.decode(),
        time.monotonic() - began,
    )


@pytest.fixture(scope="module")
def server() -> EchoServer:
    with EchoServer() as s:
        yield s


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def test_out_naming_an_existing_file(tmp_path: Path, server: EchoServer) -> None:
    """``--out`` is a file: exit 3 before any load is sent, the line says it is a file."""
    target = tmp_path / "taken"
    target.write_text("keep me")
    before = server.requests
    rc, _, err, took = _run([str(_profile(tmp_path, server.url)), "--out", str(target)])
    assert rc == OUTPUT_FAILED
    line = _one_error_line(err)
    assert str(target) in line
    assert "it is a file, not a directory" in line
    assert target.read_text() == "keep me"
    assert server.requests == before  # no load was sent for results that could not be kept
    assert took < 30


def test_out_under_a_file(tmp_path: Path, server: EchoServer) -> None:
    """``--out file/sub``: the directory cannot be made; exit 3 with the OS's cause."""
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "sub"
    rc, _, err, _ = _run([str(_profile(tmp_path, server.url)), "--out", str(out)])
    assert rc == OUTPUT_FAILED
    line = _one_error_line(err)
    assert "file" in line
    assert "Not a directory" in line or "File exists" in line


def test_a_journal_on_a_full_device(tmp_path: Path, server: EchoServer) -> None:
    """The journal is /dev/full (every write: ENOSPC): exit 3 at the start, naming it."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.jsonl").symlink_to("/dev/full")
    rc, _, err, _ = _run([str(_profile(tmp_path, server.url)), "--out", str(out)])
    assert rc == OUTPUT_FAILED
    line = _one_error_line(err)
    assert "result.jsonl" in line
    assert "No space left on device" in line
    assert not list(out.glob("*.tmp"))


def test_the_disk_fills_up_during_the_run(tmp_path: Path, server: EchoServer) -> None:
    """Writes fail past 3,000 bytes (EFBIG, as on a full disk), inside the journal's second
    interval: the run still finishes on time and prints its summary, exit 3 with one line
    naming the journal, no ``.tmp`` is left, no result.json half-written, and the journal
    keeps every line it wrote before the disk filled (at most the last one torn)."""
    out = tmp_path / "out"
    argv = [str(_profile(tmp_path, server.url, duration="3s")), "--out", str(out)]
    rc, stdout, err, took = _run(argv, fsize=3000)
    assert rc == OUTPUT_FAILED
    line = _one_error_line(err)
    assert "File too large" in line
    assert str(out / "result.jsonl") in line
    assert "healthy" in stdout  # the numbers are shown though the files are not all there
    assert not list(out.glob("*.tmp"))
    assert not (out / "result.json").exists()
    rebuilt = read_journal(out / "result.jsonl")
    assert rebuilt["run"]["journal"]["skipped_lines"] <= 1  # at most the torn last line
    assert rebuilt["profile"]["name"] == "outputs"
    assert len(rebuilt["intervals"]) >= 1
    assert rebuilt["scopes"]["overall"]["errors"] == 0
    assert took < 45  # 3 s of load and a 1 s grace; output failures never stall the run


def test_reports_fill_the_disk(tmp_path: Path, server: EchoServer) -> None:
    """The result fits but report.html does not (EFBIG past 64 KiB): exit 3 naming
    report.html (a failed write carries no file name of its own), result.json intact."""
    out = tmp_path / "out"
    rc, _, err, _ = _run([str(_profile(tmp_path, server.url)), "--out", str(out)], fsize=65536)
    assert rc == OUTPUT_FAILED
    line = _one_error_line(err)
    assert str(out / "report.html") in line
    assert json.loads((out / "result.json").read_text())["run"]["complete"] is True


def test_reports_that_cannot_be_written_exit_3(tmp_path: Path, server: EchoServer) -> None:
    """The result is saved but report.html cannot be (a directory holds its name): exit 3,
    naming report.html; the result on disk is complete and re-renderable."""
    out = tmp_path / "out"
    (out / "report.html").mkdir(parents=True)
    rc, _, err, _ = _run([str(_profile(tmp_path, server.url)), "--out", str(out)])
    assert rc == OUTPUT_FAILED
    line = _one_error_line(err)
    assert "report.html" in line
    assert json.loads((out / "result.json").read_text())["run"]["complete"] is True
    assert not list(out.glob("*.tmp"))


def test_a_fine_run_still_exits_0(tmp_path: Path, server: EchoServer) -> None:
    """Guard for the cases above: the same profile with a writable --out exits 0."""
    rc, _, err, _ = _run([str(_profile(tmp_path, server.url)), "--out", str(tmp_path / "ok")])
    assert rc == 0, err
    assert os.path.isfile(tmp_path / "ok" / "report.html")
