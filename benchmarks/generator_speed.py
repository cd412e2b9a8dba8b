"""Generator speed and accuracy on this machine: loadgen against the built-in target.

Target pinned to CPU 1, loadgen to CPU 0 (taskset), so each side has one core. Prints:

1. rate: streamed chat requests/s per client CPU-second at 1, 100 and 1,000 concurrent users,
   32 tokens per answer, zero server delay (issue #9 goal: >= 10,000 at 100), and beside it,
   when installed, Locust FastHttpUser (benchmarks/peers/locustfile.py) and a bare aiohttp
   loop (benchmarks/peers/aiohttp_loop.py) on the same target, printed as ratios;
2. open streams: 10,000 long-lived streams in one process, and the generator's RSS per stream
   (goal: all open at once, <= 50 KiB each);
3. accuracy: at 10, 100 and 1,000 streams with ttft 500 ms, 20 ms between 32 tokens, the
   difference between loadgen's ttft and the target's own (truth log), request by request
   (goal at 1,000: <= 1 ms p50, <= 3 ms p99).

4. paced: 1,000 streams that each get a token every 20 ms in its own chunk (issue 24): achieved
   vs planned rate, event-loop lag, reads and CPU per event, TTFT error against the truth log,
   Locust and the aiohttp loop in the same regime; capacity: the most such streams one core
   holds (benchmarks/paced_speed.py). ``paced [STREAMS [SECONDS]]`` sizes the paced run.

Run it alone on an idle machine (``--locust-python`` may come anywhere):
`python benchmarks/generator_speed.py [rate|streams|accuracy|paced|capacity] [--locust-python P]`.
Locust runs from its own environment, never loadgen's (gevent patches the standard library):
``--locust-python PATH`` (or LOADGEN_LOCUST_PYTHON) names its Python; without it
benchmarks/locust_env.sh builds one (once, cached, pinned version) or reuses it;
``--locust-python none`` leaves Locust out.
Every run is bounded (seconds, not minutes) and talks to 127.0.0.1 only.
"""

from __future__ import annotations

