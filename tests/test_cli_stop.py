"""Stopping a real ``python -m loadgen`` run as k6 does: the first Ctrl-C (or SIGTERM, or
SIGHUP) lets the requests in flight finish and says so, the second stops at once; results and
reports are written either way (exit 130). A run killed with SIGKILL leaves no built-in
target process and no temporary directory behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support import children

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")

STOP_LINE = re.compile(
    r"stopping — waiting up to (\S+) for (\d+) requests?; Ctrl-C again to stop now"
)


def write_profile(tmp: Path, *, timing: dict[str, Any], graceful: str) -> Path:
    profile = tmp / "p.yaml"
    profile.write_text(
        json.dumps(
            {
                "name": "stop",
                "target": {"base_url": "builtin", "timeout": "60s", "builtin": {"timing": timing}},
                "users": [{"tasks": [{"chat": {"category": "simple"}}]}],
                "load": {"users": 3, "duration": "2m", "graceful_stop": graceful},
                "report": {"formats": ["json", "html"]},
            }
        )
    )
    return profile


class Run:
    """``python -m loadgen PROFILE`` in a session of its own (as a shell would start it), its
    stderr in a file so that reading it never blocks the run, TMPDIR in the test's folder."""

    def __init__(self, tmp: Path, profile: Path) -> None:
        self.out = tmp / "out"
        self.tmpdir = tmp / "tmp"
        self.tmpdir.mkdir()
        self.err_path = tmp / "stderr.txt"
        with self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "loadgen", str(profile), "--out", str(self.out)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**os.environ, "TMPDIR": str(self.tmpdir)},
                start_new_session=True,
            )

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, what: str, ready: Any, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.kill()
                pytest.fail(f"no {what} within {timeout}s; stderr:\n{self.stderr}")
            time.sleep(0.05)

    def wait_for_intervals(self, n: int) -> None:
        journal = self.out / "result.jsonl"
        self.wait_for(
            f"{n} intervals",
            lambda: journal.exists() and journal.read_text().count('"type":"interval"') >= n,
        )

    def exit_code(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the run did not end within {timeout}s; stderr:\n{self.stderr}")

    def kill(self) -> None:
        """Kill the run, and its target should it outlive it (never left on the machine)."""
        if self.proc.poll() is None:
            targets = target_pids(self.proc.pid)
            self.proc.kill()
            self.proc.wait(10)
            for pid in targets:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)

    def result(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.out / "result.json").read_text())
        return data


def target_pids(parent: int) -> list[int]:
    """Children of ``parent`` (any thread of it) that run the built-in target."""
    return [pid for pid, cmd in children(parent) if "loadgen.target" in cmd.split()]


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper (a container's PID 1 may never reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@pytest.fixture
def run(tmp_path):
    runs: list[Run] = []

    def start(**kwargs: Any) -> Run:
        r = Run(tmp_path, write_profile(tmp_path, **kwargs))
        runs.append(r)
        return r

    yield start
    for r in runs:
        r.kill()


def test_first_ctrl_c_says_what_it_waits_for_and_lets_answers_finish(run):
    """A Ctrl-C at the terminal (SIGINT to the whole process group) prints the stop line with
    the grace and the requests in flight; those answers finish (the built-in target, in a
    session of its own, is not killed by the same Ctrl-C), nothing is an error or
    interrupted, exit 130, result.json and report.html written."""
    r = run(timing={"ttft": "400ms", "itl": "50ms", "output_tokens": 8}, graceful="20s")
    r.wait_for_intervals(2)
    os.killpg(r.proc.pid, signal.SIGINT)
    assert r.exit_code(40) == 130
    match = STOP_LINE.search(r.stderr)
    assert match is not None, r.stderr
    assert match.group(1) == "20s"
    assert 0 <= int(match.group(2)) <= 3
    data = r.result()
    assert data["run"]["interrupted"] is True
    assert data["run"]["stop_reason"] == "interrupted by Ctrl-C"
    overall = data["scopes"]["overall"]
    assert overall["requests"] > 0
    assert overall["errors"] == 0
    assert overall["interrupted"] == 0
    assert (r.out / "report.html").stat().st_size > 0
    assert "Traceback" not in r.stderr


def test_second_ctrl_c_stops_at_once_and_counts_the_requests_in_flight_interrupted(run):
    """Answers that take 30 s and a 60 s grace: a second Ctrl-C ends the run within seconds,
    the three requests in flight counted interrupted (not errors), exit 130, files written."""
    r = run(timing={"ttft": "30s"}, graceful="60s")
    r.wait_for_intervals(1)
    os.kill(r.proc.pid, signal.SIGINT)
    r.wait_for("the stop line", lambda: STOP_LINE.search(r.stderr) is not None)
    assert STOP_LINE.search(r.stderr).group(2) == "3"  # type: ignore[union-attr]
    second = time.monotonic()
    os.kill(r.proc.pid, signal.SIGINT)
    assert r.exit_code(30) == 130
    assert time.monotonic() - second < 20  # far from the 60 s grace
    assert "stopping now" in r.stderr
    overall = r.result()["scopes"]["overall"]
    assert overall["interrupted"] == 3
    assert overall["errors"] == 0
    assert (r.out / "report.html").stat().st_size > 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_gracefully_and_write_the_results(run, sig):
    """SIGHUP (a closed terminal or ssh session) is SIGTERM: the stop line, exit 130,
    result.json and report.html written, the stop reason naming the signal."""
    r = run(timing={"ttft": "100ms", "itl": "20ms", "output_tokens": 4}, graceful="10s")
    r.wait_for_intervals(1)
    os.kill(r.proc.pid, sig)
    assert r.exit_code(30) == 130
    assert STOP_LINE.search(r.stderr) is not None, r.stderr
    data = r.result()
    assert data["run"]["stop_reason"] == f"interrupted by {sig.name}"
    assert (r.out / "report.html").stat().st_size > 0


def test_a_run_killed_with_sigkill_leaves_no_target_and_no_temporary_directory(run):
    """``kill -9`` of the run: its built-in target exits and removes its temporary
    directory (which held the target's config) within a few seconds."""
    r = run(timing={"ttft": "50ms"}, graceful="5s")
    r.wait_for_intervals(1)
    pids = target_pids(r.proc.pid)
    assert len(pids) == 1
    assert len(list(r.tmpdir.glob("loadgen-target-*"))) == 1
    os.kill(r.proc.pid, signal.SIGKILL)
    r.proc.wait(10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (
        alive(pids[0]) or list(r.tmpdir.glob("loadgen-target-*"))
    ):
        time.sleep(0.1)
    left = [p for p in pids if alive(p)]
    for pid in left:  # never leave one behind on the test machine either
        os.kill(pid, signal.SIGKILL)
    assert left == []
    assert list(r.tmpdir.glob("loadgen-target-*")) == []
