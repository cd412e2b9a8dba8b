"""Locust FastHttpUser in the paced regime, measured the way paced_speed.py measures loadgen.

Locust runs from its own environment (benchmarks/locust_env.sh, or ``--locust-python PATH``)
with benchmarks/peers/locust_paced.py, headless, pinned to CPU 0 like loadgen, against the same
built-in target on CPU 1, with the same users and ramp (``-r users / ramp``). The user logs each
request (its own ``x-request-id``, send time, TTFT from that send time, end, content events), so:

* achieved requests/s in the seconds after the ramp (from a second after it, as loadgen's
  intervals), each answer counted by the share of its time inside them. Locust starts users in
  batches, ``floor(-r)`` of them each second, so its users move in phase-locked cohorts and a
  plain count of the answers that ended in a few seconds swings by up to a cohort (+12 % in a
  4 s window seen here); loadgen ramps users in one by one and counts them plainly;
* TTFT error: its TTFT minus the truth log's (first token minus arrival), request by request,
  for requests sent from a second after the ramp: loadgen's method;
* lag: gevent has no event-loop lag figure; the user's 10 ms sleeping greenlet gives the hub's
  overshoot, p99 overall and in the worst second after the ramp, like loadgen's probe. Locust's
  own CPU monitor (each second here) and its "CPU usage above 90%" warning are printed too;
* CPU of the Locust process (``/proc/PID/stat``, sampled every 0.2 s, so the CPU after the
  ramp is to that step; the whole process's from its exit). Its reads are not counted: gevent
  reads sockets with ``recv()``, which ``/proc/PID/io``'s ``syscr`` (loadgen's figure:
  uvloop uses ``read()``) does not count.

Locust's paced capacity holds at ``users`` when it reaches >= 98 % of the planned rate with a
TTFT error p99 <= 3 ms: the criterion loadgen's issue 24 puts on accuracy, taken in place of
the lag one (the hub probe is printed, not judged: a gevent hub late by a few ms shows in
the TTFT error, which is what a user reads).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from generator_speed import HERE, _children_cpu, _pct, _pinned, locust_python, target
from paced_speed import ITL, PLANNED_PER_USER, RATE_GOAL, TOKENS, TTFT, Paced, _served

TTFT_P99_GOAL_MS = 3.0
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class LocustPaced(Paced):
    cpu_usage: list[float] | None = None  # Locust's own readings after the ramp, %
    cpu_warning: bool = False

    @property
    def holds(self) -> bool:
        errors = self.ttft_errors
        accurate = bool(errors) and _pct(errors, 0.99) <= TTFT_P99_GOAL_MS
        return accurate and self.achieved >= RATE_GOAL * self.planned


def _cpu_of(pid: int) -> float:
    """CPU seconds of a live process, or 0.0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / TICK  # utime, stime


def _share(start: float, end: float, w0: float, w1: float) -> float:
    """The share of [start, end] inside the window [w0, w1)."""
    if end <= start:
        return 1.0 if w0 <= end < w1 else 0.0
    return max(0.0, min(end, w1) - max(start, w0)) / (end - start)


def _cpu_at(samples: list[tuple[float, float]], when: float) -> float:
    """The process's CPU seconds at ``when`` (monotonic), from the last sample before it."""
    before = [cpu for t, cpu in samples if t <= when]
    return before[-1] if before else 0.0


