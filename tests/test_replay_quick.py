"""``loadgen run --url … --trace FILE --trace-format F``: a replay without a profile file,
and what ``validate`` says a replay profile will do."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from loadgen import profile_from_dict
from loadgen.cli.commands import main
from loadgen.core.describe import describe


def trace(tmp_path: Path, n: int = 6) -> Path:
    path = tmp_path / "m.jsonl"
    rows = [
        {"timestamp": 100 * k, "input_length": 30 + k, "output_length": 2, "hash_ids": [k]}
        for k in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_print_profile_stands_for_a_replay_of_the_trace(tmp_path: Path, capsys):
    """The printed profile replays the trace (absolute path) at the scale asked, prompts
    from the trace, and it validates."""
    path = trace(tmp_path)
    argv = ["run", "--url", "builtin", "--trace", str(path), "--trace-format", "mooncake"]
    assert main([*argv, "--time-scale", "0.5", "--print-profile"]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert data["load"] == {
        "model": "replay",
        "trace": str(path.resolve()),
        "format": "mooncake",
        "time_scale": 0.5,
    }
    assert "prompt" not in data["users"][0]["tasks"][0]["chat"]
    profile = profile_from_dict(data)
    assert "time_scale 0.5 (2× the trace's speed)" in "\n".join(describe(profile))


def test_a_quick_replay_sends_every_row_to_the_builtin_target(tmp_path: Path, capsys):
    """Six rows 100 ms apart at time_scale 0.2: six requests, each the row's input length
    plus the chat template's 3 tokens (truth log), none dropped."""
    path, truth = trace(tmp_path), tmp_path / "truth.jsonl"
    argv = ["run", "--url", "builtin", "--trace", str(path), "--trace-format", "mooncake"]
    out = tmp_path / "out"
    code = main([*argv, "--time-scale", "0.2", "--out", str(out), "--truth", str(truth), "-q"])
    assert code == 0
    served = sorted(json.loads(line)["prompt_tokens"] for line in truth.read_text().splitlines())
    assert served == [30 + k + 3 for k in range(6)]
    result = json.loads((out / "result.json").read_text())
    assert result["load"] == {"model": "replay", "dropped": 0}


def test_trace_options_that_do_not_fit_are_usage_errors(tmp_path: Path, capsys):
    """--users with --trace, or --trace-format without it: exit 2 with the fix."""
    path = str(trace(tmp_path))
    assert main(["run", "--url", "builtin", "--trace", path, "--users", "2"]) == 2
    assert "--trace replays the trace's own arrivals" in capsys.readouterr().err
    assert main(["run", "--url", "builtin", "--trace-format", "azure", "--users", "1"]) == 2
    assert "--trace-format needs --trace FILE" in capsys.readouterr().err


def test_duration_cuts_a_replay_to_that_much_run_time_and_users_do_not_apply(tmp_path: Path):
    """--duration 2s at time_scale 0.5 replays 4 s of the trace; --users is refused."""
    import pytest

    from loadgen.engine.options import scaled_profile

    data = {
        "name": "r",
        "target": {"base_url": "builtin"},
        "users": [{"name": "u", "tasks": [{"chat": {"model": "builtin"}}]}],
        "load": {
            "model": "replay",
            "trace": str(trace(tmp_path)),
            "format": "mooncake",
            "time_scale": 0.5,
        },
    }
    profile = profile_from_dict(data)
    cut = scaled_profile(profile, users=None, rate=None, duration=2.0, scale=None, seed=None)
    assert cut.load.replay is not None
    assert cut.load.replay.duration == 4.0
    with pytest.raises(ValueError, match="do not apply to a replay"):
        scaled_profile(profile, users=5, rate=None, duration=None, scale=None, seed=None)
