"""README.md stays a true quick start (issue 17, item 4): its embedding example runs and
finishes in seconds, and its commands name things that exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from loadgen.core import packaged

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_embedding_example_runs_and_passes(tmp_path):
    """The README's Python block, run as written from an empty directory: it prints the
    verdict and a TTFT, and takes seconds, not minutes."""
    (block,) = re.findall(r"```python\n(.*?)```", README, re.S)
    script = tmp_path / "embed.py"
    script.write_text(block)
    env = {k: v for k, v in os.environ.items() if k != "CHATBOT_URL"}
    env["PYTHONPATH"] = str(ROOT)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("PASSED")
    assert "ttft p95" in done.stdout
    assert time.monotonic() - started < 60


def test_the_quick_start_uses_a_venv_and_profiles_that_ship():
    """The first command makes a virtual environment; every `loadgen run NAME` names a
    shipped profile."""
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install ." in README
    names = set(re.findall(r"loadgen (?:run|validate|check) ([a-z_]+)\b", README))
    assert names
    assert names <= set(packaged.names()), names - set(packaged.names())


def test_ci_runs_the_readme_test_command():
    """.ci/run calls the same pytest the README gives."""
    assert "pip install -e '.[dev]' && python -m pytest" in README
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text()