def run_locust(python: str, users: int, seconds: float, ramp: float, tmp: Path) -> LocustPaced:
    """One paced run of Locust FastHttpUser on CPU 0 against the target on CPU 1."""
    truth = tmp / f"truth-locust-{users}.jsonl"
    log = tmp / f"locust-{users}.json"
    cmd = [python, "-m", "locust", "-f", str(HERE / "peers" / "locust_paced.py"), "--headless"]
    cmd += ["-u", str(users), "-r", f"{users / ramp:g}", "-t", f"{math.ceil(ramp + seconds) + 2}s"]
    cmd += ["--only-summary", "--loglevel", "WARNING"]
    timing = {"ttft": f"{TTFT:g}s", "itl": f"{ITL * 1000:g}ms", "output_tokens": TOKENS}
    samples: list[tuple[float, float]] = []
    errors = tmp / f"locust-{users}.stderr"
    with target(truth=truth, **timing) as t, errors.open("w") as stderr:
        env = {**os.environ, "LOADGEN_PEER_LOG": str(log)}
        before = _children_cpu()
        proc = subprocess.Popen(
            _pinned([*cmd, "--host", t.url]), env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
        deadline = time.monotonic() + ramp + seconds + 90
        while proc.poll() is None and time.monotonic() < deadline:
            now = time.monotonic()
            cpu_now = _cpu_of(proc.pid)  # taskset execs python: same pid
            if cpu_now:
                samples.append((now, cpu_now))
            time.sleep(0.2)
        if proc.poll() is None:  # past its deadline: a bounded run, whatever Locust does
            proc.kill()
        proc.wait(timeout=60)
        cpu = _children_cpu() - before
    run = (samples, cpu, errors.read_text())
    return _figures(users, seconds, ramp, log, truth, run)


def _figures(
    users: int,
    seconds: float,
    ramp: float,
    log: Path,
    truth: Path,
    run: tuple[list[tuple[float, float]], float, str],
) -> LocustPaced:
    """The figures of one run: ``run`` is (CPU samples, CPU seconds, Locust's stderr)."""
    samples, cpu, stderr = run
    if not log.exists():
        raise SystemExit(f"Locust wrote no request log ({users} users); it said:\n{stderr[-3000:]}")
    document = json.loads(log.read_text())
    rows = document["requests"]  # [id, sent, ttft ms | None, end, events, ok]
    began = min(r[1] for r in rows)
    w0, w1 = began + ramp + 1.0, began + ramp + seconds
    served = _served(truth)
    ttft_errors = [
        ttft - (s["first_token"] - s["arrival"]) * 1000
        for rid, sent, ttft, _, _, _ in rows
        if sent >= w0 and ttft is not None and (s := served.get(rid)) and s.get("first_token")
    ]
    done = [r for r in rows if r[5] and r[1] < w1 and r[3] > w0 and r[3] > r[1]]
    shares = sum(_share(r[1], r[3], w0, w1) for r in done)
    events = sum(_share(r[1] + r[2] / 1000, r[3], w0, w1) * r[4] for r in done if r[2])
    lag = document["lag"]
    seconds_after = range(int(w0 - began), math.ceil(w1 - began))
    per_second = [[ms for at, ms in lag if int(at - began) == s] for s in seconds_after]
    return LocustPaced(
        users=users,
        achieved=shares / max(w1 - w0, 1.0),
        planned=users * PLANNED_PER_USER,
        lag_p99=_pct([ms for _, ms in lag], 0.99) if lag else 0.0,
        worst_lag_p99=max((_pct(s, 0.99) for s in per_second if s), default=0.0),
        lag_max=max((max(s) for s in per_second if s), default=0.0),
        reads=0,  # not counted (recv)
        events=sum(r[4] for r in rows),
        cpu=cpu,
        steady_cpu=_cpu_at(samples, w1) - _cpu_at(samples, w0),
        steady_events=round(events),
        ttft_errors=ttft_errors,
        cpu_usage=[u for at, u in document["cpu_usage"] if w0 <= at < w1],
        cpu_warning=bool(document["cpu_warning"]) or "CPU usage above" in stderr,
    )


def said(p: LocustPaced) -> str:
    """What Locust itself said about its CPU, for the printout."""
    readings = p.cpu_usage or []
    seen = (
        f"max {max(readings):.0f} %, median {statistics.median(readings):.0f} %"
        if readings
        else "none"
    )
    warning = "it warned 'CPU usage above 90%'" if p.cpu_warning else "no CPU warning"
    return f"Locust's own CPU monitor (each second after the ramp): {seen}; {warning}"


def capacity_probe(python: str, users: int, seconds: float, tmp: Path) -> LocustPaced:
    """One capacity probe: the same ramp and length as loadgen's probes."""
    return run_locust(python, users, seconds, 2.0, tmp)


__all__ = ["LocustPaced", "capacity_probe", "locust_python", "run_locust", "said"]
