"""The public API: what `import loadgen` offers, and that importing it changes nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

import loadgen


def test_every_exported_name_exists_and_nothing_else_is_public():
    """__all__ is the public surface (as httpx's test_exported_members does)."""
    assert sorted(loadgen.__all__) == sorted(set(loadgen.__all__))
    for name in loadgen.__all__:
        assert hasattr(loadgen, name), name
    assert {"run", "Engine", "load_profile", "Result", "ProfileError"} <= set(loadgen.__all__)


def test_importing_loadgen_has_no_side_effects():
    """No event-loop policy, no signal handlers, no output on import (SPEC §5)."""
    code = (
        "import asyncio, signal, sys\n"
        "policy = type(asyncio.get_event_loop_policy())\n"
        "handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}\n"
        "import loadgen\n"
        "assert type(asyncio.get_event_loop_policy()) is policy\n"
        "assert handlers == {s: signal.getsignal(s) for s in handlers}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""


def test_run_takes_durations_rates_and_users_written_as_on_the_command_line():
    """``loadgen.run(profile, duration="2s", rate="20/s")`` means what ``--duration 2s --rate
    20/s`` means (one units module reads both): the plan is 2 s long at 20 arrivals a second."""
    import asyncio

    from support import chat_profile

    data = chat_profile(users=1, duration="30s", builtin={"timing": {"ttft": "10ms"}})
    data["load"] = {"model": "open", "rate": 5, "duration": "30s"}
    profile = loadgen.profile_from_dict(data)
    result = asyncio.run(asyncio.wait_for(loadgen.run(profile, duration="2s", rate="20/s"), 60))
    assert result.data["plan"][-1]["until"] == 2.0
    assert result.data["plan"][0]["end"] == 20.0
    assert 20 <= result.requests <= 41  # 20/s for 2 s, whatever the load on the machine


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"duration": "soon"}, "duration: 'soon' is not a duration"),
        ({"rate": "fast"}, "rate: 'fast' is not a rate"),
        ({"users": "lots"}, "users: 'lots' must be a whole number > 0"),
        ({"users": 0}, "users: 0 must be a whole number > 0"),
    ],
)
def test_a_wrong_run_option_is_a_value_error_naming_it(kwargs, named):
    """An embedder's mistake is a ValueError naming the argument, not a TypeError deep inside."""
    from support import chat_profile

    profile = loadgen.profile_from_dict(chat_profile())
    with pytest.raises(ValueError, match=named):
        loadgen.Engine(profile, **kwargs)


def test_the_public_entry_points_survive_the_move_into_layer_folders(tmp_path):
    """Issue #19 item 6: ``loadgen.run``, ``Engine`` (also as ``loadgen.engine.Engine``),
    ``load_profile``, ``Result``/``load_result``, ``loadgen.report.render_all`` and the console
    script ``loadgen.cli:main`` work as before the modules moved."""
    import asyncio
    import tomllib
    from pathlib import Path

    from support import chat_profile

    from loadgen.cli import main
    from loadgen.engine import Engine
    from loadgen.report import render_all

    assert Engine is loadgen.Engine
    root = Path(__file__).resolve().parent.parent
    scripts = tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["loadgen"] == "loadgen.cli:main"
    assert isinstance(loadgen.load_profile("smoke"), loadgen.Profile)
    assert main(["validate", "smoke"]) == 0

    profile = loadgen.profile_from_dict(chat_profile(users=2, duration="1s"))

    async def both() -> tuple[loadgen.Result, loadgen.Result]:
        first = await loadgen.run(profile, out=tmp_path / "run")
        async with Engine(profile) as engine:
            return first, await engine.run()

    first, second = asyncio.run(asyncio.wait_for(both(), 60))
    for result in (first, second):
        assert result.verdict.status == "passed"
        assert result.requests > 0
        assert result.metrics["ttft"].count == result.requests
    saved = loadgen.load_result(tmp_path / "run" / "result.json")
    assert saved.requests == first.requests
    written = render_all(saved, tmp_path / "reports", ["html", "junit"])
    assert sorted(p.name for p in written) == ["junit.xml", "report.html"]
