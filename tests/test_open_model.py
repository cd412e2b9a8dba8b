"""The open model against the built-in target: arrivals on schedule, whatever the server does."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
from support import chat_profile, run_async

import loadgen
from loadgen import profile_from_dict

FAST = {"timing": {"ttft": "10ms", "itl": "2ms", "output_tokens": 4}, "capacity": {"slots": 0}}


def open_profile(rate: str, duration: str, builtin: dict, **load: object) -> dict:
    data = chat_profile(builtin=builtin)
    data["load"] = {
        "model": "open",
        "rate": rate,
        "duration": duration,
        "graceful_stop": "5s",
        **load,
    }
    return data


def test_constant_rate_issues_n_seconds_times_rate_requests():
    """40/s for 3 s sends 120 requests (within 1 %), none dropped."""
    result = run_async(loadgen.run(profile_from_dict(open_profile("40/s", "3s", FAST))))
    assert result.requests == pytest.approx(120, rel=0.01)
    assert result.data["load"] == {"model": "open", "dropped": 0}
    assert result.errors == {}


def test_poisson_arrivals_reach_the_server_exponentially_spaced(tmp_path: Path):
    """The server's arrival times (truth log) of a Poisson run pass a KS test for Exp(rate)."""
    truth = tmp_path / "truth.jsonl"
    data = open_profile("100/s", "5s", FAST, arrival="poisson")
    result = run_async(loadgen.run(profile_from_dict(data), truth=truth))
    arrivals = sorted(json.loads(line)["arrival"] for line in truth.read_text().splitlines())
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    n = len(gaps)
    assert result.requests == pytest.approx(500, rel=0.15)
    ks = max(
        max((i + 1) / n - (1 - math.exp(-100 * g)), (1 - math.exp(-100 * g)) - i / n)
        for i, g in enumerate(sorted(gaps))
    )
    assert ks < 1.95 / math.sqrt(n)  # 0.1 % critical value: jitter on a shared machine


def test_a_stall_grows_e2e_instead_of_slowing_the_arrivals():
    """Every answer stalls 1 s mid-stream: e2e shows the second, and arrivals keep coming."""
    builtin = {**FAST, "faults": {"stall": {"rate": 1.0, "duration": "1s"}}}
    result = run_async(loadgen.run(profile_from_dict(open_profile("20/s", "2s", builtin))))
    assert result.requests == pytest.approx(40, abs=1)  # the schedule, not the server, decides
    assert result.metrics["e2e"].p50 >= 1000
    assert result.metrics["itl"].max >= 1000  # the stall is one long gap


def test_arrivals_beyond_max_in_flight_are_dropped_and_counted():
    """Slow answers and max_in_flight 5: the rest of the arrivals are dropped, not delayed."""
    builtin = {
        "timing": {"ttft": "500ms", "itl": "1ms", "output_tokens": 2},
        "capacity": {"slots": 0},
    }
    data = open_profile("50/s", "2s", builtin, max_in_flight=5)
    result = run_async(loadgen.run(profile_from_dict(data)))
    dropped = result.data["load"]["dropped"]
    assert result.requests + dropped == pytest.approx(100, abs=1)
    assert dropped >= 70
    assert sum(i["dropped"] for i in result.intervals) == dropped
    assert result.metrics["ttft"].p50 == pytest.approx(500, abs=30)


def test_queued_arrivals_wait_and_their_latency_includes_the_wait():
    """With queue: true nothing is dropped; ttft counts from the scheduled arrival."""
    builtin = {
        "timing": {"ttft": "200ms", "itl": "1ms", "output_tokens": 2},
        "capacity": {"slots": 0},
    }
    data = open_profile("20/s", "1s", builtin, max_in_flight=2, queue=True)
    data["load"]["graceful_stop"] = "10s"
    result = run_async(loadgen.run(profile_from_dict(data)))
    assert result.data["load"]["dropped"] == 0
    assert result.requests == 20
    # 2 at a time, ~205 ms each: the last (due at 0.95 s) waits ~0.9 s for a slot; that wait
    # is in its ttft, measured from the scheduled arrival, not from when a slot freed up.
    assert 900 <= result.metrics["ttft"].max <= 1400
    assert result.metrics["ttft"].min == pytest.approx(200, abs=30)


def test_each_interval_counts_the_arrivals_sent_in_it_not_those_completed():
    """Answers stall 1 s: the first second sends 20 arrivals and completes none; what the
    arrival chart draws is the sent count, on schedule, not the completions a second later."""
    from loadgen.report.series import time_series

    builtin = {**FAST, "faults": {"stall": {"rate": 1.0, "duration": "1s"}}}
    result = run_async(loadgen.run(profile_from_dict(open_profile("20/s", "2s", builtin))))
    first = result.intervals[0]
    assert first["sent"] == pytest.approx(20, abs=1)
    assert first["requests"] == 0
    assert sum(i["sent"] for i in result.intervals) == result.requests
    drawn = time_series(result.intervals)
    assert drawn.values["sent"][0] == pytest.approx(20, abs=1)
