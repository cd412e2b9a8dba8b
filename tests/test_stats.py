"""Statistics: samples with known times give exactly the metrics SPEC §1 defines."""

import pytest

from loadgen.core.errors import ErrorKind
from loadgen.core.hist import Histogram
from loadgen.core.sample import Sample
from loadgen.core.stats import Recorder, Scope


def chat(
    t0, *, ttft, gaps, usage=None, name="chat.simple", cls="regular", send_lag=0.0, error=None
):
    """A streamed answer starting at t0 whose first token came ttft later, then gaps."""
    times = [t0 + ttft]
    for g in gaps:
        times.append(times[-1] + g)
    return Sample(
        name=name,
        user_class=cls,
        t0=t0,
        send=t0 + send_lag,
        category="simple",
        first_byte=t0 + ttft / 2,
        token_times=times,
        end=times[-1] + 0.001,
        status=200,
        usage_tokens=usage,
        error=error,
    )


def test_ttft_itl_tpot_e2e_follow_their_definitions():
    """ttft from t0; one itl sample per gap; tpot = (e2e - ttft) / (tokens - 1)."""
    rec = Recorder(start=100.0)
    rec.add(chat(100.0, ttft=0.200, gaps=[0.020] * 9))
    m = rec.overall.to_dict(duration=1.0)["metrics"]
    assert m["ttft"]["count"] == 1
    assert m["ttft"]["p50"] == pytest.approx(200.0, rel=1e-3)
    assert m["itl"]["count"] == 9
    assert m["itl"]["p50"] == pytest.approx(20.0, rel=1e-3)
    e2e = 0.200 + 9 * 0.020 + 0.001
    assert m["e2e"]["p50"] == pytest.approx(e2e * 1000, rel=1e-3)
    assert m["tpot"]["p50"] == pytest.approx((e2e - 0.2) / 9 * 1000, rel=1e-3)
    assert m["ttfb"]["p50"] == pytest.approx(100.0, rel=1e-3)


def test_output_tokens_prefer_usage_and_record_the_disagreement():
    """Server usage wins over event counts; the difference is kept, the source named."""
    rec = Recorder(start=0.0)
    rec.add(chat(0.0, ttft=0.1, gaps=[0.01] * 4, usage=7))  # 5 events, usage says 7
    rec.add(chat(1.0, ttft=0.1, gaps=[0.01] * 4))  # 5 events, no usage
    d = rec.overall.to_dict(duration=2.0)
    assert d["output_tokens"] == 12
    assert d["token_source"] == {"usage": 1, "events": 1}
    assert d["usage_vs_events"] == {
        "usage_tokens": 7,
        "content_events": 5,
        "difference": 2,
        "rejected": 0,
    }


def test_streams_without_done_are_counted_per_scope_by_how_they_ended():
    """Answers accepted without data: [DONE] are counted by how they ended, in every scope
    and through a merge; a failed request is not counted there."""
    rec = Recorder(start=0.0)
    for i, (ended, cls) in enumerate([("finish_reason", "a"), ("clean", "b"), ("", "a")]):
        s = chat(float(i), ttft=0.1, gaps=[0.01], cls=cls)
        s.without_done = ended
        rec.add(s)
    broken = chat(3.0, ttft=0.1, gaps=[], error=ErrorKind.STREAM_BROKEN)
    broken.without_done = "clean"
    rec.add(broken)
    assert rec.overall.to_dict(duration=1.0)["without_done"] == {"clean": 1, "finish_reason": 1}
    assert rec.by_class["a"].to_dict(duration=1.0)["without_done"] == {"finish_reason": 1}
    merged = Scope()
    merged.merge(rec.overall)
    merged.merge(rec.overall)
    assert merged.to_dict(duration=1.0)["without_done"] == {"clean": 2, "finish_reason": 2}


def test_errors_are_counted_by_kind_and_keep_no_latency():
    """A failed request counts in requests and errors, not in the latency histograms."""
    rec = Recorder(start=0.0)
    rec.add(chat(0.0, ttft=0.1, gaps=[]))
    bad = chat(0.0, ttft=0.1, gaps=[], error=ErrorKind.HTTP_5XX)
    bad.message = "HTTP 500"
    rec.add(bad)
    d = rec.overall.to_dict(duration=1.0)
    assert (d["requests"], d["ok"], d["errors"]) == (2, 1, 1)
    assert d["errors_by_kind"] == {"http_5xx": 1}
    assert d["metrics"]["e2e"]["count"] == 1
    assert rec.errors_table()[0] == {
        "kind": "http_5xx",
        "name": "chat.simple",
        "status": 200,
        "count": 1,
        "example": "HTTP 500",
    }


def test_interrupted_requests_are_not_errors():
    """Requests cancelled at the end are counted apart."""
    rec = Recorder(start=0.0)
    s = chat(0.0, ttft=0.1, gaps=[])
    s.interrupted = True
    rec.add(s)
    d = rec.overall.to_dict(duration=1.0)
    assert (d["requests"], d["errors"], d["interrupted"]) == (0, 0, 1)


def test_scopes_by_name_class_and_category():
    """Every sample lands in overall, its name, its class and its category."""
    rec = Recorder(start=0.0)
    rec.add(chat(0.0, ttft=0.1, gaps=[], name="a", cls="x"))
    rec.add(chat(0.0, ttft=0.3, gaps=[], name="b", cls="x"))
    assert set(rec.by_name) == {"a", "b"}
    assert rec.by_class["x"].requests == 2
    assert rec.by_category["simple"].requests == 2
    assert rec.by_name["b"].to_dict(1.0)["metrics"]["ttft"]["p50"] == pytest.approx(300, rel=1e-3)


