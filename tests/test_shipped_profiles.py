"""Every shipped profile validates and runs, scaled down to seconds, on the built-in target."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from loadgen.cli.commands import main

PROFILES = Path(__file__).resolve().parent.parent / "profiles"
SHIPPED = sorted(p.name for p in PROFILES.glob("*.yaml"))
# Each run: a few seconds and a few users, whatever its full size.
QUICK = ["--duration", "3s", "--scale", "0.05"]
SMALL_SMOKE = ["--duration", "3s", "--users", "3"]
OVERRIDES = {
    "smoke.yaml": SMALL_SMOKE,
    "breakpoint.yaml": [
        "--set",
        "breakpoint.step_duration=2s",
        "--set",
        "breakpoint.warmup=500ms",
        "--set",
        "breakpoint.max=8",
        "--set",
        "breakpoint.refine=0",
    ],
}


def test_the_shipped_set_is_complete():
    """The profiles issue #4 and #7 promise are all there."""
    assert {
        "smoke.yaml",
        "load.yaml",
        "stress.yaml",
        "spike.yaml",
        "soak.yaml",
        "endurance.yaml",
        "breakpoint.yaml",
        "user_journey.yaml",
        "admin_workflow.yaml",
        "websocket.yaml",
        "mixed.yaml",
    } <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_validates(name, capsys, monkeypatch):
    """`loadgen validate` accepts it as shipped (no CHATBOT_URL: the built-in target)."""
    monkeypatch.delenv("CHATBOT_URL", raising=False)
    assert main(["validate", str(PROFILES / name)]) == 0
    assert "ok" in capsys.readouterr().out


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_runs_scaled_down(name, tmp_path, capsys, monkeypatch):
    """A few seconds of it against the built-in target: requests, zero errors, and a passing
    verdict — where a check fails, only because a scope it names did not run at this size."""
    monkeypatch.delenv("CHATBOT_URL", raising=False)
    args = ["run", str(PROFILES / name), "--out", str(tmp_path), "--seed", "3", "--json"]
    extra = OVERRIDES.get(name, QUICK)
    code = main(args + extra)
    summary = json.loads(capsys.readouterr().out)
    result = json.loads((tmp_path / "result.json").read_text())
    overall = result["scopes"]["overall"]
    assert overall["requests"] > 0
    assert overall["errors"] == 0, overall["errors_by_kind"]
    assert result["run"]["internal_errors"] == []
    assert result["run"]["duration"] < 40
    failed = [c for c in summary["verdict"]["checks"] if c["gates"] and not c["ok"]]
    assert all(c["observed"].startswith("not measured") for c in failed), failed
    assert code == (1 if failed else 0) == summary["exit_code"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_passes_check(name, capsys, monkeypatch):
    """`loadgen check` runs each of its tasks once against the built-in target: all ok."""
    monkeypatch.delenv("CHATBOT_URL", raising=False)
    assert main(["check", str(PROFILES / name)]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    done = re.search(r"(\d+) of (\d+) requests ok", out)
    assert done, out
    assert done.group(1) == done.group(2)
