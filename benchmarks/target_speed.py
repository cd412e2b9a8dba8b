"""Speed of the built-in target (issue #2, item 8), measured with a C client.

Part 1: the target pinned to CPU 1 (``taskset -c 1``), wrk pinned to CPU 0, 100 keep-alive
connections, 10 s of streamed ``POST /v1/chat/completions`` at 32 tokens per answer and
zero delays. Prints requests/s and the ratio to the 30,000 goal.

Part 2: 10,000 concurrent slow streams (one token every 500 ms) opened by a bounded raw
asyncio client; prints how many the server held open at once and the target's RSS.

Run from the repository root with nothing else busy:  python benchmarks/target_speed.py
Needs wrk (Debian: apt-get install wrk) and taskset. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from loadgen.target import BuiltinTarget, TargetConfig

GOAL = 30_000
HERE = Path(__file__).resolve().parent
LUA = HERE / "chat_stream.lua"
REQUEST = (
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%b"
)
BODY = json.dumps({"stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _count_content_events(url: str) -> int:
    request = urllib.request.Request(
        url + "/v1/chat/completions", data=BODY, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return text.count('"delta":{"content":')


def part1(duration: int, connections: int) -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    config = TargetConfig.from_mapping(
        {"timing": {"ttft": 0, "itl": 0, "output_tokens": 32}, "capacity": {"slots": 0}}
    )
    with BuiltinTarget(config, cpu=1) as target:
        assert target.pid is not None
        tokens = _count_content_events(target.url)
        cmd = [
            "taskset",
            "-c",
            "0",
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(LUA),
            target.url,
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30).stdout
        rss = _rss_mb(target.pid)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    print(f"part 1: wrk -t1 -c{connections} -d{duration}s, 32-token streamed answers, zero delay")
    print(f"  content events per answer: {tokens}")
    for line in out.splitlines():
        if re.match(r"\s+(Latency\s|50%|99%)", line):
            print("  " + line.strip())
    print(f"  requests/s: {rps:,.0f}  ({rps / GOAL:.2f}x the {GOAL:,} goal)")
    print(
        f"  non-2xx: {errors.group(1) if errors else 0}; socket errors: "
        f"{socket_errors.group(1) if socket_errors else 'none'}; target RSS {rss:.0f} MB"
    )


class _Stream(asyncio.Protocol):
    """Sends one streamed request and waits for the final chunk."""

    def __init__(self, done: asyncio.Future[bool]) -> None:
        self.done = done
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(REQUEST % (len(BODY), BODY))  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.tail = (self.tail + data)[-16:]
        if self.tail.endswith(b"0\r\n\r\n") and not self.done.done():
            self.done.set_result(True)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(False)


async def _open_streams(url: str, count: int, deadline: float) -> tuple[int, int, int, float]:
    loop = asyncio.get_running_loop()
    host, port = url.removeprefix("http://").split(":")
    transports, futures = [], []
    failed = 0
    started = time.monotonic()
    for batch in range(0, count, 500):
        attempts = []
        for _ in range(min(500, count - batch)):
            done: asyncio.Future[bool] = loop.create_future()
            futures.append(done)
            attempts.append(loop.create_connection(lambda d=done: _Stream(d), host, int(port)))
        for result in await asyncio.gather(*attempts, return_exceptions=True):
            if isinstance(result, BaseException):
                failed += 1
            else:
                transports.append(result[0])
    opened = time.monotonic() - started
    peak = 0
    while time.monotonic() < deadline and not all(f.done() for f in futures):
        peak = max(peak, await asyncio.to_thread(_active_streams, url))
        await asyncio.sleep(0.5)
    completed = sum(1 for f in futures if f.done() and f.result())
    for transport in transports:
        transport.close()
    return peak, completed, failed, opened


def _active_streams(url: str) -> int:
    with urllib.request.urlopen(url + "/health/detailed", timeout=10) as response:
        return int(json.loads(response.read())["active_streams"])


def part2(count: int, timeout: float) -> None:
    with contextlib.suppress(ValueError, OSError):
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {0})
    config = TargetConfig.from_mapping(
        {"timing": {"ttft": 0, "itl": "500ms", "output_tokens": 20}, "capacity": {"slots": 0}}
    )
    with tempfile.TemporaryDirectory() as tmp:
        truth = Path(tmp) / "truth.jsonl"
        with BuiltinTarget(config, cpu=1, truth=truth) as target:
            assert target.pid is not None
            rss_before = _rss_mb(target.pid)
            peak, completed, failed, opened = asyncio.run(
                _open_streams(target.url, count, time.monotonic() + timeout)
            )
            rss = _rss_mb(target.pid)
        late = sorted(_lateness(truth, 0.5))
    print(f"part 2: {count:,} concurrent streams of 20 tokens, one every 500 ms (9.5 s each)")
    print(f"  connections opened in {opened:.1f} s; failed to connect: {failed}")
    print(f"  peak streams open at the server at once: {peak:,}")
    print(f"  streams completed: {completed:,}")
    print(f"  target RSS: {rss_before:.0f} MB idle, {rss:.0f} MB after the streams")
    if late:

        def pct(q: float) -> float:
            return late[min(len(late) - 1, int(q * len(late)))] * 1000

        print(
            f"  token lateness vs schedule over {len(late):,} tokens (truth log): "
            f"p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, max {late[-1] * 1000:.1f} ms"
        )


def _lateness(truth: Path, itl: float) -> list[float]:
    """Each token's write time minus its due time (slot grant + k·itl), from the truth log."""
    out = []
    for line in truth.read_text().splitlines():
        record = json.loads(line)
        start = record["arrival"] + record["queue_wait"]
        out += [t - (start + k * itl) for k, t in enumerate(record["tokens"])]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="wrk seconds (default 10)")
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--part", choices=["1", "2", "all"], default="all")
    args = parser.parse_args()
    print(
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; python {sys.version.split()[0]}; "
        f"cpus: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}"
    )
    if args.part in ("1", "all"):
        part1(args.duration, args.connections)
    if args.part in ("2", "all"):
        part2(args.streams, timeout=60)


if __name__ == "__main__":
    main()
