"""Shipped profiles by name, `loadgen profiles`, `loadgen init` (issue 17, item 2), and the
wheel: installed in a fresh venv, `loadgen run smoke` works outside the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from loadgen.cli.commands import main
from loadgen.core import packaged

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml"))


def test_profiles_lists_every_shipped_profile_with_a_line(capsys):
    """One line per shipped profile: its name and the first sentence of its comment."""
    assert main(["profiles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    listed = {line.split()[0]: line for line in lines[: len(SHIPPED)]}
    assert sorted(listed) == SHIPPED
    assert "Smoke:" in listed["smoke"]


def test_a_shipped_name_resolves_from_any_directory(tmp_path, monkeypatch, capsys):
    """`loadgen validate spike` from a directory without profiles/ finds the shipped one."""
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "spike"]) == 0
    assert "profile 'spike'" in capsys.readouterr().out
    assert packaged.resolve("smoke.yaml") == ROOT / "profiles" / "smoke.yaml"


def test_a_file_that_exists_wins_over_a_shipped_name(tmp_path, monkeypatch):
    """A user's own smoke.yaml in the working directory is the one used."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "smoke.yaml").write_text("name: mine\n")
    assert packaged.resolve("smoke.yaml") == Path("smoke.yaml")
    assert packaged.resolve("nope") == Path("nope")


def test_init_copies_the_profiles_and_an_env_example_and_keeps_edits(tmp_path, capsys):
    """`loadgen init DIR`: profiles/ with every profile and .env.example; a second init keeps
    a file the user edited unless --force."""
    assert main(["init", str(tmp_path)]) == 0
    copied = sorted(p.stem for p in (tmp_path / "profiles").glob("*.yaml"))
    assert copied == SHIPPED
    assert "CHATBOT_URL" in (tmp_path / "profiles" / ".env.example").read_text()
    smoke = tmp_path / "profiles" / "smoke.yaml"
    smoke.write_text(smoke.read_text().replace("name: smoke", "name: my-smoke"))
    assert main(["init", str(tmp_path)]) == 0
    assert "name: my-smoke" in smoke.read_text()
    assert "kept" in capsys.readouterr().out
    assert main(["validate", str(smoke)]) == 0
    assert main(["init", str(tmp_path), "--force"]) == 0
    assert "name: my-smoke" not in smoke.read_text()


@pytest.mark.slow
def test_the_wheel_runs_smoke_by_name_in_a_fresh_venv(tmp_path):
    """Build the wheel, install it into a new virtual environment (dependencies borrowed from
    this one, no network), and run `loadgen run smoke` from a directory with no checkout."""
    dist = tmp_path / "dist"
    build = ["wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)]
    subprocess.run(
        [sys.executable, "-m", "pip", *build],
        check=True,
        timeout=120,
        capture_output=True,
    )
    (wheel,) = dist.glob("loadgen-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The dependencies come from this environment; loadgen itself only from the wheel.
    Path(site, "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CHATBOT_URL")}
    where = subprocess.run(
        [str(python), "-c", "import loadgen; print(loadgen.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(venv)), where
    argv = ["run", "smoke", "--duration", "3s", "--users", "2", "--out", "out", "--json"]
    done = subprocess.run(
        [str(venv / "bin" / "loadgen"), *argv],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["verdict"]["status"] == "passed"
    assert summary["overall"]["requests"] > 0
    assert (work / "out" / "report.html").exists()


def test_print_profile_shows_a_shipped_profile_and_a_missing_one_says_where_to_look(
    tmp_path, monkeypatch, capsys
):
    """`loadgen run smoke --print-profile` prints the shipped file; an unknown name is one
    line pointing at `loadgen profiles`, exit 2."""
    monkeypatch.chdir(tmp_path)
    assert main(["run", "smoke", "--print-profile"]) == 0
    assert "name: smoke" in capsys.readouterr().out
    assert main(["run", "nosuch"]) == 2
    assert "`loadgen profiles` lists them" in capsys.readouterr().err
