"""Class 8, distributed losses are loud: a ``--processes 2`` run whose second worker is
SIGKILLed mid-run exits 1, keeps what the dead worker had journaled (marked partial), and
says so in result.json, the console, ``--json``, the HTML banner and JUnit.

The worker is found in the process tree of a real ``python -m loadgen`` driver and killed
once its journal holds two intervals; the built-in target's truth log is the reference.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import pytest
from support import children

from loadgen.cli.distributed import _print
from loadgen.core.result import Result

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc"),
]

PLAN = 6.0  # seconds of load; the driver adds a 3 s start delay and a 2 s graceful stop


def write_profile(tmp_path: Path) -> Path:
    data = {
        "name": "loss",
        "target": {
            "base_url": "builtin",
            "timeout": "10s",
            "builtin": {"timing": {"ttft": "50ms", "itl": "5ms", "output_tokens": 8}},
        },
        "users": [{"name": "regular", "think_time": {"constant": "100ms"},
                   "tasks": [{"chat": {"category": "simple"}}]}],
        "load": {"users": 4, "duration": f"{PLAN:g}s", "graceful_stop": "2s"},
        "seed": 3,
        "report": {"formats": ["json", "html", "junit"]},
    }  # fmt: skip
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def intervals(journal: Path) -> list[dict]:
    if not journal.exists():
        return []
    lines = journal.read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines if '"type":"interval"' in x or '"type": "interval"' in x]


def test_a_sigkilled_worker_is_kept_partial_and_reported_in_every_output(tmp_path):
    """Kill segment 2 after it journaled two intervals: exit 1, run ends on time; its
    journaled requests are merged (marked partial), the healthy segment's timing is intact,
    and the loss is in result.json, the console, --json, the HTML banner and JUnit."""
    out = tmp_path / "out"
    truth = tmp_path / "truth.jsonl"
    argv = [sys.executable, "-m", "loadgen", "run", str(write_profile(tmp_path)), "--out"]
    argv += [str(out), "--processes", "2", "--truth", str(truth)]
    started = time.monotonic()
    with (tmp_path / "stdout.txt").open("wb") as so, (tmp_path / "stderr.txt").open("wb") as se:
        driver = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=so, stderr=se)
        try:
            journal = out / "part-2" / "result.jsonl"
            deadline = time.monotonic() + 40
            while len(intervals(journal)) < 2:
                assert driver.poll() is None, (tmp_path / "stderr.txt").read_text()
                assert time.monotonic() < deadline, "segment 2 never journaled two intervals"
                time.sleep(0.05)
            worker = [pid for pid, cmd in children(driver.pid) if "--segment 2/2" in cmd]
            assert len(worker) == 1, children(driver.pid)
            os.kill(worker[0], signal.SIGKILL)
            code = driver.wait(timeout=60)
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
    took = time.monotonic() - started
    stdout = (tmp_path / "stdout.txt").read_text(encoding="utf-8")
    assert code == 1, (tmp_path / "stderr.txt").read_text()
    assert took < 3 + PLAN + 2 + 20  # start delay, plan, grace, and room for a loaded machine

    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    run = result["run"]
    assert run["partial_parts"] == [2]
    assert run["failed_parts"] == [2]
    assert not run["complete"]
    assert not run["interrupted"]
    part2 = result["parts"][1]
    assert (part2["status"], part2["exit_code"], part2["error"]) == (
        "partial",
        -signal.SIGKILL,
        "killed by SIGKILL",
    )
    # The dead worker's journaled intervals are kept: its requests are in the totals.
    kept = intervals(journal)
    assert part2["journaled_intervals"] == len(kept) >= 2
    from_dead = sum(int(i["requests"]) for i in kept)
    healthy = json.loads((out / "part-1" / "result.json").read_text(encoding="utf-8"))
    overall = result["scopes"]["overall"]
    assert from_dead > 0
    assert overall["requests"] == healthy["scopes"]["overall"]["requests"] + from_dead
    assert overall["metrics"]["ttft"]["count"] == overall["ok"]
    assert overall["metrics"]["itl"]["missing_parts"] == [2]
    served = len(truth.read_text(encoding="utf-8").splitlines())
    assert overall["requests"] <= served  # nothing invented; in-flight ones died with it
    # The healthy segment kept its timing: every request answered, TTFT close to the target's.
    h = healthy["scopes"]["overall"]
    assert h["errors"] == 0
    assert h["requests"] > 10
    assert h["metrics"]["ttft"]["p99"] < 250

    # console
    assert "FAIL    every part of the distributed run finished" in stdout
    assert "1 of 2 parts (partial, cut short: 2)" in stdout
    assert "segment 2: FAILED (exit -9): killed by SIGKILL" in stdout
    assert f"{from_dead} requests in its {len(kept)} journaled intervals kept (partial)" in stdout
    # HTML banner and JUnit
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Segment 2 of the distributed run did not finish (killed by SIGKILL" in html
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    assert 'name="every part of the distributed run finished"' in junit
    assert "partial, cut short: 2" in junit
    # --json, from the printer `loadgen run --processes N --json` uses, on this result
    printed = _json_of(out / "result.json")
    assert printed["exit_code"] == 1
    assert printed["run"]["partial_parts"] == [2]
    assert [p["status"] for p in printed["parts"]] == ["ok", "partial"]
    failed = [c for c in printed["verdict"]["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == ["every part of the distributed run finished"]


def _json_of(path: Path) -> dict:
    """What `loadgen run --processes N --json` prints for this result."""
    result = Result(json.loads(path.read_text(encoding="utf-8")), path)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        _print(result, [], Namespace(json=True, quiet=False))
    return json.loads(buffer.getvalue())
