"""Generator speed and accuracy on this machine: loadgen against the built-in target.

Target pinned to CPU 1, loadgen to CPU 0 (taskset), so each side has one core. Prints:

1. rate: streamed chat requests/s per client CPU-second at 1, 100 and 1,000 concurrent users,
   32 tokens per answer, zero server delay (issue #9 goal: >= 10,000 at 100);
2. open streams: 10,000 long-lived streams in one process, and the generator's RSS per stream
   (goal: all open at once, <= 50 KiB each);
3. accuracy: at 10, 100 and 1,000 streams with ttft 500 ms, 20 ms between 32 tokens, the
   difference between loadgen's ttft and the target's own (truth log), request by request
   (goal at 1,000: <= 1 ms p50, <= 3 ms p99).

Run it alone on an idle machine: `python benchmarks/generator_speed.py [rate|streams|accuracy]`.
Every run is bounded (seconds, not minutes) and talks to 127.0.0.1 only.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loadgen.target import BuiltinTarget, TargetConfig

HERE = Path(__file__).resolve().parent
TASKSET = shutil.which("taskset")


def loadgen(args: list[str], env: dict[str, str]) -> tuple[dict, float, float]:
    """Run loadgen pinned to CPU 0; return its result, wall seconds and CPU seconds."""
    cmd = [sys.executable, "-m", "loadgen", *args, "--quiet"]
    if TASKSET:
        cmd = [TASKSET, "-c", "0", *cmd]
    before = os.times()
    started = time.monotonic()
    subprocess.run(cmd, env={**os.environ, **env}, check=False, timeout=300)
    wall = time.monotonic() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    out = Path(args[args.index("--out") + 1])
    return json.loads((out / "result.json").read_text()), wall, cpu


def target(truth: Path | None = None, **timing: object) -> BuiltinTarget:
    config = TargetConfig.from_mapping({"timing": timing, "capacity": {"slots": 0}})
    return BuiltinTarget(config, truth=truth, cpu=1 if TASKSET else None)


def rate() -> None:
    print("== rate: 32 tokens per answer, zero server delay, 10 s per run")
    with tempfile.TemporaryDirectory() as tmp, target(ttft="0s", itl="0s", output_tokens=32) as t:
        for users in (1, 100, 1000):
            out = Path(tmp) / f"rate-{users}"
            result, wall, cpu = loadgen(
                [
                    "benchmarks/rate.yaml",
                    "--users",
                    str(users),
                    "--duration",
                    "10s",
                    "--out",
                    str(out),
                ],
                {"CHATBOT_URL": t.url},
            )
            overall = result["scopes"]["overall"]
            duration = result["run"]["duration"]
            per_cpu = overall["requests"] / cpu if cpu else 0.0
            print(
                f"  {users:>5} users: {overall['requests'] / duration:8.0f} req/s wall, "
                f"{per_cpu:8.0f} req per client CPU-second "
                f"({cpu:.1f} CPU-s in {wall:.1f} s), errors {overall['errors']}, "
                f"ratio to 10,000 goal {per_cpu / 10_000:.2f}; health limited: "
                f"{result['health']['limited']}"
            )


def streams(count: int = 10_000) -> None:
    print(f"== open streams: {count} users, answers of 20 tokens 1 s apart")
    with tempfile.TemporaryDirectory() as tmp, target(ttft="0s", itl="1s", output_tokens=20) as t:
        out = Path(tmp) / "streams"
        cmd = [
            sys.executable,
            "-m",
            "loadgen",
            "benchmarks/rate.yaml",
            "--users",
            str(count),
            "--duration",
            "25s",
            "--out",
            str(out),
            "--quiet",
            "--set",
            "load.graceful_stop=1s",
        ]
        if TASKSET:
            cmd = [TASKSET, "-c", "0", *cmd]
        proc = subprocess.Popen(cmd, env={**os.environ, "CHATBOT_URL": t.url})
        peak_rss = 0
        start_rss = 0
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            rss = _rss_kib(proc.pid)
            start_rss = start_rss or rss
            peak_rss = max(peak_rss, rss)
            time.sleep(0.5)
        proc.wait(timeout=60)
        result = json.loads((out / "result.json").read_text())
        peak_users = max(i["users"] for i in result["intervals"])
        errors = result["scopes"]["overall"]["errors_by_kind"]
        print(
            f"  peak users in flight {peak_users}, errors {errors or 'none'}, "
            f"generator RSS {start_rss / 1024:.0f} MiB at start, {peak_rss / 1024:.0f} MiB peak, "
            f"{(peak_rss - start_rss) / max(peak_users, 1):.1f} KiB per open stream "
            f"(goal <= 50)"
        )


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    # taskset execs python in place, so the pid is the generator's
    return 0


def accuracy() -> None:
    print("== accuracy: ttft 500 ms, 20 ms between 32 tokens; loadgen ttft minus target ttft")
    for users in (10, 100, 1000):
        with tempfile.TemporaryDirectory() as tmp:
            truth = Path(tmp) / "truth.jsonl"
            out = Path(tmp) / "acc"
            with target(truth=truth, ttft="500ms", itl="20ms", output_tokens=32) as t:
                loadgen(
                    [
                        "benchmarks/rate.yaml",
                        "--users",
                        str(users),
                        "--duration",
                        "15s",
                        "--out",
                        str(out),
                        "--set",
                        "report.raw=true",
                        "--set",
                        "load.ramp_up=5s",
                    ],
                    {"CHATBOT_URL": t.url},
                )
            served = {}  # the truth log is complete once the target has stopped
            for line in truth.read_text().splitlines():
                d = json.loads(line)
                served[d["id"]] = d
            errors = []
            with (out / "requests.csv").open() as f:
                for row in csv.DictReader(f):
                    s = served.get(row["request_id"])
                    if s and row["ttft_ms"] and s["first_token"]:
                        server = (s["first_token"] - s["arrival"]) * 1000
                        errors.append(float(row["ttft_ms"]) - server)
            errors.sort()
            if not errors:
                print(f"  {users:>5} streams: no matched requests")
                continue
            p50 = statistics.median(errors)
            p99 = errors[min(len(errors) - 1, int(len(errors) * 0.99))]
            print(
                f"  {users:>5} streams: {len(errors)} requests matched, ttft error "
                f"p50 {p50:.2f} ms, p99 {p99:.2f} ms (goal at 1,000: <= 1 / <= 3)"
            )


if __name__ == "__main__":
    which = sys.argv[1:] or ["rate", "streams", "accuracy"]
    os.chdir(HERE.parent)
    for name in which:
        {"rate": rate, "streams": streams, "accuracy": accuracy}[name]()
