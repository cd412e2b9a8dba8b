"""An hour of Azure-format traffic replayed in a minute, every request checked against the
target's truth log (issue 21, done-means).

Generates a 1-hour trace in Azure's LLM-inference CSV format (``TIMESTAMP,ContextTokens,
GeneratedTokens``; Poisson arrivals at a few requests/s with one-minute bursts every ten
minutes, lengths drawn like Azure's conversation trace), replays it at ``time_scale``
1/60 against the built-in target on the CLI's event loop, and prints from the truth log
how late each request arrived against its scheduled time (the run's start plus its row's
offset ÷ 60), the share within 2 ms, and whether every prompt and answer had the trace's
lengths. Takes about the trace's length × the scale (a minute), plus start-up. Not part of
the test suite (tests/test_replay_truth.py replays 5 minutes in 5 s).

    python benchmarks/replay_hour.py [--minutes 60] [--rate 2.5] [--burst 8] [--scale 0.016667]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import loadgen
from loadgen import profile_from_dict
from loadgen.cli.runloop import run_loop

TEMPLATE = 3  # the built-in target's chat template: tokens per message


def write_trace(path: Path, minutes: float, rate: float, burst: float, seed: int) -> list[float]:
    """The trace's offsets (s); bursts: the first minute of every ten at ``burst``/s."""
    rng = random.Random(seed)
    base = datetime(2024, 5, 10, 14, 0, tzinfo=UTC).timestamp()
    offsets, t = [], 0.0
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["TIMESTAMP", "ContextTokens", "GeneratedTokens"])
        while True:
            t += rng.expovariate(burst if int(t // 60) % 10 == 0 else rate)
            if t >= minutes * 60:
                return offsets
            offsets.append(t)
            stamp = datetime.fromtimestamp(base + t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            tokens_in = min(4000, max(8, int(rng.lognormvariate(6.5, 0.8))))
            tokens_out = min(64, max(1, int(rng.lognormvariate(2.5, 0.7))))
            out.writerow([stamp + "0", tokens_in, tokens_out])


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--minutes", type=float, default=60)
    args.add_argument("--rate", type=float, default=2.5, help="requests/s between bursts")
    args.add_argument("--burst", type=float, default=8, help="requests/s in a burst")
    args.add_argument("--scale", type=float, default=1 / 60, help="time_scale (1/60: 60x)")
    opts = args.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        trace = folder / "azure.csv"
        offsets = write_trace(trace, opts.minutes, opts.rate, opts.burst, seed=21)
        data = {
            "name": "replay-hour",
            "target": {
                "base_url": "builtin",
                "timeout": "30s",
                "builtin": {"timing": {"ttft": "20ms", "itl": "2ms"}, "capacity": {"slots": 0}},
            },
            "users": [{"name": "u", "tasks": [{"chat": {"model": "builtin"}}]}],
            "load": {
                "model": "replay",
                "trace": str(trace),
                "format": "azure",
                "time_scale": opts.scale,
                "max_in_flight": 5000,
            },
            "report": {"raw": True, "formats": ["json"]},
            "seed": 1,
        }
        truth = folder / "truth.jsonl"
        began = time.monotonic()
        result = run_loop(
            lambda: asyncio.wait_for(
                loadgen.run(profile_from_dict(data), out=folder / "out", truth=truth), 3600
            )
        )
        wall = time.monotonic() - began
        report(result, offsets, opts.scale, folder, truth, wall, trace)


def report(result, offsets, scale, folder: Path, truth: Path, wall: float, trace: Path) -> None:
    served = {r["id"]: r for r in map(json.loads, truth.read_text().splitlines())}
    with (folder / "out" / "requests.csv").open() as f:
        raw = sorted(csv.DictReader(f), key=lambda r: float(r["t0"]))
    with trace.open() as f:
        rows = list(csv.DictReader(f))
    start = float(raw[0]["t0"])
    late, lag, lengths_ok, calm, split = [], [], 0, [], []
    for row, offset, src in zip(raw, offsets, rows, strict=False):
        scheduled = start + (offset - offsets[0]) * scale
        seen = served.get(row["request_id"])
        lag.append(float(row["send"]) - float(row["t0"]))
        if seen is None:
            continue
        late.append(seen["arrival"] - scheduled)
        if late[-1] > 0.002:  # whose: the generator's (late to send) or after the send
            split.append((float(row["send"]) - scheduled, seen["arrival"] - float(row["send"])))
        if int(offset // 60) % 10:  # outside the bursts (the first minute of every ten)
            calm.append(late[-1])
        lengths_ok += seen["prompt_tokens"] == int(src["ContextTokens"]) + TEMPLATE and seen[
            "completion_tokens"
        ] == int(src["GeneratedTokens"])
    late.sort()
    lag.sort()

    def q(xs: list[float], p: float) -> float:
        return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000

    span = (offsets[-1] - offsets[0]) / 3600
    print(f"trace: {len(offsets)} requests over {span:.2f} h, replayed at time_scale {scale:g}")
    print(
        f"run: {result.requests} requests, dropped {result.data['load']['dropped']}, "
        f"{result.doc['run']['duration']:.1f} s (wall with start-up {wall:.1f} s)"
    )
    print(
        f"arrival − scheduled (truth log), ms: min {late[0] * 1000:.2f}  p50 {q(late, 0.5):.2f}"
        f"  p99 {q(late, 0.99):.2f}  p99.9 {q(late, 0.999):.2f}  max {late[-1] * 1000:.2f}"
    )
    within = sum(-0.0015 <= x <= 0.002 for x in late)
    print(f"within [-1.5 ms, +2 ms]: {within} of {len(late)} ({within / len(late):.2%})")
    calm.sort()
    if calm:
        held = sum(-0.0015 <= x <= 0.002 for x in calm)
        print(
            f"outside the bursts: p50 {q(calm, 0.5):.2f}  p99 {q(calm, 0.99):.2f}  max "
            f"{calm[-1] * 1000:.2f} ms; within: {held} of {len(calm)} ({held / len(calm):.2%})"
        )
    print(
        f"generator schedule lag (send − t0), ms: p50 {q(lag, 0.5):.2f}  p99 {q(lag, 0.99):.2f}"
        f"  max {lag[-1] * 1000:.2f}"
    )
    print(f"lengths as the trace says: {lengths_ok} of {len(late)}")
    cpu = sorted(iv["cpu"] for iv in result.data["intervals"])
    print(
        f"generator CPU a second (share of a core): p50 {cpu[len(cpu) // 2]:.2f}, max {cpu[-1]:.2f}"
    )
    if split:
        sent_late = sum(before > 0.001 for before, _ in split)
        print(
            f"of the {len(split)} later than 2 ms: {sent_late} were sent more than 1 ms late "
            f"(the generator); send → arrival in the target p50 "
            f"{sorted(a for _, a in split)[len(split) // 2] * 1000:.2f} ms"
        )


if __name__ == "__main__":
    main()