import csv
import importlib.util
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
# Every client runs with its bytecode cached, as an installed tool does: some sandboxes set
# PYTHONDONTWRITEBYTECODE, which makes each start compile every module again.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def locust_python(given: str | None = None) -> str | None:
    """The Python of Locust's own environment: ``given`` (``none``: no Locust), else built.

    The choice is kept in LOADGEN_LOCUST_PYTHON, which this script's modules (imported again
    by name, not as ``__main__``) read as well; it may also be set beforehand.
    """
    if given is not None:
        os.environ["LOADGEN_LOCUST_PYTHON"] = given
    chosen = os.environ.get("LOADGEN_LOCUST_PYTHON")
    if not chosen:
        build = subprocess.run(
            ["bash", str(HERE / "locust_env.sh")],
            env={**os.environ, "PYTHON": os.environ.get("PYTHON", sys.executable)},
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        chosen = build.stdout.strip() if build.returncode == 0 else ""
        if not chosen:
            print(f"  Locust's environment could not be built, skipped:\n{build.stderr[-2000:]}")
        os.environ["LOADGEN_LOCUST_PYTHON"] = chosen = chosen or "none"
    return None if chosen == "none" else chosen


def _pinned(cmd: list[str]) -> list[str]:
    return [TASKSET, "-c", "0", *cmd] if TASKSET else cmd


def loadgen(args: list[str], env: dict[str, str]) -> tuple[dict, float, float]:
    """Run loadgen pinned to CPU 0; return its result, wall seconds and CPU seconds."""
    cmd = _pinned([sys.executable, "-m", "loadgen", *args, "--quiet"])
    before = _children_cpu()
    started = time.monotonic()
    subprocess.run(cmd, env={**os.environ, **env}, check=False, timeout=300)
    wall = time.monotonic() - started
    cpu = _children_cpu() - before
    out = Path(args[args.index("--out") + 1])
    return json.loads((out / "result.json").read_text()), wall, cpu


def target(truth: Path | None = None, **timing: object) -> BuiltinTarget:
    config = TargetConfig.from_mapping({"timing": timing, "capacity": {"slots": 0}})
    return BuiltinTarget(config, truth=truth, cpu=1 if TASKSET else None)


def locust_rate(
    url: str, users: int, seconds: int, tmp: Path, mode: str
) -> tuple[int, float] | None:
    """Locust FastHttpUser on the same request: (requests, CPU seconds), or None if absent.

    ``mode``: ``tokens``, ``stream`` or ``body`` (see peers/locustfile.py).
    """
    python = locust_python()
    if python is None:
        return None
    prefix = tmp / f"locust-{mode}-{users}"
    cmd = [python, "-m", "locust", "-f", str(HERE / "peers" / "locustfile.py")]
    cmd += ["--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s"]
    cmd += ["--host", url, "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR"]
    before = _children_cpu()
    env = {**os.environ, "LOADGEN_PEER": mode}
    subprocess.run(_pinned(cmd), check=False, timeout=seconds + 60, capture_output=True, env=env)
    cpu = _children_cpu() - before
    with Path(f"{prefix}_stats.csv").open() as f:
        posts = next(r for r in csv.DictReader(f) if r["Type"] == "POST")
    return int(posts["Request Count"]) - int(posts["Failure Count"]), cpu


def aiohttp_rate(url: str, users: int, seconds: int) -> tuple[int, float] | None:
    """The bare aiohttp + uvloop loop (peers/aiohttp_loop.py): (requests, CPU seconds)."""
    if importlib.util.find_spec("aiohttp") is None:
        return None
    cmd = [sys.executable, str(HERE / "peers" / "aiohttp_loop.py"), url, str(users), str(seconds)]
    before = _children_cpu()
    out = subprocess.run(
        _pinned(cmd), check=False, timeout=seconds + 60, capture_output=True, text=True
    )
    cpu = _children_cpu() - before
    return json.loads(out.stdout)["requests"], cpu


def rate(seconds: int = 10) -> None:
    print(f"== rate: 32 tokens per answer, zero server delay, {seconds} s per run")
    print("   (CPU seconds are the whole client process's: start-up and report included)")
    with tempfile.TemporaryDirectory() as tmp, target(ttft="0s", itl="0s", output_tokens=32) as t:
        for users in (1, 100, 1000):
            out = Path(tmp) / f"rate-{users}"
            args = ["benchmarks/rate.yaml", "--users", str(users), "--duration", f"{seconds}s"]
            result, wall, cpu = loadgen([*args, "--out", str(out)], {"CHATBOT_URL": t.url})
            overall = result["scopes"]["overall"]
            per_cpu = overall["requests"] / cpu if cpu else 0.0
            print(
                f"  {users:>5} streams  loadgen {per_cpu:8.0f} req per client CPU-second "
                f"({overall['requests']} req, {cpu:.1f} CPU-s in {wall:.1f} s, errors "
                f"{overall['errors']}, generator limited: {result['health']['limited']}); "
                f"ratio to the 10,000 goal {per_cpu / 10_000:.2f}"
            )
            for name, peer in (
                (
                    "Locust FastHttpUser, events parsed, TTFT + TPOT",
                    locust_rate(t.url, users, seconds, Path(tmp), "tokens"),
                ),
                (
                    "Locust FastHttpUser, streamed, TTFT only",
                    locust_rate(t.url, users, seconds, Path(tmp), "stream"),
                ),
                (
                    "Locust FastHttpUser, whole body",
                    locust_rate(t.url, users, seconds, Path(tmp), "body"),
                ),
                ("aiohttp bare loop", aiohttp_rate(t.url, users, seconds)),
            ):
                if peer is None:
                    print(f"                 {name}: not installed, skipped")
                    continue
                requests, peer_cpu = peer
                peer_rate = requests / peer_cpu if peer_cpu else 0.0
                ratio = per_cpu / peer_rate if peer_rate else float("inf")
                print(
                    f"                 {name} {peer_rate:8.0f} req per client CPU-second "
                    f"({requests} req, {peer_cpu:.1f} CPU-s); loadgen / it = {ratio:.2f}x"
                )


def _open_streams(url: str, users: int, seconds: int, out: Path) -> tuple[dict, int]:
    """Run ``users`` long-lived streams; return the result and the generator's peak RSS (KiB)."""
    cmd = [sys.executable, "-m", "loadgen", "benchmarks/rate.yaml", "--users", str(users)]
    cmd += ["--duration", f"{seconds}s", "--out", str(out), "--quiet"]
    cmd += ["--set", "load.graceful_stop=1s"]
    proc = subprocess.Popen(_pinned(cmd), env={**os.environ, "CHATBOT_URL": url})
    peak_rss = 0
    deadline = time.monotonic() + seconds + 60
    while proc.poll() is None and time.monotonic() < deadline:
        peak_rss = max(peak_rss, _rss_kib(proc.pid))
        time.sleep(0.5)
    proc.wait(timeout=60)
    return json.loads((out / "result.json").read_text()), peak_rss


def streams(count: int = 10_000) -> None:
    print(f"== open streams: {count} users, answers of 20 tokens 1 s apart")
    with tempfile.TemporaryDirectory() as tmp, target(ttft="0s", itl="1s", output_tokens=20) as t:
        # The same run with one user gives the process's own footprint (interpreter, loadgen,
        # the result), so the difference is what the open streams cost.
        _, base_rss = _open_streams(t.url, 1, 8, Path(tmp) / "one")
        result, peak_rss = _open_streams(t.url, count, 25, Path(tmp) / "streams")
        peak_users = max(i["users"] for i in result["intervals"])
        errors = result["scopes"]["overall"]["errors_by_kind"]
        print(
            f"  peak users in flight {peak_users}, errors {errors or 'none'}, generator peak "
            f"RSS {base_rss / 1024:.0f} MiB with 1 user, {peak_rss / 1024:.0f} MiB with "
            f"{count}: {(peak_rss - base_rss) / max(peak_users, 1):.1f} KiB per open stream "
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


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def _peak_in_flight(served: dict[str, dict]) -> int:
    """The most streams the target had open at once, from its truth log."""
    edges = []
    for d in served.values():
        if d.get("arrival") and d.get("end"):
            edges += [(d["arrival"], 1), (d["end"], -1)]
    edges.sort()
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def accuracy() -> None:
    print("== accuracy: ttft 500 ms, 20 ms between 32 tokens; loadgen ttft minus target ttft")
    print("   (a user's first request also opens its connection, which the server cannot see;")
    print("   the first requests all fall in the 5 s ramp-up, before every stream is in flight)")
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
                        "--set",  # not --duration: it would scale the ramp too
                        "load.duration=15s",
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
            every: list[float] = []
            kept: list[float] = []
            steady: list[float] = []
            with (out / "requests.csv").open() as f:
                rows = list(csv.DictReader(f))
            ramped = min(float(r["t0"]) for r in rows) + 6.0  # 5 s ramp-up, a second's margin
            for row in rows:
                s = served.get(row["request_id"])
                if s and row["ttft_ms"] and s["first_token"]:
                    error = float(row["ttft_ms"]) - (s["first_token"] - s["arrival"]) * 1000
                    every.append(error)
                    if not row["request_id"].endswith("-1"):  # not the user's first
                        kept.append(error)
                    if float(row["t0"]) >= ramped:  # every stream in flight
                        steady.append(error)
            if not every:
                print(f"  {users:>5} streams: no matched requests")
                continue
            print(
                f"  {users:>5} streams (peak {_peak_in_flight(served)} in flight at the target), "
                "ttft error p50 / p99 (goal at 1,000: <= 1 / <= 3 ms):"
            )
            for label, errors in (
                ("after the ramp-up, all streams in flight", steady),
                ("on kept-alive connections", kept),
                ("all requests", every),
            ):
                print(
                    f"        {label}: {len(errors)} req, {statistics.median(errors):.2f} / "
                    f"{_pct(errors, 0.99):.2f} ms"
                )


def _paced(args: list[str]) -> None:
    from paced_speed import paced  # beside this file; it imports this module's helpers

    sizes = [float(a) for a in args]
    paced(int(sizes[0]) if sizes else 1000, sizes[1] if len(sizes) > 1 else 10.0)


def _capacity(args: list[str]) -> None:
    from paced_speed import capacity

    capacity(float(args[0]) if args else 4.0)


if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--locust-python" in argv:
        at = argv.index("--locust-python")
        locust_python(argv[at + 1])
        del argv[at : at + 2]
    which = argv or ["rate", "streams", "accuracy", "paced", "capacity"]
    os.chdir(HERE.parent)
    if which[0] in ("paced", "capacity"):  # sized by the numbers that follow
        {"paced": _paced, "capacity": _capacity}[which[0]](which[1:])
        sys.exit(0)
    for name in which:
        {"rate": rate, "streams": streams, "accuracy": accuracy}[name]()
