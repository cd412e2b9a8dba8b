"""Requests per second of one generator process against two (issue #12, done-criterion 5).

One built-in target serves both runs (started here, so it is the same server, and its CPU
use is sampled from /proc during each run). A closed-model profile with 256 VUs, no think
time and fast answers keeps every VU busy, so each generator runs as fast as its one core
allows:

1. ``loadgen run`` in one process;
2. the same profile as two segments in two worker processes (``LocalRun``, what
   ``--processes 2`` runs).

It prints requests/s, the ratio, the CPU each generator used (mean of its intervals), the
target's CPU and how busy the whole machine was (both over the steady part of each run),
and the requests/s per core the generators got. The target needs CPU too: on a machine
with two cores, two generators and the target share them, so 2x is out of reach whatever
the generator does; the per-core rate shows whether the processes scale with the CPU they
are given. Loopback only; each run is bounded (``--duration``, default 6 s).

Run from the repository root with nothing else busy:  python benchmarks/distributed_speed.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from loadgen.core.profile import load_profile
from loadgen.engine.distributed import LocalOptions, LocalRun
from loadgen.target import BuiltinTarget, TargetConfig

TARGET = {
    "timing": {"ttft": "1ms", "itl": "0ms", "output_tokens": 8},
    "capacity": {"slots": 0},
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (from /proc, in seconds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class Sampler(threading.Thread):
    """Samples the target's CPU and the machine's busy jiffies every 0.25 s, so the steady
    part of a run (not its start-up and drain) can be measured afterwards."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float, float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.25):
            busy, total = machine_busy()
            self.samples.append((time.time(), cpu_seconds(self.pid), busy, total))

    def steady(self, data: dict[str, Any]) -> tuple[float, float]:
        """(target CPU in cores, machine busy fraction) from 1 s after the run's start to
        0.5 s before its planned end."""
        lo = float(data["started"]) + 1.0
        hi = float(data["started"]) + float(data["run"]["duration"]) - 0.5
        inside = [s for s in self.samples if lo <= s[0] <= hi]
        (t0, c0, b0, n0), (t1, c1, b1, n1) = inside[0], inside[-1]
        return (c1 - c0) / (t1 - t0), (b1 - b0) / max(1.0, n1 - n0)


def write_profile(directory: Path, url: str, users: int, duration: float) -> Path:
    data = {
        "name": "distributed-speed",
        "target": {"base_url": url, "timeout": "20s"},
        "users": [{"name": "regular", "tasks": [{"chat": {"category": "simple"}}]}],
        "load": {"users": users, "duration": f"{duration}s", "graceful_stop": "2s"},
        "report": {"formats": ["json"]},
        "seed": 1,
    }
    path = directory / "profile.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def summarise(data: dict[str, Any]) -> dict[str, float]:
    overall = data["scopes"]["overall"]
    return {
        "rps": overall["requests"] / data["run"]["duration"],
        "requests": overall["requests"],
        "ttft_p50": overall["metrics"]["ttft"]["p50"],
    }


def one_process(profile: Path, out: Path) -> tuple[dict[str, Any], list[float]]:
    cmd = [sys.executable, "-m", "loadgen", "run", str(profile), "--out", str(out), "--quiet"]
    subprocess.run(cmd, check=True, timeout=120)
    data = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return data, [float(data["health"]["cpu"]["mean"])]


def two_processes(profile: Path, out: Path) -> tuple[dict[str, Any], list[float]]:
    opts = LocalOptions(profile_path=str(profile), processes=2, out=out, seed=1)
    result = asyncio.run(LocalRun(load_profile(profile), opts).run())
    return result.data, [p["cpu"]["mean"] for p in result.data["health"]["by_part"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=256, help="VUs in total (default 256)")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per run")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    with (
        tempfile.TemporaryDirectory() as tmp,
        BuiltinTarget(TargetConfig.from_mapping(TARGET)) as t,
    ):
        assert t.pid is not None
        directory = Path(tmp)
        profile = write_profile(directory, t.url, args.users, args.duration)
        runs = []
        for name, run in (("1 process:  ", one_process), ("2 processes:", two_processes)):
            sampler = Sampler(t.pid)
            sampler.start()
            data, cpus = run(profile, directory / name.split()[0])
            sampler.done.set()
            sampler.join()
            runs.append((name, summarise(data), cpus, *sampler.steady(data)))
    print(f"machine: {cores} cores usable, {args.users} VUs, {args.duration:g} s per run")
    for name, numbers, cpus, target, busy in runs:
        print(
            f"{name} {numbers['rps']:7.0f} req/s  generator CPU "
            f"{' + '.join(f'{c:.0%}' for c in cpus)}  target CPU {target:.0%}  "
            f"machine busy {busy:.0%}  ttft p50 {numbers['ttft_p50']:.1f} ms"
        )
    (_, single, single_cpus, _, _), (_, double, double_cpus, _, busy_two) = runs
    ratio = double["rps"] / single["rps"]
    per_core_one = single["rps"] / max(single_cpus[0], 1e-9)
    per_core_two = double["rps"] / max(sum(double_cpus), 1e-9)
    print(f"ratio: {ratio:.2f}x (goal >= 1.8x when the target is not the bottleneck)")
    print(
        f"requests/s per generator core: {per_core_one:.0f} (1 process) vs "
        f"{per_core_two:.0f} (2 processes) — {per_core_two / per_core_one:.2f}x"
    )
    if ratio < 1.8 and busy_two > 0.9:
        print(
            f"why not 1.8x here: the machine was {busy_two:.0%} busy; its {cores} cores hold "
            f"two generators and the target, and the generators got {sum(double_cpus):.2f} "
            "cores between them, not 2"
        )


if __name__ == "__main__":
    main()
