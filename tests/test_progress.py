"""Progress while a run runs (issue 17, item 3): the fields, the CI line, the live area."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loadgen.core.shapes import PlanStep
from loadgen.report.console import ProgressState, progress_fields, progress_line

ROOT = Path(__file__).resolve().parent.parent
STEPS = (PlanStep(0.0, 10.0, 0.0, 10.0, "ramp"), PlanStep(10.0, 30.0, 10.0, 10.0, None))


def _record(t: float, **over: object) -> dict:
    record = {
        "t": t,
        "length": 1.0,
        "users": 7,
        "planned": {"users": 7.0},
        "requests": 10,
        "errors": 1,
        "rps": 10.0,
        "ttft": {"count": 10, "p95": 123.4},
    }
    record.update(over)
    return record


def test_fields_say_elapsed_stage_users_errors_so_far_and_eta():
    """Closed model: the stage by name (or number), planned users, errors summed, time left."""
    state = ProgressState(total=30.0, steps=STEPS)
    state.take(_record(3.0))
    state.take(_record(4.0))
    fields = dict(progress_fields(state))
    assert fields["elapsed"] == "5s / 30s"
    assert fields["stage"] == "ramp"
    assert fields["users"] == "7 of 7"
    assert fields["errors"] == "2 (10.0%)"
    assert fields["ttft p95"] == "123 ms"
    assert fields["eta"] == "25s"
    assert "state" not in fields
    state.take(_record(11.0))
    assert dict(progress_fields(state))["stage"] == "2 of 2"


def test_fields_while_stopping_and_for_the_open_model_and_a_search():
    """Stopping says how many are in flight; the open model shows arrivals; a breakpoint
    search has no planned length."""
    state = ProgressState(total=30.0, steps=STEPS, stopping=True, in_flight=4)
    state.take(_record(31.0))
    fields = dict(progress_fields(state))
    assert fields["state"] == "stopping, 4 in flight"
    assert fields["stage"] == "graceful stop"
    opened = ProgressState(total=30.0, steps=STEPS, open_model=True)
    opened.take(_record(2.0, planned={"rate": 5.0}, sent=5))
    assert dict(progress_fields(opened))["arrivals/s"] == "5 of 5"
    search = ProgressState(total=None)
    search.take(_record(2.0))
    fields = dict(progress_fields(search))
    assert fields["stage"] == "breakpoint search"
    assert "eta" not in fields
    assert progress_line(search).startswith("progress: elapsed 3s  stage breakpoint search")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "CHATBOT_URL")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def test_ci_prints_a_plain_progress_line_every_interval(tmp_path):
    """CI=true, stderr a pipe: a line every --progress-interval, none with --json."""
    argv = [sys.executable, "-m", "loadgen", "run", "--url", "builtin", "--users", "2"]
    argv += ["--duration", "4s", "--progress-interval", "1s", "--out", str(tmp_path / "a")]
    done = subprocess.run(
        argv, capture_output=True, text=True, env=_env(CI="true"), timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("progress: ")]
    assert 2 <= len(lines) <= 6, done.stderr
    assert "/ 4s" in lines[0]
    assert "users " in lines[0]
    assert "\x1b[" not in done.stderr
    quiet = subprocess.run(
        [*argv[:-1], str(tmp_path / "b"), "--json"],
        capture_output=True,
        text=True,
        env=_env(CI="true"),
        timeout=60,
        cwd=tmp_path,
    )
    assert "progress: " not in quiet.stderr
    assert json.loads(quiet.stdout)["exit_code"] == 0


def _run_in_a_terminal(tmp_path: Path, **env: str) -> str:
    """Run a short quick load with stderr on a pseudo-terminal; return what it drew."""
    main, child = pty.openpty()
    argv = [sys.executable, "-m", "loadgen", "run", "--url", "builtin", "--users", "2"]
    argv += ["--duration", "3s", "--out", str(tmp_path / "t")]
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=child, env=_env(**env), cwd=tmp_path
    )
    os.close(child)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                data = os.read(main, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(main)
    assert proc.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_a_terminal_gets_the_live_area_and_no_color_removes_colour_only(tmp_path, no_color):
    """On a TTY the live area is drawn (labels and values); NO_COLOR keeps it, minus colour."""
    drawn = _run_in_a_terminal(tmp_path, **({"NO_COLOR": "1"} if no_color else {}))
    assert "elapsed" in drawn
    assert "in flight" in drawn
    assert "/ 3s" in drawn
    assert ("\x1b[36m" in drawn) is (not no_color)


@pytest.mark.parametrize(
    ("in_flight", "said"),
    [
        (3, "stopping — waiting up to 10s for 3 requests; Ctrl-C again to stop now"),
        (1, "stopping — waiting up to 10s for 1 request; Ctrl-C again to stop now"),
        (0, "stopping — no request in flight; writing the results"),
        (None, "stopping — waiting up to 10s for the requests in flight; Ctrl-C again to stop now"),
    ],
)
def test_the_stop_notice_says_what_it_waits_for(in_flight, said):
    """The first Ctrl-C's line, including a stop with nothing in flight (a --start-at wait)."""
    from loadgen.cli.runloop import stop_notice

    assert stop_notice("10s", in_flight) == said
