"""Class 6, every run ends: options that would make a run endless (or empty) are refused
before it starts, and a stop while waiting for ``--start-at`` ends it before any request.

The option table runs the CLI in-process (nothing starts: that is the point); the signals go
to a real ``python -m loadgen`` whose built-in target's truth log shows what was sent.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from input_support import catches, loadgen

from loadgen import api
from loadgen.cli.commands import main
from loadgen.core.profile import profile_from_dict
from loadgen.engine.run import Engine

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")


def profile(model: str = "closed") -> dict:
    load = {"users": 2} if model == "closed" else {"model": "open", "rate": "2/s"}
    return {
        "name": "ends",
        "target": {"base_url": "builtin", "timeout": "10s"},
        "users": [{"tasks": [{"chat": {"category": "simple"}}]}],
        "load": {**load, "duration": "2s", "graceful_stop": "1s"},
        "report": {"formats": ["json"]},
    }


OPTIONS = [
    ("closed", ["--duration", "inf"], "not a finite duration"),
    ("closed", ["--duration", "nan"], "not a finite duration"),
    ("closed", ["--duration", "0s"], "the run would send nothing"),
    ("closed", ["--duration", "1e400"], "not a finite duration"),
    ("closed", ["--duration", "9000h"], "longer than a year"),
    ("open", ["--rate", "0/s"], "the run would send nothing"),
    ("open", ["--rate", "nan"], "not a rate"),
    ("open", ["--rate", "inf"], "not a rate"),
    ("closed", ["--scale", "0"], "must be a number > 0"),
    ("closed", ["--scale", "-1"], "must be a number > 0"),
    ("closed", ["--scale", "nan"], "must be a number > 0"),
    ("open", ["--scale", "inf"], "must be a number > 0"),
    ("closed", ["--start-at", "inf"], "not a time"),
    ("closed", ["--start-at", "nan"], "not a time"),
    ("closed", ["--start-at", str(int(time.time() * 1000))], "not milliseconds"),
    ("closed", ["--users", "0"], "must be a whole number > 0"),
]


@pytest.mark.parametrize(
    ("model", "args", "says"), OPTIONS, ids=[f"{m} {' '.join(a)[:24]}" for m, a, _ in OPTIONS]
)
def test_an_option_that_could_never_end_or_never_send_is_exit_2_before_the_start(
    tmp_path, capsys, model, args, says
):
    """Exit 2 at once with the option named and what to write; no result directory: the run
    (and the built-in target) never started."""
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(profile(model)), encoding="utf-8")
    started = time.monotonic()
    code = main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet", *args])
    assert code == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert f"argument {args[0]}: " in err
    assert says in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration": float("inf")},
        {"duration": "nan"},
        {"duration": 0},
        {"rate": 0},
        {"rate": float("nan")},
        {"scale": 0.0},
        {"scale": float("nan")},
        {"start_at": float("inf")},
    ],
    ids=lambda k: f"{next(iter(k))}={next(iter(k.values()))}",
)
def test_the_embedding_api_refuses_the_same_values(kwargs):
    """Engine (and so loadgen.run) raises ValueError naming the argument, before any I/O."""
    model = "open" if "rate" in kwargs else "closed"
    prof = profile_from_dict(profile(model))
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        Engine(prof, **kwargs)


def test_loadgen_run_refuses_a_zero_rate():
    """`await loadgen.run(profile, rate=0)`: the public convenience refuses it too."""
    prof = profile_from_dict(profile("open"))
    with pytest.raises(ValueError, match="rate"):
        asyncio.run(api.run(prof, rate=0))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_waiting_for_start_at_ends_the_run_before_any_request(tmp_path, sig):
    """--start-at 30 s ahead, the signal once the run waits: exit 130 within seconds of it,
    the truth log of the built-in target empty, the result written with no request and the
    stop reason saying it came before the start."""
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(profile()), encoding="utf-8")
    truth = tmp_path / "truth.jsonl"
    start_at = time.time() + 30
    argv = [sys.executable, "-m", "loadgen", "run", str(path), "--out", str(tmp_path / "out")]
    argv += ["--start-at", repr(start_at), "--truth", str(truth), "--quiet"]
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 25  # well before start_at, even on a loaded machine
        while not catches(proc.pid, signal.SIGTERM):  # attended() has installed its handlers
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the run never got to its wait"
            time.sleep(0.05)
        sent = time.monotonic()
        proc.send_signal(sig)
        code = proc.wait(timeout=20)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    assert code == 130, err
    assert took < 10
    assert time.time() < start_at  # it ended before the start it was waiting for
    assert truth.read_text(encoding="utf-8") == ""
    result = json.loads((tmp_path / "out" / "result.json").read_text(encoding="utf-8"))
    assert result["scopes"]["overall"]["requests"] == 0
    label = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C"
    assert result["run"]["stop_reason"] == f"interrupted by {label} while waiting for the start"
    assert "Traceback" not in err


def test_a_profile_run_that_could_never_end_is_refused_in_a_child(tmp_path):
    """The same refusal through `python -m loadgen` (the duration in the profile): exit 2
    in seconds, under the memory cap, no result written."""
    data = profile()
    data["load"]["duration"] = ".inf"
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(data).replace('".inf"', ".inf"), encoding="utf-8")
    done = loadgen("run", "p.yaml", "--out", "out", cwd=tmp_path, timeout=30)
    assert done.code == 2
    assert done.seconds < 15
    assert done.errors == [
        "error: p.yaml:1: load.duration: inf is not a finite duration — write a duration "
        "such as 500ms, 30s, 5m, 1h or 1m30s"
    ]
    assert not (tmp_path / "out").exists()
