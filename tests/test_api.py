"""The public API: what `import loadgen` offers, and that importing it changes nothing."""

from __future__ import annotations

import subprocess
import sys

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
