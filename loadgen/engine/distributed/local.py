"""Segments in worker processes on one machine (``loadgen run PROFILE --processes N``).

Each worker is an ordinary ``loadgen run PROFILE --segment i/N`` in a process of its own, so
a worker is exactly what a user could start by hand, and its result is a normal result
(``OUT/part-i/result.json``). The driver only coordinates: it starts one built-in target for
all of them, agrees a start time (``--start-at``), tails every part's ``result.jsonl`` for
the live merged view and the abort rules, stops the workers with SIGTERM when the run must
end early (a second one after a second Ctrl-C), and merges the parts when they are done. A
worker that dies is reported in the result's ``parts`` and the rest of the run is kept; so
are the intervals it had journaled (rebuilt by ``loadgen.core.journal``, merged, marked partial).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadgen.core.errors import StartError
from loadgen.core.journal import Tail
from loadgen.core.live import Aborts, LiveMerge, split_thresholds, worker_thresholds_set
from loadgen.core.profile import Profile
from loadgen.core.result import Result
from loadgen.engine.distributed.parts import MergedRun, finish, start_target

__all__ = ["LocalOptions", "LocalRun", "auto_processes"]

_POLL = 0.25  # how often journals are read (s)
_KILL_AFTER = 15.0  # SIGTERM → SIGKILL (s)


def auto_processes() -> int:
    """``--processes auto``: one worker per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, kw_only=True)
class LocalOptions:
    """What the workers are told; ``users``/``duration``/``rate`` as the command line had them."""

    profile_path: str
    processes: int
    out: Path
    seed: int
    sets: Sequence[str] = ()
    users: int | None = None
    duration: float | None = None
    rate: str | None = None
    truth: str | None = None
    start_delay: float = 3.0  # time for the workers to import and connect before the start
    extra_args: Sequence[str] = field(default_factory=tuple)


class LocalRun(MergedRun):
    """Run a profile's N segments as N processes and merge them; ``run()`` → merged Result.

    Like ``Engine``: ``snapshots()`` yields merged live interval records and ``stop()`` ends
    the run early from another task (a signal handler, a breakpoint judge).
    """

    def __init__(self, profile: Profile, options: LocalOptions) -> None:
        if options.processes < 1:
            raise ValueError("processes must be >= 1")
        self.profile = profile
        self.options = options
        MergedRun.__init__(self, profile)
        self._steps_path = options.out / "steps.jsonl"
        #: The worker processes, in segment order, once started.
        self.workers: list[asyncio.subprocess.Process] = []

    async def run(self) -> Result:
        opts, n = self.options, self.options.processes
        opts.out.mkdir(parents=True, exist_ok=True)
        sets = [*opts.sets, "report.formats=[json]"]
        driver_rules, worker_rules = split_thresholds(self.profile.thresholds)
        if driver_rules:
            sets.append(worker_thresholds_set(worker_rules))
        async with contextlib.AsyncExitStack() as stack:
            url = await start_target(self.profile, opts.truth, stack)
            if url is not None:
                sets.append(f"target.base_url={url}")
            start_at = time.time() + opts.start_delay
            procs = self.workers
            self._steps_path.write_bytes(b"")
            try:
                for i in range(1, n + 1):
                    procs.append(await self._spawn(i, n, start_at, sets))
                self._begin_steps(start_at, time.time())
                await self._watch(procs, start_at, Aborts(driver_rules))
            finally:
                for proc in procs:  # never leave a worker behind, whatever happened here
                    if proc.returncode is None:
                        _signal(proc, signal.SIGKILL)
                        await proc.wait()
                self._publish(None)
        return self._collect(procs, start_at)

    async def _spawn(
        self, i: int, n: int, start_at: float, sets: Sequence[str]
    ) -> asyncio.subprocess.Process:
        opts = self.options
        part = opts.out / f"part-{i}"
        part.mkdir(parents=True, exist_ok=True)
        for stale in ("result.json", "result.jsonl"):
            (part / stale).unlink(missing_ok=True)
        argv = [sys.executable, "-m", "loadgen", "run", opts.profile_path, "--quiet"]
        argv += ["--segment", f"{i}/{n}", "--start-at", repr(start_at), "--seed", str(opts.seed)]
        argv += ["--out", str(part)]
        if self.conductor is not None:
            argv += ["--follow-steps", str(self._steps_path)]
        if opts.users is not None:
            argv += ["--users", str(opts.users)]
        if opts.duration is not None:
            argv += ["--duration", f"{opts.duration}s"]
        if opts.rate is not None:
            argv += ["--rate", opts.rate]
        for item in sets:
            argv += ["--set", item]
        argv += list(opts.extra_args)
        with (part / "stderr.log").open("wb") as err:
            return await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
                # Out of the terminal's process group: a Ctrl-C reaches the workers only
                # through the driver, once per press (two would be a second Ctrl-C).
                start_new_session=True,
            )

    async def _watch(
        self, procs: list[asyncio.subprocess.Process], start_at: float, aborts: Aborts
    ) -> None:
        """Until every worker exits: merge live records, judge aborts, pass stops on."""
        journals = _Journals(self.options.out, len(procs), LiveMerge(len(procs), start_at))
        deadline = self.give_up_at(self.profile, self.options.start_delay)
        escalation = _Escalation()
        while True:
            running = [p for p in procs if p.returncode is None]
            for reason in journals.read(procs):  # a worker judged a rule of its own
                self.stop(reason, interrupted=False)
            self._hand_out(journals.live, aborts, time.time(), "workers")
            if not running:
                return
            now = time.monotonic()
            self._stop_overrun(now, deadline, "workers")
            for sig in escalation.due(now, self._stop.is_set(), self._stop_now.is_set()):
                for p in running:
                    _signal(p, sig)
            await self._next_poll(_POLL, stopping=bool(escalation.signalled))

    def _collect(self, procs: list[asyncio.subprocess.Process], start_at: float) -> Result:
        parts: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for i, proc in enumerate(procs, start=1):
            part = self.options.out / f"part-{i}"
            path = part / "result.json"
            if path.exists():
                parts.append(json.loads(path.read_text(encoding="utf-8")))
                continue
            err = (part / "stderr.log").read_text("utf-8", "replace").strip()
            rebuilt = _journaled(part / "result.jsonl")
            if rebuilt is not None:
                parts.append(rebuilt)
            failed.append(
                {
                    "segment": i,
                    "status": "partial" if rebuilt is not None else "crashed",
                    "exit_code": proc.returncode,
                    "error": err[-2000:] or _death(proc.returncode),
                    "dir": str(part),
                    "journaled_intervals": len(rebuilt["intervals"]) if rebuilt else 0,
                }
            )
        if not parts:
            first = failed[0]
            raise StartError(
                f"every worker failed; segment 1 exited with {first['exit_code']}: "
                f"{first['error']}",
                f"see {self.options.out}/part-*/stderr.log",
            )
        return finish(
            self.profile,
            parts,
            failed,
            out=self.options.out,
            mode={"kind": "processes", "workers": len(procs), "start_at": start_at},
            stop_reason=self._stop_reason,
            interrupted=self._interrupted,
            aborted_by=self._aborted_by,
            conductor=self.conductor,
        )

    def _send_step(self, command: dict[str, Any]) -> None:
        with self._steps_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(command) + "\n")


