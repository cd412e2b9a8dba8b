"""Run the built-in target in a child process, for tests, benchmarks and ``base_url: builtin``.

A child process, not a task in the caller's loop, so the target's CPU never competes with
the generator's event loop and its timings are its own. The config travels as a temporary
YAML file; the child prints one ``listening on URL`` line, which ``start`` waits for.
``stop`` sends SIGTERM (the child flushes its truth log and exits 0), waits, and kills
after a timeout. The async form runs the same steps in a worker thread.

The child dies with its parent, however the parent ends: it watches the end of a pipe on
its stdin that only the parent holds, and when that closes (the kernel closes it even after
SIGKILL) it stops as on SIGTERM and removes the temporary directory, which the parent can no
longer do. A pipe rather than Linux's ``PR_SET_PDEATHSIG``: it works on every POSIX system,
and the death signal fires when the *thread* that started the child ends, which here is a
worker thread of ``asyncio.to_thread``. The child runs in a session of its own, so a Ctrl-C
at the terminal reaches only the run, which then lets the answers in flight finish.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from loadgen.target.config import TargetConfig
from loadgen.target.flags import write_config

__all__ = ["BuiltinTarget", "TargetStartError"]

READY_PREFIX = "loadgen target listening on "


class TargetStartError(RuntimeError):
    """The child did not print its listening line in time; the message holds its stderr."""


class BuiltinTarget:
    """The built-in chatbot target in a child process on a free loopback port.

    ``async with BuiltinTarget(config, truth=path) as t:`` or, from sync code (pytest
    fixtures), ``with BuiltinTarget(...) as t:`` / ``t.start()`` … ``t.stop()``.
    """

    def __init__(
        self,
        config: TargetConfig | None = None,
        *,
        truth: str | Path | None = None,
        port: int | None = None,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
        extra_args: Sequence[str] = (),
        cpu: int | None = None,
    ) -> None:
        config = config or TargetConfig()
        if truth is not None:
            config = replace(config, truth=str(truth))
        if port is not None:
            config = replace(config, port=port)
        self.config = config
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.extra_args = list(extra_args)
        self.cpu = cpu
        self.url = ""
        self.returncode: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None

    @property
    def truth_path(self) -> Path | None:
        return Path(self.config.truth) if self.config.truth else None

    @property
    def ws_url(self) -> str:
        return "ws" + self.url[len("http") :] if self.url else ""

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def command(self, config_path: Path) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "loadgen.target",
            "serve",
            "--config",
            str(config_path),
            "--until-stdin-closes",
            "--orphan-dir",
            str(config_path.parent),
            *self.extra_args,
        ]
        if self.cpu is not None:
            taskset = shutil.which("taskset")
            if taskset is not None:
                cmd = [taskset, "-c", str(self.cpu), *cmd]
        return cmd

    def start(self) -> BuiltinTarget:
        """Start the child and wait until it listens; TargetStartError if it does not."""
        if self._proc is not None:
            raise RuntimeError("this BuiltinTarget is already running")
        self._dir = Path(tempfile.mkdtemp(prefix="loadgen-target-"))
        config_path = self._dir / "target.yaml"
        write_config(self.config, config_path)
        stderr = (self._dir / "stderr.log").open("wb")
        try:
            self._proc = subprocess.Popen(
                self.command(config_path),
                stdin=subprocess.PIPE,  # never written: its end tells the child we are gone
                stdout=subprocess.PIPE,
                stderr=stderr,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,  # a terminal's Ctrl-C is the run's to handle
            )
        finally:
            stderr.close()
        try:
            line = self._read_line(self._proc, self.start_timeout)
        except TargetStartError:
            self.stop()
            raise
        self.url = line[len(READY_PREFIX) :].strip()
        return self

    def _read_line(self, proc: subprocess.Popen[bytes], timeout: float) -> str:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TargetStartError(self._failure(proc, timeout))
            ready, _, _ = select.select([proc.stdout], [], [], remaining)
            if not ready:
                continue
            line = proc.stdout.readline().decode("utf-8", "replace")
            if not line:  # EOF: the child exited
                proc.wait(5)
                raise TargetStartError(self._failure(proc, timeout))
            if line.startswith(READY_PREFIX):
                return line

    def _failure(self, proc: subprocess.Popen[bytes], timeout: float) -> str:
        code = proc.poll()
        err = ""
        if self._dir is not None and (self._dir / "stderr.log").exists():
            err = (self._dir / "stderr.log").read_text("utf-8", "replace").strip()
        what = f"exited with {code}" if code is not None else f"did not listen within {timeout}s"
        return f"built-in target {what}: {err[-2000:] or 'no output'}"

    def stop(self) -> int | None:
        """SIGTERM, wait, kill after ``stop_timeout``; the truth log is complete on return."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()
            self.returncode = proc.returncode
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        return self.returncode

    def truth_records(
        self, ids: Iterable[str] | None = None, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Lines of the truth log; with ``ids``, waits until each of them is there."""
        path = self.truth_path
        if path is None:
            raise RuntimeError("no truth log: pass truth=PATH to BuiltinTarget")
        wanted = set(ids or ())
        deadline = time.monotonic() + timeout
        while True:
            records = []
            if path.exists():
                with path.open(encoding="utf-8") as f:
                    records = [json.loads(line) for line in f if line.endswith("\n")]
            missing = wanted - {r["id"] for r in records}
            if not missing or time.monotonic() > deadline:
                return records
            time.sleep(0.02)

    def __enter__(self) -> BuiltinTarget:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> BuiltinTarget:
        try:
            return await asyncio.to_thread(self.start)
        except asyncio.CancelledError:
            self.stop()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)