def test_intervals_hold_what_finished_in_them_and_histograms_decode():
    """close_interval returns that second's counts and a decodable ttft histogram."""
    rec = Recorder(start=0.0)
    rec.add(chat(0.0, ttft=0.25, gaps=[0.01]))
    first = rec.close_interval(1.0, users=3)
    second = rec.close_interval(2.0, users=3)
    assert (first["t"], first["requests"], first["users"]) == (0.0, 1, 3)
    assert second["requests"] == 0
    h = Histogram.decode(first["ttft"]["hdr"])
    assert h.count == 1
    assert h.percentiles_ms((50.0,))[50.0] == pytest.approx(250, rel=1e-3)


def test_schedule_lag_is_send_minus_intended_start():
    """A request sent 30 ms after its intended start records 30 ms of schedule lag."""
    rec = Recorder(start=0.0)
    rec.add(chat(0.0, ttft=0.1, gaps=[], send_lag=0.030))
    assert rec.schedule_lag.percentiles_ms((50.0,))[50.0] == pytest.approx(30, rel=1e-3)


def test_batched_recording_equals_one_histogram_record_per_request():
    """Scopes record in batches; whatever the batch boundaries, every value lands exactly:
    1,000 requests (several batches and a partial one) give the histograms of recording
    each request's values one by one, in the run's scope and in the interval's."""
    samples = [
        chat(i * 0.01, ttft=0.05 + (i % 97) * 0.003, gaps=[0.001 * (i % 5)] * 3, send_lag=0.0)
        for i in range(1_000)
    ]
    samples[10] = chat(0.1, ttft=0.2, gaps=[0.01], error=ErrorKind.HTTP_5XX)
    rec = Recorder(start=0.0)
    for s in samples:
        rec.add(s)
    interval = rec.close_interval(10.0, users=1)
    ttft, e2e, sched = Histogram(), Histogram(), Histogram()
    for s in samples:
        sched.record_us(round(s.schedule_lag * 1e6))
        if s.error is None:
            ttft.record_us(round(s.ttft * 1e6))
            e2e.record_us(round(s.e2e * 1e6))
    m = rec.overall.to_dict(duration=10.0)["metrics"]
    assert m["ttft"]["count"] == 999
    assert m["ttft"] == {**ttft.summary(), "hdr": ttft.encode()}
    assert m["e2e"]["hdr"] == e2e.encode()
    assert m["itl"]["count"] == 999 * 3
    assert interval["ttft"]["count"] == 999
    assert interval["ttft"]["p99"] == pytest.approx(ttft.percentiles_ms((99.0,))[99.0])
    assert rec.schedule_lag.encode() == sched.encode()  # all 0 µs: clamped to the lowest


@pytest.mark.parametrize(("budget", "settles"), [(0.0, 1), (3600.0, 256)])
def test_the_batch_adapts_to_what_a_flush_costs_and_stays_exact(monkeypatch, budget, settles):
    """A flush over budget halves the batch (long answers: short pauses), a cheap one doubles
    it up to 256; the values land exactly whatever the batch was."""
    from loadgen.core import measure
    from loadgen.core import scope as scope_module

    monkeypatch.setattr(scope_module, "FLUSH_BUDGET", budget)
    samples = [chat(i * 0.01, ttft=0.05 + (i % 7) * 0.01, gaps=[0.02] * 31) for i in range(600)]
    scope = Scope()
    rec = Recorder(start=0.0)
    for s in samples:
        scope.add(s, measure.measure(rec._plan, s))
    assert scope._batch == settles
    ttft = Histogram()
    for s in samples:
        ttft.record_us(round(s.ttft * 1e6))
    assert scope.hists["ttft"].encode() == ttft.encode()
    assert scope.hists["itl"].count == 600 * 31


def test_a_taken_interval_keeps_what_ended_before_it_whatever_ends_while_it_is_described():
    """take_interval swaps the interval out at once; requests recorded while ``describe``
    yields (the event loop runs between its steps) belong to the next interval, and the
    reused scopes carry nothing over: every request in exactly one record."""
    rec = Recorder(start=0.0)
    for i in range(300):  # more than a batch: rows pending and recorded
        rec.add(chat(i * 0.003, ttft=0.05, gaps=[0.01] * 3, send_lag=0.001))
    rec.count("ws_drops", 2)
    rec.add_dropped()
    taken = rec.take_interval(1.0, users=4)
    steps = rec.describe(taken)
    next(steps)
    for i in range(7):  # while the record is being made
        rec.add(chat(1.0 + i * 0.01, ttft=0.4, gaps=[0.02], send_lag=0.002))
        next(steps)
    for _ in steps:
        pass
    first = taken.record
    assert (first["requests"], first["users"], first["dropped"]) == (300, 4, 1)
    assert first["counters"] == {"ws_drops": 2}
    assert first["ttft"]["count"] == 300
    assert first["ttft"]["max"] == pytest.approx(50, rel=1e-3)
    assert Histogram.decode(first["itl"]["hdr"]).count == 900
    assert first["schedule_lag"]["count"] == 300
    second = rec.close_interval(2.0, users=4)
    assert (second["t"], second["requests"], second["dropped"]) == (1.0, 7, 0)
    assert second["counters"] == {}
    assert second["ttft"]["count"] == 7
    assert second["ttft"]["p50"] == pytest.approx(400, rel=1e-3)
    assert Histogram.decode(second["itl"]["hdr"]).count == 7
    assert second["schedule_lag"]["count"] == 7
    third = rec.close_interval(3.0, users=4)  # the first's scopes, reused and zeroed
    assert third["requests"] == 0
    assert third["ttft"] == {"count": 0}