class _Journals:
    """Every worker's ``result.jsonl``, tailed into the live merge."""

    def __init__(self, out: Path, n: int, live: LiveMerge) -> None:
        self.live = live
        self._tails = [Tail(out / f"part-{i}" / "result.jsonl") for i in range(1, n + 1)]
        self._started: dict[int, float] = {}  # a worker's wall-clock start, from its header

    def read(self, procs: Sequence[asyncio.subprocess.Process]) -> list[str]:
        """Add what the workers journaled since the last call; a worker that has exited has
        ended. Returns the stop reasons of workers that aborted on a rule of their own."""
        aborted: list[str] = []
        for k, tail in enumerate(self._tails):
            for line in tail.read():
                kind = line.get("type")
                if kind == "header":
                    self._started[k] = float(line["started"])
                elif kind == "interval" and k in self._started:
                    self.live.add(k, self._started[k], line)
                elif kind == "end":
                    self.live.ended(k)
                    reason = str(line.get("run", {}).get("stop_reason", ""))
                    if reason.startswith("aborted"):
                        aborted.append(f"segment {k + 1} {reason}")
            if procs[k].returncode is not None:
                self.live.ended(k)
        return aborted


@dataclass
class _Escalation:
    """Which signals the workers get once the run must stop (monotonic times, 0 = not yet):
    SIGTERM at once; a second SIGTERM on a stop-now, a poll after the first (a worker's
    second Ctrl-C: stop without the graceful stop); SIGKILL past ``_KILL_AFTER``."""

    signalled: float = 0.0
    killed: float = 0.0
    now_sent: float = 0.0

    def due(self, now: float, stop: bool, stop_now: bool) -> list[signal.Signals]:
        """The signals to send to every running worker at ``now``, in order."""
        out: list[signal.Signals] = []
        if self.signalled and stop_now and not self.now_sent:
            self.now_sent = now
            out.append(signal.SIGTERM)
        if stop and not self.signalled:
            self.signalled = now
            out.append(signal.SIGTERM)
        if self.signalled and now - self.signalled > _KILL_AFTER and not self.killed:
            self.killed = now
            out.append(signal.SIGKILL)
        return out


def _journaled(path: Path) -> dict[str, Any] | None:
    """A dead worker's result rebuilt from its journal, or None when it journaled nothing
    usable (killed before its header, or no interval yet)."""
    from loadgen.core.journal import JournalError, read_journal

    if not path.exists():
        return None
    try:
        data = read_journal(path)
    except JournalError:
        return None
    return data if data["intervals"] else None


def _death(returncode: int | None) -> str:
    """How a worker that said nothing ended: ``killed by SIGKILL`` or its exit status."""
    if returncode is not None and returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode} without output"


def _signal(proc: asyncio.subprocess.Process, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
