"""Cancelled requests and connection phases in the ``Sample`` and the recorder (pure): what
each property yields, which histograms a cancelled request feeds, and its own counts per
scope and per second, kept apart from requests, errors and interruptions."""

from __future__ import annotations

import pytest

from loadgen.core.sample import Sample
from loadgen.core.stats import Recorder


def answered(t0: float = 10.0, **phases: object) -> Sample:
    return Sample(
        "chat",
        "u",
        t0,
        t0 + 0.001,
        first_byte=t0 + 0.05,
        token_times=[t0 + 0.06, t0 + 0.07],
        end=t0 + 0.08,
        **phases,  # type: ignore[arg-type]
    )


def cancelled(t0: float = 10.0, events: int = 3) -> Sample:
    return Sample(
        "chat",
        "u",
        t0,
        t0 + 0.001,
        first_byte=t0 + 0.05,
        token_times=[t0 + 0.06] * events,
        end=t0 + 0.2,
        cancelled=True,
    )


def test_phases_follow_their_stamps():
    """send = written − write start; wait = first byte − written; connect and tls as
    measured (0 on a reused connection); none without the stamps."""
    s = answered(connect=0.003, tls=0.004, write_start=10.01, written=10.0105, reused=False)
    assert s.connect_time == 0.003
    assert s.tls_time == 0.004
    assert s.send_time == pytest.approx(0.0005)
    assert s.wait_time == pytest.approx(0.0395)
    bare = answered()
    assert (bare.connect_time, bare.tls_time, bare.send_time, bare.wait_time) == (None,) * 4


def test_a_cancelled_request_is_its_own_outcome():
    """Not ok, not an error, not interrupted; time to cancel from t0; content events received
    (none: no value, the count histogram starts at 1); an answered request has neither."""
    c = cancelled()
    assert not c.ok
    assert c.error is None
    assert not c.interrupted
    assert c.time_to_cancel == pytest.approx(0.2)
    assert c.cancel_tokens == 3
    assert cancelled(events=0).cancel_tokens is None
    assert (answered().time_to_cancel, answered().cancel_tokens) == (None, None)


def test_the_recorder_keeps_cancelled_requests_apart():
    """Two answers, two cancelled, one interrupted: requests 2 (ok 2), cancelled 2 per scope
    and in the second's record; ttft and e2e hold the answers only, ttfb and connect every
    request that got that far, time_to_cancel and cancel_tokens the cancelled ones."""
    rec = Recorder(10.0)
    rec.add(answered(connect=0.002, reused=False))
    rec.add(answered(connect=0.0, reused=True))
    rec.add(cancelled(events=4))
    rec.add(cancelled(events=0))
    rec.add(Sample("chat", "u", 10.0, 10.001, interrupted=True))
    record = rec.close_interval(11.0, 1)
    assert (record["requests"], record["ok"], record["cancelled"]) == (2, 2, 2)
    assert record["interrupted"] == 1
    assert record["connect"]["count"] == 2
    result = rec.to_result(1.0)
    overall = result["scopes"]["overall"]
    assert (overall["requests"], overall["ok"], overall["errors"]) == (2, 2, 0)
    assert (overall["cancelled"], overall["interrupted"]) == (2, 1)
    assert result["scopes"]["by_name"]["chat"]["cancelled"] == 2
    m = overall["metrics"]
    assert (m["ttft"]["count"], m["e2e"]["count"], m["ttfb"]["count"]) == (2, 2, 4)
    assert m["time_to_cancel"]["count"] == 2
    assert m["time_to_cancel"]["max"] == pytest.approx(200.0, rel=1e-3)
    assert (m["cancel_tokens"]["count"], m["cancel_tokens"]["max"]) == (1, 4)
    assert m["connect"]["count"] == 2
