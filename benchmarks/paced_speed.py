"""Paced streams (issue 24): each token in its own chunk, 20 ms apart, as a model server sends.

Run by ``python benchmarks/generator_speed.py paced [STREAMS [SECONDS]]``. The built-in target
(pinned to CPU 1, loadgen to CPU 0) answers with a TTFT of 500 ms then 32 tokens 20 ms apart,
each written as its own HTTP chunk on a TCP_NODELAY socket as its timer fires (a late timer
would put the tokens already due in one chunk: the reads-per-event figure below shows whether
it did). STREAMS closed-loop users (1,000 by default) ramp in over 8 s. Printed:

* achieved vs planned requests/s after the ramp (planned: users / (ttft + 31 x itl));
* event-loop lag p99 (loadgen's own 10 ms probe) overall and in the worst second after the
  ramp;
* client reads (read syscalls of the loadgen process, from /proc/PID/io: the socket reads
  and its few file reads) per content event, and client CPU per read and per event (the
  whole process: start-up and report included);
* TTFT error against the target's truth log, request by request (loadgen's ttft minus the
  server's first-token time minus its arrival), p50 and p99, for requests started after the
  ramp;
* the same regime for Locust FastHttpUser (paced_locust.py: the same figures, its TTFT
  matched with the truth request by request, its gevent hub's lag in place of the event
  loop's), with loadgen / Locust ratios from the same run, and for the bare aiohttp loop when
  installed (its TTFT p50/p99 minus the truth's over the same window, as it sends no request
  ids), with the ratio of CPU per event;
* paced capacity (``generator_speed.py capacity``): the most streams at 20 ms ITL one core
  holds with event-loop lag p99 <= 2 ms and >= 98 % of the planned rate, by doubling from 250
  then bisecting (at most 10 probes of a few seconds each); then Locust's, by the same probes
  with >= 98 % of plan and TTFT error p99 <= 3 ms, and the loadgen / Locust capacity ratio.

Every run is bounded in time and talks to 127.0.0.1 only.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator_speed import HERE, _children_cpu, _pct, _pinned, target

TTFT, ITL, TOKENS = 0.5, 0.02, 32
LAG_GOAL_MS, RATE_GOAL = 2.0, 0.98
PLANNED_PER_USER = 1 / (TTFT + (TOKENS - 1) * ITL)  # requests/s of one closed-loop user


@dataclass
class Paced:
    users: int
    achieved: float  # requests/s completed after the ramp
    planned: float
    lag_p99: float  # ms, the whole run
    worst_lag_p99: float  # ms, the worst second after the ramp
    reads: int
    events: int
    cpu: float  # seconds, the whole process (start-up and report included)
    steady_cpu: float  # seconds in the intervals after the ramp
    steady_events: int  # output tokens (one per content event here) in those intervals
    ttft_errors: list[float]  # ms, requests started after the ramp
    lag_max: float = 0.0  # ms, the longest lag sampled after the ramp

    @property
    def holds(self) -> bool:
        return self.worst_lag_p99 <= LAG_GOAL_MS and self.achieved >= RATE_GOAL * self.planned


def _io_reads(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("syscr:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_loadgen(users: int, seconds: float, ramp: float, tmp: Path) -> Paced:
    """One paced run of loadgen on CPU 0 against the target on CPU 1."""
    truth = tmp / f"truth-{users}.jsonl"
    out = tmp / f"paced-{users}"
    cmd = [sys.executable, "-m", "loadgen", "benchmarks/rate.yaml", "--users", str(users)]
    # load.duration, not --duration: --duration scales every stage, the ramp too (a ramp
    # of 8 s in rate.yaml's 10 s run became 14.4 s of an 18 s one).
    cmd += ["--set", f"load.duration={ramp + seconds:g}s", "--out", str(out), "--quiet"]
    cmd += ["--set", "report.raw=true", "--set", f"load.ramp_up={ramp:g}s"]
    cmd += ["--set", "load.graceful_stop=3s"]
    with target(truth=truth, ttft=f"{TTFT:g}s", itl=f"{ITL * 1000:g}ms", output_tokens=TOKENS) as t:
        before = _children_cpu()
        proc = subprocess.Popen(_pinned(cmd), env={**os.environ, "CHATBOT_URL": t.url})
        reads = 0
        deadline = time.monotonic() + ramp + seconds + 90
        while proc.poll() is None and time.monotonic() < deadline:
            reads = max(reads, _io_reads(proc.pid))  # taskset execs python: same pid
            time.sleep(0.2)
        proc.wait(timeout=60)
        cpu = _children_cpu() - before
    result = json.loads((out / "result.json").read_text())
    steady = [i for i in result["intervals"] if ramp + 1 <= i["t"] < ramp + seconds]
    achieved = sum(i["requests"] for i in steady) / max(1, len(steady))
    worst = max((i["loop_lag"].get("p99") or 0.0 for i in steady if i.get("loop_lag")), default=0)
    longest = max((i["loop_lag"].get("max") or 0.0 for i in steady if i.get("loop_lag")), default=0)
    overall = result["scopes"]["overall"]
    return Paced(
        users=users,
        achieved=achieved,
        planned=users * PLANNED_PER_USER,
        lag_p99=result["loop_lag"].get("p99") or 0.0,
        worst_lag_p99=worst,
        reads=reads,
        events=overall["content_events"],
        cpu=cpu,
        steady_cpu=sum(i["cpu"] * i.get("length", 1.0) for i in steady if i.get("cpu")),
        steady_events=sum(i.get("output_tokens") or 0 for i in steady),
        ttft_errors=_ttft_errors(truth, out / "requests.csv", ramp),
        lag_max=longest,
    )


def _served(truth: Path) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in map(json.loads, truth.read_text().splitlines())}


def _ttft_errors(truth: Path, requests: Path, ramp: float) -> list[float]:
    """loadgen's ttft minus the server's, request by request, for requests after the ramp."""
    served = _served(truth)
    with requests.open() as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return []
    ramped = min(float(r["t0"]) for r in rows) + ramp + 1.0  # a second's margin
    errors = []
    for row in rows:
        s = served.get(row["request_id"])
        if s and row["ttft_ms"] and s["first_token"] and float(row["t0"]) >= ramped:
            errors.append(float(row["ttft_ms"]) - (s["first_token"] - s["arrival"]) * 1000)
    return errors


def _truth_ttft(truth: Path, after: float) -> list[float]:
    """The server's own TTFT (ms) of requests that arrived after ``after`` (its clock)."""
    return [
        (d["first_token"] - d["arrival"]) * 1000
        for d in _served(truth).values()
        if d.get("first_token") and d["arrival"] >= after
    ]


