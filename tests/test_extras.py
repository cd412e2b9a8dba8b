"""A profile that needs a missing optional extra is refused at load time (issue 16, item 2):
exit 2 with the file:line and the one-line pip fix, never a traceback or a silent empty run.

Each case runs the real CLI in a subprocess whose ``sitecustomize`` marks the extra's
package as absent (``sys.modules[name] = None``, which is what Python itself does for a
module that cannot be imported), since the dev environment has every extra installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadgen.core import extras

ROOT = Path(__file__).resolve().parent.parent

SIGV4 = """\
name: signed
target: {base_url: builtin}
auth:
  kind: sigv4
  region: us-east-1
  service: execute-api
users:
  - tasks: [{chat: {category: simple}}]
load: {users: 1, duration: 2s}
"""

TOKENIZER = """\
name: counted
target:
  base_url: builtin
  tokenizer: cl100k_base
users:
  - tasks: [{chat: {category: simple}}]
load: {users: 1, duration: 2s}
"""

AWS_SECTION = """\
name: watched
target: {base_url: builtin}
users:
  - tasks: [{chat: {category: simple}}]
load: {users: 1, duration: 2s}
aws: {region: us-east-1}
"""


def _without(tmp_path: Path, module: str, *argv: str) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(f"import sys\nsys.modules[{module!r}] = None\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "loadgen", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )


@pytest.mark.parametrize(
    ("text", "module", "extra", "line", "field"),
    [
        pytest.param(SIGV4, "aioboto3", "aws", 4, "auth.kind", id="sigv4 auth without [aws]"),
        pytest.param(
            TOKENIZER, "tiktoken", "tokenizer", 4, "target.tokenizer", id="tokenizer without it"
        ),
        pytest.param(AWS_SECTION, "aioboto3", "aws", 6, "aws", id="an aws section without [aws]"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_missing_extra_is_one_line_and_exit_2(
    tmp_path, text, module, extra, line, field, command
):
    """validate and run both stop before any request, naming file:line, field and the fix."""
    path = tmp_path / "p.yaml"
    path.write_text(text)
    done = _without(
        tmp_path, module, command, str(path), *(["--out", "o"] if command == "run" else [])
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, done.stderr
    assert f"{path}:{line}: {field}:" in lines[0]
    assert f"pip install 'loadgen[{extra}]'" in lines[0]
    assert not (tmp_path / "o" / "result.json").exists()


def test_missing_names_the_absent_module_and_nothing_when_installed():
    """The check itself: an installed extra is not missing; every extra has a pip line."""
    assert extras.missing("aws") is None  # the dev environment has every extra
    for extra in extras.EXTRAS:
        assert extras.install_hint(extra) == f"pip install 'loadgen[{extra}]'"


@pytest.mark.parametrize(
    ("module", "extra", "argv"),
    [
        pytest.param("aioboto3", "aws", ["aws", "discover", "--region", "us-east-1"], id="aws"),
        pytest.param(
            "ray",
            "ray",
            ["run", str(ROOT / "profiles" / "smoke.yaml"), "--ray", "2", "--out", "o"],
            id="--ray",
        ),
    ],
)
def test_commands_that_need_an_extra_say_so_in_one_line(tmp_path, module, extra, argv):
    """`loadgen aws discover` and `--ray` without their extra: exit 2, the pip line, no run."""
    done = _without(tmp_path, module, *argv)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"pip install 'loadgen[{extra}]'" in done.stderr
    assert not (tmp_path / "o" / "result.json").exists()
