"""Faults the built-in target injects: broken streams, stalls, error storms, malformed chunks.

One healthy class and one faulty class share each run (the fault is forced per request with
``x-loadgen-fault``); see faults_support.assert_isolated for what every test pins down.
"""

from __future__ import annotations

import pytest
from faults_support import assert_isolated, pair_profile, run_timed


def faulty(kind: str) -> dict:
    return {"chat": {"headers": {"x-loadgen-fault": kind}}}


HEALTHY = {"chat": {"headers": {"x-loadgen-fault": "none"}}}


@pytest.mark.parametrize(
    ("fault", "kinds"),
    [
        pytest.param("drop_mid_stream", {"stream_broken"}, id="connection dropped mid-answer"),
        pytest.param("malformed_chunk", {"protocol"}, id="a JSON chunk cut in half"),
        pytest.param("http_500", {"http_5xx"}, id="a storm of 500s"),
        pytest.param("http_503", {"http_5xx"}, id="a storm of 503s"),
        pytest.param("http_429", {"http_429"}, id="a storm of 429s"),
    ],
)
def test_fault_is_counted_as_its_kind_and_leaves_the_healthy_class_clean(builtin, fault, kinds):
    """Every request of the faulty class fails with exactly the fault's kind; the run ends on
    time; the healthy class has no error and its usual latency."""
    data = pair_profile(builtin.url, faulty=faulty(fault), healthy=HEALTHY)
    result, elapsed = run_timed(data)
    scope = assert_isolated(result, elapsed, kinds=kinds)
    assert scope["ok"] == 0
    if fault == "http_429":
        # Retry-After: 1s is honoured, so the storm is not a busy loop: ~1 request a second.
        assert scope["requests"] <= 4
    elif fault.startswith("http_"):
        assert scope["requests"] >= 20  # think 20 ms: failures are fast and keep coming


def test_a_stall_longer_than_the_timeout_is_a_timeout_and_the_run_ends_on_time(builtin):
    """The target stalls 4 s mid-answer; target.timeout is 800 ms, so the request is cut at
    0.8 s as ``timeout``, never waited out, and the stalled VU goes on to the next one."""
    data = pair_profile(builtin.url, faulty=faulty("stall"), healthy=HEALTHY, timeout="800ms")
    result, elapsed = run_timed(data)
    scope = assert_isolated(result, elapsed, kinds={"timeout"})
    assert 2 <= scope["requests"] <= 3  # 2 s of 0.8 s timeouts (+ one cut by graceful_stop)
    assert result.data["errors"][0]["example"] == "read timeout"