def show(p: Paced, label: str = "loadgen", lag: str = "event-loop lag") -> None:
    errors = p.ttft_errors
    per_read = p.reads / max(p.events, 1)
    steady = p.steady_cpu / max(p.steady_events, 1)
    ttft = (
        f"{statistics.median(errors):+.2f} / {_pct(errors, 0.99):+.2f} ms ({len(errors)} req)"
        if errors
        else "no matched requests"
    )
    reads = (
        f"{p.reads} reads for {p.events} content events ({per_read:.2f} per event)"
        if p.reads
        else f"{p.events} content events (reads not counted: recv() is not in /proc/PID/io)"
    )
    read = f", {steady / per_read * 1e6:.1f} µs per read" if p.reads else ""
    print(
        f"  {label}, {p.users} streams: {p.achieved:.0f} of {p.planned:.0f} planned req/s "
        f"({p.achieved / p.planned:.1%}; goal >= 98 %), {lag} p99 {p.lag_p99:.2f} ms "
        f"overall, {p.worst_lag_p99:.2f} ms in the worst second after the ramp (goal <= 2; "
        f"longest {p.lag_max:.2f} ms)\n"
        f"        {reads}; client CPU after the ramp {steady * 1e6:.1f} µs per "
        f"event{read} ({p.steady_cpu:.2f} CPU-s, "
        f"{p.steady_events} events); whole process {p.cpu:.1f} CPU-s, "
        f"{p.cpu / max(p.events, 1) * 1e6:.1f} µs per event\n"
        f"        TTFT error vs truth p50 / p99: {ttft} (goal <= 1 / <= 3 ms)"
    )


def _peer(cmd: list[str], env: dict[str, str], users: int, timeout: float) -> tuple[float, str]:
    before = _children_cpu()
    run = subprocess.run(
        _pinned(cmd), check=False, timeout=timeout, capture_output=True, text=True, env=env
    )
    return _children_cpu() - before, run.stdout


def locust(users: int, seconds: float, ramp: float, tmp: Path, ours: Paced) -> Paced | None:
    """Locust FastHttpUser in the same regime (paced_locust.py), with ratios to loadgen's."""
    from paced_locust import locust_python, run_locust, said

    python = locust_python()
    if python is None:
        print("  Locust FastHttpUser: no Locust environment (--locust-python none), skipped")
        return None
    theirs = run_locust(python, users, seconds, ramp, tmp)
    show(theirs, "Locust FastHttpUser (events read as they arrive)", "gevent hub lag")
    print(f"        {said(theirs)}")
    mine = ours.steady_cpu / max(ours.steady_events, 1)
    its = theirs.steady_cpu / max(theirs.steady_events, 1)
    ttft = (
        f"{_pct(theirs.ttft_errors, 0.99) / _pct(ours.ttft_errors, 0.99):.1f}x"
        if ours.ttft_errors and theirs.ttft_errors and _pct(ours.ttft_errors, 0.99) > 0
        else "n/a"
    )
    print(
        f"  loadgen / Locust, same run: achieved rate "
        f"{ours.achieved / max(theirs.achieved, 1):.2f}x, "
        f"Locust's CPU per event after the ramp {its / mine if mine else 0:.2f}x loadgen's, "
        f"its TTFT error p99 {ttft} loadgen's"
    )
    return theirs


