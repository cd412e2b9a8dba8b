"""A 1 GB JSONL dataset costs its index, not its size (issue #20.4: generator RSS < 150 MiB).

Writes a ~1 GB JSONL file of ~1 KB rows into a temporary folder (deleted after), opens it,
draws 100,000 entries in shuffle mode and prints the index build time, the index's size
and the process's peak RSS (VmHWM). With ``--run SECONDS`` it then runs the generator itself,
``loadgen run --dataset FILE``, against a built-in target in this process, and prints the
generator process's peak RSS: the issue's goal is about a run, not only the reader. Not part
of the test suite: it writes a gigabyte.

    python benchmarks/dataset_memory.py [--mb 1024] [--draws 100000] [--run 20 --users 20]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loadgen.core.datasets import Dataset

GOAL_MIB = 150


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_jsonl(path: Path, megabytes: int) -> None:
    """~1 KB rows in 8 MB writes, so the generator itself stays small."""
    rng = random.Random(0)
    words = [
        "".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(2, 9)))
        for _ in range(500)
    ]
    limit, written = megabytes << 20, 0
    with path.open("w", encoding="utf-8") as out:
        while written < limit:
            block = []
            for _ in range(8000):
                prompt = " ".join(rng.choices(words, k=160))
                block.append(json.dumps({"prompt": prompt, "max_tokens": rng.randint(16, 512)}))
            text = "\n".join(block) + "\n"
            out.write(text)
            written += len(text)


def generator_run(path: Path, seconds: int, users: int, out: Path) -> float:
    """Peak RSS (MiB) of a ``loadgen run --dataset`` process against a built-in target that
    runs in this process's child, so only the generator is measured."""
    from loadgen.target import BuiltinTarget, TargetConfig

    config = TargetConfig.from_mapping({"timing": {"ttft": "5ms", "itl": "1ms"}})
    with BuiltinTarget(config) as target:
        cmd = [sys.executable, "-m", "loadgen", "run", "--url", target.url, "--dataset"]
        cmd += [str(path), "--users", str(users), "--duration", f"{seconds}s", "--quiet"]
        cmd += ["--out", str(out)]
        proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        peak_kib = 0
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:  # VmHWM of the generator itself, not its children
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak_kib = max(peak_kib, int(line.split()[1]))
            except OSError:
                break
            time.sleep(0.2)
        proc.wait(timeout=seconds + 120)
    result = json.loads((out / "result.json").read_text())["scopes"]["overall"]
    print(
        f"run: {result['requests']:,} requests, {result['errors']} errors, exit {proc.returncode}"
    )
    return peak_kib / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="file size in MiB (1024)")
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--run", type=int, default=0, help="also run loadgen for N seconds")
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()
    run_peak = 0.0
    with tempfile.TemporaryDirectory(prefix="loadgen-dataset-") as folder:
        path = Path(folder) / "prompts.jsonl"
        began = time.perf_counter()
        # In a child process, so the peak RSS below is the dataset's alone.
        writer = multiprocessing.get_context("spawn").Process(
            target=write_jsonl, args=(path, args.mb)
        )
        writer.start()
        writer.join()
        size = path.stat().st_size
        print(f"wrote {size / 2**20:,.0f} MiB in {time.perf_counter() - began:.1f} s")
        rss_before = peak_rss_mib()
        with Dataset(path) as data:
            print(
                f"index: {len(data):,} entries in {data.index_seconds:.2f} s, "
                f"{data.index_bytes / 2**20:.1f} MiB ({data.index_bytes / len(data):.1f} B/entry)"
            )
            draws = data.draws("shuffle", seed=1)
            began = time.perf_counter()
            chars = sum(len(next(draws).turns[0]) for _ in range(args.draws))
            spent = time.perf_counter() - began
            print(
                f"draws: {args.draws:,} in {spent:.2f} s ({spent / args.draws * 1e6:.1f} µs each, "
                f"{chars / args.draws:,.0f} chars a prompt)"
            )
        peak = peak_rss_mib()
        print(f"peak RSS (VmHWM): {peak:.1f} MiB (before opening: {rss_before:.1f} MiB)")
        if args.run:
            run_peak = generator_run(path, args.run, args.users, Path(folder) / "run")
            print(f"generator peak RSS over the run: {run_peak:.1f} MiB")
    worst = max(peak, run_peak)
    print(f"goal < {GOAL_MIB} MiB: {'met' if worst < GOAL_MIB else 'MISSED'}")
    return 0 if worst < GOAL_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
