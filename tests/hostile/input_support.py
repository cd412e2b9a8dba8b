"""Helpers for the hostile-input tests: a real ``python -m loadgen`` in a child process with
its memory capped (RLIMIT_AS) and its time bounded, and what /proc says about a process.

Named ``input_support`` (not ``support``): test modules in tests/hostile are imported by
their base name, beside other engineers' helpers.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

MEMORY_CAP = 1 << 30  # address space of a loadgen child: a bomb fails here, not in pytest


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mib: float

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def loadgen(
    *args: str, cwd: Path, timeout: float = 30.0, env: dict[str, str] | None = None
) -> Finished:
    """Run ``python -m loadgen ARGS`` to its end under ``MEMORY_CAP``; kill it (and fail the
    caller's assertions with code -9) if it outlives ``timeout``."""
    started = time.monotonic()
    with (cwd / "stdout.txt").open("wb") as out, (cwd / "stderr.txt").open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loadgen", *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env={**os.environ, **(env or {})},
            preexec_fn=cap_memory,
            start_new_session=True,
        )
        status, peak = _wait(proc.pid, started + timeout)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here
    return Finished(
        code=proc.returncode,
        stdout=(cwd / "stdout.txt").read_text("utf-8", "replace"),
        stderr=(cwd / "stderr.txt").read_text("utf-8", "replace"),
        seconds=time.monotonic() - started,
        peak_rss_mib=peak / 1024,
    )


def _wait(pid: int, deadline: float) -> tuple[int, int]:
    """Wait for the child, killing it at the deadline; return its status and its own peak RSS
    in KiB. The peak is its VmHWM, polled: ``ru_maxrss`` of a forked-then-exec'd child keeps
    the high-water mark of the forked copy of pytest (318 MiB late in a full suite run), so
    it measured the parent, not the child."""
    peak = 0
    while True:
        peak = max(peak, _hwm_kib(pid))
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, peak
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
        time.sleep(0.005)


def _hwm_kib(pid: int) -> int:
    """VmHWM of a live process in KiB (0 once it is gone or before exec has replaced pytest)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    if b"\0-m\0loadgen" not in cmdline:  # still the forked copy of pytest
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def catches(pid: int, sig: int) -> bool:
    """Whether the process has a handler installed for ``sig`` (SigCgt in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False