def aiohttp_loop(
    users: int, seconds: float, ramp: float, tmp: Path, ours: Paced
) -> dict[str, str] | None:
    """The bare aiohttp loop in the same regime, when installed; its column of the table."""
    name = "aiohttp bare loop"
    if importlib.util.find_spec("aiohttp") is None:
        print(f"  {name}: not installed, skipped")
        return None
    timing = {"ttft": f"{TTFT:g}s", "itl": f"{ITL * 1000:g}ms", "output_tokens": TOKENS}
    ours_per_event = ours.cpu / max(ours.events, 1)  # whole process, as the peer's figure
    truth = tmp / "truth-peer-aiohttp.jsonl"
    with target(truth=truth, **timing) as t:
        started = time.monotonic()
        cmd = [sys.executable, str(HERE / "peers" / "aiohttp_loop.py"), t.url]
        cmd += [str(users), f"{ramp + seconds:g}", f"{ramp:g}"]
        cpu, out = _peer(cmd, dict(os.environ), users, ramp + seconds + 90)
        figures = json.loads(out)
        requests, events = figures["requests"], figures["events"]
        p50, p99 = figures["ttft_p50_ms"], figures["ttft_p99_ms"]
    # The loop's percentiles cover the requests sent after the ramp; the truth's, those that
    # arrived after it (it sends no request id, so distributions are compared).
    real = _truth_ttft(truth, started + ramp + 1.0)
    error = (
        f"{p50 - statistics.median(real):+.1f} / {p99 - _pct(real, 0.99):+.1f} ms"
        if real and p50 is not None
        else "n/a"
    )
    per_event = cpu / max(events, 1)
    print(
        f"  {name}, {users} streams: {requests / (ramp + seconds):.0f} req/s over the "
        f"whole run (loadgen: planned {ours.planned:.0f} after the ramp), CPU {cpu:.1f} s, "
        f"{per_event * 1e6:.1f} µs per event; loadgen's CPU per event is "
        f"{ours_per_event / per_event if per_event else 0:.2f}x its (whole processes)\n"
        f"        TTFT p50 / p99 minus the truth's: {error}"
    )
    return {
        "rate": f"{requests / (ramp + seconds):.0f} (whole run)",
        "whole": f"{per_event * 1e6:.1f} µs",
        "ttft": f"{error} (distrib.)",
    }


def _column(p: Paced) -> dict[str, str]:
    errors = p.ttft_errors
    return {
        "rate": f"{p.achieved:.0f} ({p.achieved / p.planned:.1%})",
        "lag": f"{p.worst_lag_p99:.2f} ms",
        "steady": f"{p.steady_cpu / max(p.steady_events, 1) * 1e6:.1f} µs",
        "whole": f"{p.cpu / max(p.events, 1) * 1e6:.1f} µs",
        "ttft": (
            f"{statistics.median(errors):+.2f} / {_pct(errors, 0.99):+.2f} ms" if errors else "n/a"
        ),
    }


def table(ours: Paced, theirs: Paced | None, aio: dict[str, str] | None) -> None:
    """The three clients side by side, from this one run."""
    rows = [
        ("rate", f"req/s after the ramp (plan {ours.planned:.0f})"),
        ("lag", "lag p99, worst second after the ramp"),
        ("steady", "CPU per content event after the ramp"),
        ("whole", "CPU per content event, whole process"),
        ("ttft", "TTFT error vs truth p50 / p99"),
    ]
    columns = [("loadgen", _column(ours))]
    columns += [("Locust FastHttpUser", _column(theirs))] if theirs else []
    columns += [("aiohttp bare loop", aio)] if aio else []
    print((f"  {'':<42}" + "".join(f"{name:<26}" for name, _ in columns)).rstrip())
    for key, label in rows:
        cells = "".join(f"{column.get(key, '-'):<26}" for _, column in columns)
        print(f"  {label:<42}{cells}".rstrip())
    if theirs:
        print("  (Locust's lag is its gevent hub's, from a 10 ms sleeping greenlet)")


