"""``load.warm_connections`` (issue 21): each VU's connection is opened before t = 0 and
counted on its own, so every first request finds it open (reused, connect 0); without it the
first request of each user pays the connect."""

from __future__ import annotations

import json

import pytest
from support import chat_profile, run_async
from test_connect_phases import raw_rows

import loadgen
from loadgen import profile_from_dict
from loadgen.core.errors import ProfileError

FAST = {"timing": {"ttft": "5ms", "itl": "1ms"}, "capacity": {"slots": 0}}
USERS = 4


def first_rows(out, truth_path) -> list[dict[str, str]]:
    """Each VU's first request (by its send time), checked to be one the target served."""
    served = {json.loads(line)["id"] for line in truth_path.read_text().splitlines()}
    rows = [r for r in raw_rows(out) if r["interrupted"] == "0"]
    assert rows
    assert all(r["error"] == "" and r["request_id"] in served for r in rows)
    firsts: dict[str, dict[str, str]] = {}
    for r in sorted(rows, key=lambda r: float(r["send"])):
        firsts.setdefault(r["request_id"].split("-")[1], r)  # the id's second part: the VU
    assert len(firsts) == USERS
    return list(firsts.values())


@pytest.mark.parametrize("warm", [True, False], ids=["warmed", "cold"])
def test_warmed_connections_make_every_first_request_reuse_one(tmp_path, warm):
    """Warmed: USERS connections counted as ``warm_connections`` and every first request
    reused one with connect 0 (none opened during the run: the phase histogram holds only
    zeros, at its 1 µs floor). Cold: every first request opened its connection (connect
    > 0), and nothing is counted."""
    truth_path, out = tmp_path / "truth.jsonl", tmp_path / "out"
    data = chat_profile(users=USERS, duration="0.5s", builtin=FAST, report={"raw": True})
    data["load"]["warm_connections"] = warm
    result = run_async(loadgen.run(profile_from_dict(data), out=out, truth=truth_path))
    counters = result.data["custom"]["counters"]
    for r in first_rows(out, truth_path):
        assert (r["reused"] == "1") == warm
        assert (float(r["connect_ms"]) == 0.0) == warm
    connect = result.data["scopes"]["overall"]["metrics"]["connect"]
    if warm:
        assert counters["warm_connections"] == USERS
        assert "warm_connect_failures" not in counters
        assert connect["max"] <= 0.001  # the histogram's floor: 1 µs
    else:
        assert "warm_connections" not in counters
        assert connect["max"] > 0.001


def test_warm_connections_is_refused_for_the_open_model():
    """An arrival has no VU whose connection could be warmed: a clear profile error."""
    data = chat_profile(users=1)
    data["load"] = {"model": "open", "rate": 5, "duration": "1s", "warm_connections": True}
    with pytest.raises(ProfileError, match=r"load\.warm_connections.*closed model only"):
        profile_from_dict(data)


def test_the_command_line_flag_warms_every_user(tmp_path, capsys):
    """``--warm-connections`` is ``--set load.warm_connections=true``: counted, and said."""
    from loadgen.cli.commands import main

    out = tmp_path / "out"
    argv = ["run", "--url", "builtin", "--users", "3", "--duration", "1s"]
    assert main([*argv, "--warm-connections", "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["custom"]["counters"]["warm_connections"] == 3
    assert "warm_connections 3" in capsys.readouterr().out
