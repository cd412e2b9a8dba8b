"""What the live Prometheus export costs the generator (issue 22: < 2 % of its CPU at 1,000
streams, exporting at 1 s). Prints two figures; nothing is asserted:

1. interval: the exporter's work per one-second interval — collecting the series from a
   recorder that holds a run's worth of requests over 8 request names and 2 user classes,
   plus the text exposition and the remote write body (classic, then native histograms) —
   as milliseconds and as a share of one CPU-second (the interval). Between two exports the
   recorder takes one second's requests at 1,000 streams (880, untimed), as in a run: every
   scope changes every second, so nothing is read from a cache that a run would not have;
2. run: the same 1,000-stream run against the built-in target (ttft 500 ms, 32 tokens 20 ms
   apart), without and with ``--metrics-port`` scraped every second and ``--out
   prometheus=URL`` to a sink here that answers 204; the generator's CPU seconds each time
   and the difference.

The machine must be quiet (no other tests or benchmarks): the figure is a small difference
of two large numbers. Run each part a few times and read the spread:

    python benchmarks/promexport.py [interval|run [SECONDS [USERS]]]
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from loadgen.core import promseries, promwire
from loadgen.core.sample import Sample
from loadgen.core.stats import Recorder
from loadgen.target import BuiltinTarget, TargetConfig

TASKSET = shutil.which("taskset")
NAMES = [f"chat.{i}" for i in range(8)]


def _sample(rng: random.Random, t0: float) -> Sample:
    ttft = rng.lognormvariate(-0.7, 0.3)
    times = [t0 + ttft]
    for _ in range(31):
        times.append(times[-1] + rng.expovariate(50))
    return Sample(
        name=rng.choice(NAMES),
        user_class=rng.choice(("regular", "admin")),
        t0=t0,
        send=t0,
        category="simple",
        first_byte=t0 + ttft,
        token_times=times,
        end=times[-1] + 0.001,
        status=200,
        usage_tokens=32,
    )


PER_SECOND = 880  # requests per second of 1,000 streams at ttft 500 ms + 31 gaps of 20 ms


def interval(requests: int = 60_000, repeat: int = 20) -> None:
    for names, classes in ((NAMES, ("regular", "admin")), (NAMES[:1], ("regular",))):
        print(
            f"== interval: one export over {requests} recorded requests of {len(names)} request "
            f"name(s) and {len(classes)} user class(es), {PER_SECOND} new requests between "
            f"exports, median of {repeat}"
        )
        for native in (False, True):
            _interval(requests, repeat, names, classes, native)


def _collector(native: bool) -> Any:
    """The run's way of collecting (a Collector kept from interval to interval); a tree from
    before the Collector (for before/after figures) collects from scratch each time."""
    if hasattr(promseries, "Collector"):
        return promseries.Collector(native=native).collect
    return promseries.collect


def _interval(
    requests: int, repeat: int, names: list[str], classes: tuple[str, ...], native: bool
) -> None:
    if native and not hasattr(promseries, "Collector"):
        return  # a tree without native histograms
    rng = random.Random(1)
    recorder = Recorder(start=0.0)

    def add(count: int, start: int) -> None:
        for i in range(start, start + count):
            sample = _sample(rng, i / 1000)
            sample.name, sample.user_class = rng.choice(names), rng.choice(classes)
            recorder.add(sample)

    add(requests, 0)
    base = (("profile", "bench"), ("run_id", "bench"), ("segment", "1/1"))
    spent: dict[str, list[float]] = {"collect": [], "text": [], "remote write": []}
    # as a run keeps them: the series made on the first push, the collector's last reads
    encoder = promwire.RemoteWrite(native=True) if native else promwire.RemoteWrite()
    collect = _collector(native)
    collect(recorder, base, {})
    for k in range(repeat):
        add(PER_SECOND, requests + k * PER_SECOND)
        recorder.leaves  # noqa: B018 -- a run's progress line has flushed the pending rows
        for leaf in recorder.leaves.values():
            leaf.hists  # noqa: B018
        t = time.process_time()
        families = collect(recorder, base, {"users": 1000, "in_flight": 1000})
        t1 = time.process_time()
        promwire.exposition(families)
        t2 = time.process_time()
        encoder.body(families, int(time.time() * 1000))
        t3 = time.process_time()
        for key, took in (("collect", t1 - t), ("text", t2 - t1), ("remote write", t3 - t2)):
            spent[key].append(took)
    series = sum(len(f.series) for f in families)
    medians = {k: statistics.median(v) for k, v in spent.items()}
    total = sum(medians.values())
    parts = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in medians.items())
    print(
        f"  {'native' if native else 'classic'}: {series} series: {parts}; "
        f"{total * 1000:.1f} ms = {total * 100:.2f} % of a CPU-second"
    )


class _Sink(BaseHTTPRequestHandler):
    # Keep-alive, as Prometheus's receiver: under HTTP/1.0 each push opened a new connection,
    # a cost of the sink, not of the export.
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape_every_second(url: str, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=1).read()


def _steady_cpu(result: dict, users: int) -> float:
    """The generator's mean CPU (cores) over the seconds with every user running, from the
    interval records (``time.process_time`` of the loadgen process): start-up costs such as
    importing protobuf and httpx are not in it."""
    steady = [iv["cpu"] for iv in result["intervals"] if iv["t"] >= 10.0 and iv["users"] == users]
    return statistics.fmean(steady) if steady else float("nan")


def _loadgen(
    url: str, out: Path, seconds: int, users: int, extra: list[str]
) -> tuple[float, int, float]:
    argv = [sys.executable, "-m", "loadgen", "benchmarks/rate.yaml", "--users", str(users)]
    argv += ["--duration", f"{seconds}s", "--out", str(out), "--quiet", *extra]
    if TASKSET:
        argv = [TASKSET, "-c", "0", *argv]
    before = os.times()
    subprocess.run(argv, env={**os.environ, "CHATBOT_URL": url}, check=False, timeout=600)
    after = os.times()
    cpu = after.children_user + after.children_system - before.children_user
    cpu -= before.children_system
    result = json.loads((out / "result.json").read_text())
    return cpu, int(result["scopes"]["overall"]["requests"]), _steady_cpu(result, users)


def run(seconds: int = 30, users: int = 1000) -> None:
    print(f"== run: {users} streams for {seconds} s, without and with the export")
    config = TargetConfig.from_mapping(
        {"timing": {"ttft": "500ms", "itl": "20ms", "output_tokens": 32}, "capacity": {"slots": 0}}
    )
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    write_url = f"http://127.0.0.1:{sink.server_address[1]}/api/v1/write"
    with (
        tempfile.TemporaryDirectory() as tmp,
        BuiltinTarget(config, cpu=1 if TASKSET else None) as target,
    ):
        plain, plain_requests, plain_steady = _loadgen(
            target.url, Path(tmp) / "plain", seconds, users, []
        )
        port = _free_port()
        stop = threading.Event()
        scraper = threading.Thread(
            target=_scrape_every_second, args=(f"http://127.0.0.1:{port}/metrics", stop)
        )
        scraper.start()
        extra = ["--metrics-port", str(port), "--out", f"prometheus={write_url}"]
        try:
            exported, requests, steady = _loadgen(
                target.url, Path(tmp) / "exported", seconds, users, extra
            )
        finally:
            stop.set()
            scraper.join()
    sink.shutdown()
    per_plain, per_exported = plain / plain_requests, exported / requests
    print(
        f"  without: {plain:.2f} CPU-s for {plain_requests} requests; with: {exported:.2f} "
        f"CPU-s for {requests}; per request {100 * (per_exported / per_plain - 1):+.2f} % "
        "(whole processes: start-up and imports included)"
    )
    print(
        f"  steady seconds (every user running, from the interval records): {plain_steady:.3f} "
        f"cores without, {steady:.3f} with: {100 * (steady / plain_steady - 1):+.2f} %"
    )


if __name__ == "__main__":
    which = sys.argv[1:2] or ["interval", "run"]
    if "interval" in which:
        interval()
    if "run" in which:  # `run SECONDS USERS` to try the script itself on a small scale
        run(*(int(a) for a in sys.argv[2:4]))
