"""Class 10 of issue #18: the generator's own limits are the generator's.

Under a low open-file limit, requests that cannot get a socket used to be counted as the
target's ``connect`` errors and the run exited 0. They are now the ``generator`` kind, the
health record and the verdict name them, and the run fails (exit 1).
"""

from __future__ import annotations

import errno
import json
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from loadgen.core.errors import ErrorKind
from loadgen.core.netcause import local_limit
from loadgen.edge.transport import classify
from loadgen.target import BuiltinTarget, TargetConfig

FAST = {
    "timing": {"ttft": "20ms", "itl": "5ms", "output_tokens": 8},
    "capacity": {"slots": 0},
}
FDS = 64  # soft and hard: the child cannot raise it


def _low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FDS, FDS))


def test_out_of_file_descriptors_is_the_generators_error_and_fails_the_run(
    tmp_path: Path,
) -> None:
    """120 users, 64 descriptors, against a target without that limit: the requests short of a
    socket are ``generator`` errors (never ``connect``), the verdict fails on them (exit 1),
    the health record names them, and the users that got a socket keep the target's timing."""
    with BuiltinTarget(TargetConfig.from_mapping(FAST)) as target:
        profile = {
            "name": "fds",
            "target": {"base_url": target.url, "timeout": "5s"},
            "users": [{"name": "u", "think_time": "50ms", "tasks": [{"chat": {"prompt": "hi"}}]}],
            "load": {"users": 120, "duration": "2s", "graceful_stop": "1s"},
        }
        path = tmp_path / "fds.yaml"
        path.write_text(yaml.safe_dump(profile))
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "loadgen", "run", str(path), "--out", str(tmp_path / "out")],
            preexec_fn=_low_fd_limit,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        elapsed = time.monotonic() - began
    assert done.returncode == 1, done.stderr[-2000:]
    assert elapsed < 2 + 1 + 8
    assert "Traceback" not in done.stderr + done.stdout
    data = json.loads((tmp_path / "out" / "result.json").read_text())
    overall = data["scopes"]["overall"]
    assert set(overall["errors_by_kind"]) == {"generator"}, overall["errors_by_kind"]
    assert overall["ok"] > 0
    assert any("too many open files" in e["example"] for e in data["errors"])
    warnings = data["health"]["warnings"]
    assert data["health"]["limited"] is True
    assert any("failed on the generator's own limits" in w["plain"] for w in warnings)
    assert "FAIL    no request failed on the generator's own limits" in done.stdout
    ttft = overall["metrics"]["ttft"]
    assert ttft["p50"] >= 20
    assert ttft["p99"] < 20 + 250


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        pytest.param(OSError(errno.EMFILE, "Too many open files"), "generator", id="EMFILE"),
        pytest.param(OSError(errno.ENFILE, "File table overflow"), "generator", id="ENFILE"),
        pytest.param(
            OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"),
            "generator",
            id="no free local port",
        ),
        pytest.param(MemoryError(), "generator", id="MemoryError"),
        pytest.param(
            OSError(errno.ECONNREFUSED, "Connection refused"), "connect", id="refused: target's"
        ),
        pytest.param(
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            "connect",
            id="DNS: target's",
        ),
    ],
)
def test_local_limits_are_told_apart_from_the_targets_errors(exc: BaseException, kind: str) -> None:
    """However a library wraps it (httpx's ConnectError here), a limit of the generator's own
    machine is ``generator``; the target's refusals stay ``connect``."""
    try:
        try:
            raise exc
        except BaseException as inner:
            raise httpx.ConnectError("All connection attempts failed") from inner
    except httpx.ConnectError as wrapped:
        got, message = classify(wrapped, got_response=False)
    assert got == ErrorKind(kind)
    assert bool(local_limit(exc)) == (kind == "generator")
    if kind == "generator":
        assert message == local_limit(exc)