def paced(users: int = 1000, seconds: float = 10.0, ramp: float = 8.0) -> None:
    print(
        f"== paced: {users} streams ramped over {ramp:g} s, ttft {TTFT * 1000:g} ms, "
        f"{ITL * 1000:g} ms between {TOKENS} tokens, each token its own chunk and write; "
        f"{seconds:g} s after the ramp"
    )
    with tempfile.TemporaryDirectory() as tmp:
        ours = run_loadgen(users, seconds, ramp, Path(tmp))
        show(ours)
        theirs = locust(users, seconds, ramp, Path(tmp), ours)
        aio = aiohttp_loop(users, seconds, ramp, Path(tmp), ours)
        table(ours, theirs, aio)


def accurate(p: Paced) -> bool:
    """The criterion both clients can be judged by (Locust has no event-loop lag): >= 98 %
    of the planned rate and TTFT error p99 <= 3 ms against the truth log."""
    errors = p.ttft_errors
    return p.achieved >= RATE_GOAL * p.planned and bool(errors) and _pct(errors, 0.99) <= 3.0


def search(
    probe: Callable[[int], Paced],
    start: int,
    most: int,
    step: int = 50,
    holds: Callable[[Paced], bool] | None = None,
) -> int:
    """The most streams ``probe`` holds (``holds``, else the probe's own criterion): doubling
    from ``start``, then bisecting to within ``step`` streams (or 5 %); at most 10 probes."""
    good, bad = 0, 0
    users = start
    for _ in range(10):
        p = probe(users)
        errors = p.ttft_errors
        ttft = f"TTFT error p99 {_pct(errors, 0.99):+.2f} ms" if errors else "no TTFT"
        held = holds(p) if holds is not None else p.holds
        print(
            f"    {users:>6} streams: lag p99 {p.worst_lag_p99:.2f} ms (worst second), "
            f"{p.achieved / p.planned:.1%} of plan, {ttft}: {'holds' if held else 'does not'}"
        )
        if held:
            good = users
        else:
            bad = users
        if bad and bad - good <= max(step, good // 20):
            break
        users = (good + bad) // 2 if bad else min(users * 2, most)
        if not bad and good >= most:
            break
    return good


def capacity(seconds: float = 4.0, start: int = 250, most: int = 16_000) -> int:
    """The most paced streams one core holds (lag p99 <= 2 ms, >= 98 % of plan); bounded.

    Then Locust FastHttpUser's (>= 98 % of plan, TTFT error p99 <= 3 ms: paced_locust.py)
    and the ratio of the two, when Locust's environment is there.
    """
    from paced_locust import capacity_probe, locust_python

    # Fewer than 3 whole seconds after the ramp measure the rate on too few requests: one
    # second of 31 streams is ~28 answers, and one more or fewer is 4 % of it.
    seconds = max(seconds, 4.0)
    print(
        f"== paced capacity: streams at {ITL * 1000:g} ms ITL one core holds with event-loop "
        f"lag p99 <= {LAG_GOAL_MS:g} ms and >= 98 % of the planned rate ({seconds:g} s probes)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        good = search(lambda users: run_loadgen(users, seconds, 2.0, Path(tmp)), start, most)
        print(
            f"  paced capacity on this machine: {good} streams per core "
            f"({good / ITL:.0f} events/s; goal >= 2,000 streams). "
            "Store it in loadgen/core/pacing.py (PACED_EVENTS_PER_CORE) with the machine's name."
        )
        python = locust_python()
        if python is None:
            print("  Locust FastHttpUser: no Locust environment (--locust-python none), skipped")
            return good
        print(
            "  Locust FastHttpUser, same probes: holds with >= 98 % of the planned rate and "
            "TTFT error p99 <= 3 ms against the truth log (its gevent hub lag is printed, "
            "not judged)"
        )
        theirs = search(
            lambda users: capacity_probe(python, users, seconds, Path(tmp)), start, most, 10
        )
        print(
            "  loadgen by Locust's criterion (>= 98 % of plan, TTFT error p99 <= 3 ms), so the "
            "two are judged alike"
        )
        alike = search(
            lambda users: run_loadgen(users, seconds, 2.0, Path(tmp)), start, most, 50, accurate
        )
    ratio = f"{alike / theirs:.2f}x" if theirs else "n/a (Locust held none of the probes)"
    print(
        f"  Locust FastHttpUser's paced capacity: {theirs} streams per core; loadgen's by the "
        f"same criterion {alike}: loadgen / Locust capacity ratio {ratio} (goal >= 3x); "
        f"loadgen's by its lag criterion {good}"
    )
    return good


if __name__ == "__main__":
    os.chdir(HERE.parent)
    paced()
