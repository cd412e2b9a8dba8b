"""Memory stays flat in long runs: a soak at constant load, the generator's RSS sampled.

Runs loadgen (50 users, no think time, 16-token answers from the built-in target) for
``--seconds`` (default 120) and prints its RSS after the first 10 s and at the end, and the
growth per million requests. loadgen keeps histograms and counters, never a list of
requests, so the growth should be noise (a few MiB), whatever the run's length.

    python benchmarks/soak_memory.py --seconds 120
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loadgen.target import BuiltinTarget, TargetConfig


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    config = TargetConfig.from_mapping(
        {"timing": {"ttft": "2ms", "itl": "1ms", "output_tokens": 16}, "capacity": {"slots": 0}}
    )
    with tempfile.TemporaryDirectory() as tmp, BuiltinTarget(config) as target:
        out = Path(tmp) / "soak"
        cmd = [
            sys.executable,
            "-m",
            "loadgen",
            "benchmarks/rate.yaml",
            "--users",
            str(args.users),
            "--duration",
            f"{args.seconds}s",
            "--out",
            str(out),
            "--quiet",
        ]
        proc = subprocess.Popen(
            cmd,
            env={**os.environ, "CHATBOT_URL": target.url},
            cwd=Path(__file__).resolve().parent.parent,
        )
        samples: list[tuple[float, float]] = []
        started = time.monotonic()
        while proc.poll() is None and time.monotonic() - started < args.seconds + 60:
            samples.append((time.monotonic() - started, rss_mib(proc.pid)))
            time.sleep(1.0)
        proc.wait(timeout=60)
        result = json.loads((out / "result.json").read_text())
    requests = result["scopes"]["overall"]["requests"]
    early = next((r for t, r in samples if t >= 10), samples[0][1])
    late = max(r for t, r in samples[-5:]) if samples else 0.0
    print(
        f"soak: {args.users} users for {args.seconds} s, {requests:,} requests "
        f"({requests / result['run']['duration']:.0f}/s)"
    )
    print(
        f"  RSS after 10 s: {early:.1f} MiB; at the end: {late:.1f} MiB; growth "
        f"{late - early:+.1f} MiB ({(late - early) / max(requests, 1) * 1e6:+.1f} MiB per "
        f"million requests)"
    )


if __name__ == "__main__":
    main()
