"""The layer contracts catch what they are for: each wrong import, planted in a scratch copy of
the package, breaks exactly the contract written against it; the untouched copy keeps them all.

CI runs ``lint-imports`` over the real tree; this proves those contracts can fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")

LAYERS = "layers: cli > api > engine > edge | report | target > core"
CORE_IO = "the core does no I/O: no network library, no event loop"
REPORTS = "reports are functions of the result, never of a live engine or the network"
TARGET = "the built-in target shares only the core"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package and its import-linter configuration, outside the repository."""
    if not LINT.exists():  # pragma: no cover - the dev extra installs it
        pytest.fail(f"{LINT} is missing: pip install -e '.[dev]'")
    base = tmp_path_factory.mktemp("layers")
    shutil.copytree(
        ROOT / "loadgen", base / "loadgen", ignore=shutil.ignore_patterns("__pycache__")
    )
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = [f"[importlinter]\nroot_package = {config['root_package']}\n"]
    lines.append(f"include_external_packages = {config['include_external_packages']}\n")
    for n, contract in enumerate(config["contracts"]):
        lines.append(f"\n[importlinter:contract:{n}]\n")
        for key, value in contract.items():
            if isinstance(value, list):
                value = "\n    " + "\n    ".join(value)
            lines.append(f"{key} = {value}\n")
    (base / ".importlinter").write_text("".join(lines))
    return base


def lint(base: Path, module: str | None = None, line: str = "") -> tuple[int, str]:
    target = base / "loadgen" / module if module else None
    original = target.read_text() if target else ""
    if target:
        target.write_text(original + f"\n{line}\n")
    try:
        env = {**os.environ, "PYTHONPATH": str(base)}
        done = subprocess.run(
            [str(LINT), str(base / ".importlinter"), "--no-cache"],
            cwd=base,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        if target:
            target.write_text(original)
    return done.returncode, done.stdout + done.stderr


def broken(output: str) -> set[str]:
    return {name for name in (LAYERS, CORE_IO, REPORTS, TARGET) if f"{name} BROKEN" in output}


def test_the_untouched_copy_keeps_every_contract(scratch: Path) -> None:
    rc, out = lint(scratch)
    assert rc == 0, out
    assert out.count(" KEPT") == 4, out


@pytest.mark.parametrize(
    ("module", "line", "contracts"),
    [
        # The core reaching up into the edge: a layer imported from below.
        ("core/describe.py", "import loadgen.edge.auth.simple", {LAYERS}),
        # The core starting an event loop: forbidden whatever the layer.
        ("core/describe.py", "import asyncio", {CORE_IO}),
        # A report reading a live engine.
        ("report/fmt.py", "import loadgen.engine.run", {LAYERS, REPORTS}),
        # Siblings on one layer stay independent: the edge may not use a report.
        ("edge/tokens.py", "import loadgen.report.fmt", {LAYERS}),
        # The built-in target shares only the core.
        ("target/truth.py", "import loadgen.edge.transport", {LAYERS, TARGET}),
        # A new module is covered by the folder it lives in, with no list to update.
        ("core/brand_new.py", "import loadgen.engine.limits", {LAYERS}),
    ],
)
def test_a_wrong_import_breaks_its_contract(
    scratch: Path, module: str, line: str, contracts: set[str]
) -> None:
    path = scratch / "loadgen" / module
    created = not path.exists()
    if created:
        path.write_text('"""A module nobody listed anywhere."""\n')
    try:
        rc, out = lint(scratch, module, line)
    finally:
        if created:
            path.unlink()
    assert rc != 0, out
    assert broken(out) == contracts, out
