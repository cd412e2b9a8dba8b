"""Every shipped profile validates and runs, scaled down to seconds, on the built-in target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadgen.cli import main

PROFILES = Path(__file__).resolve().parent.parent / "profiles"
SHIPPED = sorted(p.name for p in PROFILES.glob("*.yaml"))
# Each run: a few seconds and a few users, whatever its full size.
QUICK = ["--duration", "3s", "--scale", "0.05"]
OVERRIDES = {
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
    """A few seconds of it against the built-in target: requests, no loadgen errors."""
    monkeypatch.delenv("CHATBOT_URL", raising=False)
    args = ["run", str(PROFILES / name), "--out", str(tmp_path), "--seed", "3", "--quiet"]
    extra = OVERRIDES.get(name, QUICK)
    code = main(args + extra)
    result = json.loads((tmp_path / "result.json").read_text())
    assert code in (0, 1), capsys.readouterr().err  # 1: a threshold may fail at this size
    assert result["scopes"]["overall"]["requests"] > 0
    assert result["run"]["internal_errors"] == []
    assert result["run"]["duration"] < 40
