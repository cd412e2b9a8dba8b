"""``loadgen serve`` / ``python -m loadgen.target``: start line, clean stop, exit 2 on mistakes."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from loadgen.target import BuiltinTarget, TargetConfig, TargetStartError
from loadgen.target.cli import serve_main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--ttft", "fast"], "--ttft: 'fast' is not a duration"),
        (["--tokens", "uniform:9"], "--tokens: uniform takes two values"),
        (["--slots", "-1"], "--slots: '-1' is negative"),
        (["--fault-500", "2"], "--fault-500: '2' is outside 0–100 %"),
        (["--event-loop", "trio"], "--event-loop: 'trio' is not an event loop"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
    ids=[
        "bad duration",
        "bad distribution",
        "negative slots",
        "rate above 1",
        "unknown loop",
        "unknown flag",
    ],
)
def test_bad_flags_exit_2_with_one_clear_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    """Each mistake names the flag and says what to write instead; no traceback."""
    assert serve_main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_config_file_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown keys get file:line and the closest valid name; every problem is listed."""
    path = tmp_path / "target.yaml"
    path.write_text("seed: 3\ntiming:\n  ttft: 200ms\n  itll: 5ms\ncapacity:\n  slots: many\n")
    assert serve_main(["--config", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert f"{path}:4: timing.itll: unknown key; did you mean 'itl'?" in lines[0]
    assert f"{path}:6: capacity.slots: 'many' is not a whole number" in lines[1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("timing: [1, 2\n", ":2: invalid YAML"), ("- 1\n- 2\n", ":1: the config must be a mapping")],
    ids=["broken syntax", "not a mapping"],
)
def test_broken_yaml_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    """Syntax errors say where; a non-mapping file says what it must be."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert serve_main(["--config", str(path)]) == 2
    assert expected in capsys.readouterr().err


def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config path that does not exist is named."""
    assert serve_main(["--config", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: cannot read the config file" in capsys.readouterr().err


def test_port_in_use_exits_2() -> None:
    """Binding a taken port fails with a hint, exit 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "loadgen.target", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert "pick another --port" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_prints_one_line_and_stops_cleanly_on_sigterm() -> None:
    """The first stdout line is the URL; SIGTERM ends with exit 0 and no more output."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadgen.target", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("loadgen target listening on http://127.0.0.1:")
        url = line.split()[-1]
        assert httpx.get(url + "/health").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out == ""
    assert err == ""


def test_builtin_target_async_form_flushes_truth_on_exit(tmp_path: Path) -> None:
    """``async with`` starts on a free port and, on exit, the truth log is complete."""
    truth = tmp_path / "truth.jsonl"
    config = TargetConfig.from_mapping(
        {"timing": {"ttft": 0, "itl": 0, "output_tokens": 4}, "truth_flush": "1h"}
    )

    async def run() -> tuple[str, str]:
        async with BuiltinTarget(config, truth=truth) as t:
            async with httpx.AsyncClient(base_url=t.url) as client:
                for i in range(3):
                    await client.post(
                        "/v1/chat/completions",
                        headers={"x-request-id": f"a{i}"},
                        json={"messages": [{"role": "user", "content": "x"}]},
                    )
            return t.url, t.ws_url

    url, ws_url = asyncio.run(run())
    assert url.startswith("http://127.0.0.1:")
    assert ws_url == "ws" + url[4:]
    ids = [json.loads(line)["id"] for line in truth.read_text().splitlines()]
    assert ids == ["a0", "a1", "a2"]


def test_builtin_target_reports_a_failed_start() -> None:
    """If the child cannot start, the error carries its stderr."""
    target = BuiltinTarget(extra_args=["--ttft", "soon"])
    with pytest.raises(TargetStartError, match="'soon' is not a duration"):
        target.start()
    assert target.pid is None
