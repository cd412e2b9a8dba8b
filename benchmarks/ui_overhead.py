"""What the live page costs the generator: its CPU with and without ``--ui`` at N streams.

Runs ``loadgen run`` against the built-in target twice per round, the same profile (N users
each holding a streamed answer open: TTFT 500 ms, 64 tokens 20 ms apart, no think time),
once plain and once with ``--ui 0`` and a page connected for the whole run (a WebSocket
client in this process, reading every push as a browser would). The generator's own CPU is
what its result records per interval (``cpu``: ``time.process_time`` of the loadgen process
only; the built-in target runs in a process of its own), averaged over the steady seconds.
Prints both and the difference as a share of the plain run's CPU (issue 23 goal: < 3 % at
1,000 streams).

Run it alone on an idle machine; figures from a shared or busy machine mean little:

    python benchmarks/ui_overhead.py [--users 1000] [--duration 40s] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import websockets


def profile(users: int, duration: str) -> dict[str, Any]:
    return {
        "name": "ui-overhead",
        "target": {
            "base_url": "builtin",
            "timeout": "60s",
            "builtin": {
                "timing": {
                    "ttft": {"constant": "500ms"},
                    "itl": {"constant": "20ms"},
                    "output_tokens": {"constant": 64},
                },
                "capacity": {"slots": 0},
            },
        },
        "users": [{"tasks": [{"chat": {"category": "simple"}}]}],
        "load": {
            "stages": [{"duration": "5s", "users": users}, {"duration": duration, "users": users}],
            "graceful_stop": "5s",
        },
        "report": {"formats": ["json"]},
    }


async def _page(url: str, proc: subprocess.Popen[bytes]) -> int:
    """Read every push, as the page would, until the run ends; how many were read."""
    html = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())
    token = json.loads(
        re.search(rb'id="lg-config">(.*?)</script>', html).group(1)  # type: ignore[union-attr]
    )["token"]
    ws = url.replace("http://", "ws://") + "ws?token=" + token
    read = 0
    async with websockets.connect(ws, origin=url.rstrip("/"), max_size=None) as conn:  # type: ignore[arg-type]
        while proc.poll() is None:
            try:
                await asyncio.wait_for(conn.recv(), 1.0)
                read += 1
            except TimeoutError:
                continue
            except websockets.ConnectionClosed:
                break
    return read


def one_run(work: Path, name: str, users: int, duration: str, ui: bool) -> tuple[float, int]:
    """(mean CPU of the generator over the steady seconds, in cores; pushes the page read)."""
    spec = work / "profile.json"
    spec.write_text(json.dumps(profile(users, duration)))
    out = work / name
    err = work / f"{name}.err"
    cmd = [sys.executable, "-m", "loadgen", "run", str(spec), "--out", str(out), "--quiet"]
    with err.open("wb") as stream:
        proc = subprocess.Popen([*cmd, *(["--ui", "0"] if ui else [])], stderr=stream)
    read = 0
    if ui:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"live page: (\S+)", err.read_text())):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(err.read_text())
            time.sleep(0.1)
        read = asyncio.run(_page(found.group(1), proc))
    proc.wait()
    data = json.loads((out / "result.json").read_text())
    steady = [iv["cpu"] for iv in data["intervals"] if iv["t"] >= 7.0 and iv["users"] == users]
    return statistics.fmean(steady), read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--duration", default="40s")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    plain, live = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):  # interleaved, so drift in the machine hits both alike
            cpu, _ = one_run(Path(tmp), f"plain{r}", args.users, args.duration, ui=False)
            plain.append(cpu)
            cpu, read = one_run(Path(tmp), f"ui{r}", args.users, args.duration, ui=True)
            live.append(cpu)
            print(
                f"round {r + 1}: plain {plain[-1]:.3f} cores, --ui {cpu:.3f} cores "
                f"({read} pushes read)"
            )
    a, b = statistics.median(plain), statistics.median(live)
    print(f"{args.users} streams: generator CPU plain {a:.3f} cores, with --ui and a page {b:.3f}")
    share = 100 * (b - a) / a
    print(f"the live page costs {share:+.1f} % of the generator's CPU (median of {args.rounds})")


if __name__ == "__main__":
    main()
