"""Clock discipline: durations come from the monotonic clock; wall time only labels the run.

NTP steps, a VM resumed from suspend or an operator setting the date move ``time.time()``.
A latency computed from it would come out negative or hours long; loadgen's never do.
"""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

from faults_support import pair_profile, run_timed

import loadgen

# Modules that stamp, compute or aggregate durations: they may read only the monotonic clock.
MEASURING = (
    "edge.fasthttp",
    "edge.fastconn",
    "edge.deadlines",
    "edge.exchange",
    "core.readers",
    "core.sse",
    "core.sample",
    "core.stats",
    "engine.vu",
    "engine.requesters",
    "engine.clock",
    "engine.crowd",
    "engine.intervals",
    "engine.drivers.closed",
    "engine.drivers.open",
    "engine.drivers.breakpoint",
    "edge.wschat",
    "edge.transport",
    "core.hist",
    "core.health",
    "core.phases",
    "core.arrivals",
    "core.shapes",
    "engine.writer",
)


def test_a_wall_clock_jump_mid_run_gives_no_negative_or_absurd_latency(builtin, monkeypatch):
    """``time.time`` jumps back an hour at 0.6 s and forward two hours at 1.2 s (injected):
    every latency stays between 0 and a second, the intervals stay one second long, and the
    run's duration is the monotonic one."""
    offset = [0.0]
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + offset[0])

    def jump(seconds: float) -> None:
        offset[0] += seconds

    timers = [threading.Timer(0.6, jump, (-3600.0,)), threading.Timer(1.2, jump, (7200.0,))]
    for t in timers:
        t.start()
    healthy = {"chat": {"headers": {"x-loadgen-fault": "none"}}}
    result, _ = run_timed(pair_profile(builtin.url, faulty=healthy, healthy=healthy))
    for t in timers:
        t.join()
    assert offset[0] == 3600.0  # both jumps happened during the run
    run = result.data["run"]
    assert run["internal_errors"] == []
    assert 2.0 <= run["duration"] <= 3.5
    assert abs(run["ended"] - result.data["started"] - run["duration"]) < 1e-6
    for name in ("ttfb", "ttft", "itl", "e2e"):
        m = result.metrics[name]
        assert m.count > 0
        assert 0 <= m.min <= m.max < 1000, (name, m)
    starts = [i["t"] for i in result.intervals]
    assert starts == sorted(starts)
    assert all(0 < i["length"] <= 1.2 for i in result.intervals)
    assert result.data["schedule_lag"]["max"] < 1000


def test_measuring_modules_never_read_the_wall_clock():
    """No ``time.time()``/``datetime.now()`` in the modules that stamp or compute durations."""
    package = Path(loadgen.__file__).parent
    offenders = []
    for module in MEASURING:
        tree = ast.parse((package / (module.replace(".", "/") + ".py")).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("time", "now", "utcnow"):
                base = node.value
                if isinstance(base, ast.Name) and base.id in ("time", "datetime", "dt"):
                    offenders.append(f"{module}.py:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module == "time":
                offenders += [f"{module}.py:{node.lineno}" for a in node.names if a.name == "time"]
    assert offenders == []
