"""Streams that go wrong on the wire, served by the raw test server: reset, trickle, bad UTF-8,
unknown events, an overlong line, an endless answer.

Each run has a healthy class on ``/ok`` and a faulty class on the broken route of the same
server (see faults_support.assert_isolated for the promises every test checks).
"""

from __future__ import annotations

import pytest
from faults_support import assert_isolated, pair_profile, run_timed

from loadgen.report.console import summary


def chat(path: str) -> dict:
    return {"chat": {"path": path}}


@pytest.mark.parametrize(
    ("path", "kinds", "example"),
    [
        pytest.param("/reset", {"stream_broken"}, "connection closed mid-stream", id="TCP reset"),
        pytest.param("/bad-utf8", {"protocol"}, "invalid UTF-8", id="bad UTF-8 in data"),
        pytest.param(
            "/long-line", {"protocol"}, "line longer than 1048576 bytes", id="a 2 MB line"
        ),
    ],
)
def test_broken_stream_is_counted_as_its_kind(raw, path, kinds, example):
    """The faulty class fails with exactly the expected kind and a message saying why."""
    result, elapsed = run_timed(pair_profile(raw.url, faulty=chat(path)))
    scope = assert_isolated(result, elapsed, kinds=kinds)
    assert scope["ok"] == 0
    messages = {e["example"] for e in result.data["errors"]}
    assert any(example in m for m in messages), messages


@pytest.mark.parametrize("transport", ["fast", "httpx"])
@pytest.mark.parametrize(
    ("path", "ended", "why"),
    [
        pytest.param(
            "/no-done",
            "finish_reason",
            "finish_reason then a clean end",
            id="finish_reason then a clean end",
        ),
        pytest.param(
            "/no-done-no-finish",
            "clean",
            "a clean end; the server sent no finish_reason either",
            id="content then a clean end",
        ),
    ],
)
def test_a_clean_end_without_done_is_an_answer(raw, path, ended, why, transport):
    """A chunked body that ends cleanly without ``data: [DONE]`` (transformers serve) is a
    success with every token, and the result counts each such stream by how it ended."""
    data = pair_profile(raw.url, faulty=chat(path), transport=transport)
    result, _ = run_timed(data)
    scope = result.scope("name", "chat.fault")
    assert scope["requests"] >= 5
    assert scope["errors"] == 0, result.data["errors"]
    assert scope["content_events"] == 8 * scope["requests"]
    assert scope["without_done"] == {ended: scope["requests"]}
    assert result.scope("name", "chat.ok")["without_done"] == {}
    answers = result.overall["ok"]
    line = f"{scope['requests']} of {answers} streams ended without data: [DONE] (accepted: {why})"
    assert summary(result.data).count("without data: [DONE]") == 1
    assert line in summary(result.data)


@pytest.mark.parametrize("transport", ["fast", "httpx"])
@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/no-terminator", id="whole events, no chunked terminator"),
        pytest.param("/cut-mid-chunk", id="cut inside a chunk"),
        pytest.param("/short-length", id="body short of its Content-Length"),
    ],
)
def test_a_body_cut_at_the_http_level_is_broken(raw, path, transport):
    """A body the connection cut before its HTTP framing ended stays ``stream_broken``, even
    when the events received so far look like a finished answer."""
    data = pair_profile(raw.url, faulty=chat(path), transport=transport)
    result, elapsed = run_timed(data)
    fault = assert_isolated(result, elapsed, kinds={"stream_broken"})
    assert fault["ok"] == 0
    assert fault["without_done"] == {}


def test_a_reset_stream_keeps_its_status_and_first_byte(raw):
    """A stream reset after its headers still counts its 200 and its time to first byte: the
    server did answer, and how fast it did is part of what broke."""
    result, _ = run_timed(pair_profile(raw.url, faulty=chat("/reset")))
    scope = result.scope("name", "chat.fault")
    assert scope["statuses"] == {"200": scope["requests"]}
    assert scope["metrics"]["ttfb"]["count"] == scope["requests"]
    assert scope["metrics"]["ttft"]["count"] == 0  # failed requests never enter TTFT


def test_unknown_events_and_comments_are_skipped_not_errors(raw):
    """Named events OpenAI never sends (``event: ping`` with non-JSON data, a vendor event) and
    comments are passed over: every answer succeeds with all 8 tokens."""
    result, _ = run_timed(pair_profile(raw.url, faulty=chat("/unknown-event")))
    assert result.data["run"]["internal_errors"] == []
    scope = result.scope("name", "chat.fault")
    assert scope["errors"] == 0, result.data["errors"]
    assert scope["requests"] >= 5
    assert scope["content_events"] == 8 * scope["requests"]


def test_a_trickling_answer_is_cut_at_the_timeout(raw):
    """One byte every 20 ms never completes: the request ends at target.timeout (700 ms) as a
    ``timeout``, however many bytes keep arriving."""
    data = pair_profile(raw.url, faulty=chat("/trickle"), timeout="700ms")
    result, elapsed = run_timed(data)
    scope = assert_isolated(result, elapsed, kinds={"timeout"})
    assert 2 <= scope["requests"] <= 4
    assert result.scope("name", "chat.fault")["statuses"] == {"200": scope["requests"]}


def test_an_answer_far_larger_than_expected_stops_at_max_response_size(raw):
    """An endless stream of valid tokens is cut when the body passes target.max_response_size
    (1 MiB here) and counted as ``protocol``; the VU's memory never holds more."""
    data = pair_profile(raw.url, faulty=chat("/huge"), max_response_size="1MiB")
    result, elapsed = run_timed(data)
    # The raw server is a thread of this test process: pumping megabytes it holds the GIL
    # the generator's loop needs, so the healthy VU's ttft tail here measures the harness
    # (p99 325 ms seen once in CI, ~80 ms p50). Errors and timing stay checked as elsewhere.
    assert_isolated(result, elapsed, kinds={"protocol"}, healthy_ttft_ms=1000.0)
    messages = {e["example"] for e in result.data["errors"]}
    assert messages == {"response larger than target.max_response_size (1048576 bytes)"}


def test_max_line_is_configurable(raw):
    """With target.max_line at 4 MiB the 2 MB line is read and the answer succeeds."""
    data = pair_profile(raw.url, faulty=chat("/long-line"), max_line="4MiB")
    result, _ = run_timed(data)
    scope = result.scope("name", "chat.fault")
    assert scope["errors"] == 0, result.data["errors"]
    assert scope["requests"] >= 3


def test_each_vu_keeps_one_connection_across_its_requests(raw):
    """The fast client reuses its keep-alive connection: two VUs, dozens of requests, two
    connections (plus the preflight's). It used to reconnect for every request: llhttp's
    should_keep_alive() was read after the parser had reset, when it is always False."""
    data = pair_profile(raw.url, faulty=chat("/ok"))
    result, _ = run_timed(data)
    assert result.requests >= 20
    assert raw.connections == 1 + 2


def test_an_error_event_is_a_protocol_error_with_its_text():
    """``event: error`` is the server giving up mid-answer: a ChunkError (``protocol``) that
    carries what the server said."""
    from loadgen.core.chat import ChunkError
    from loadgen.core.readers import make_reader

    reader = make_reader("openai", stream=True)
    with pytest.raises(ChunkError, match="error event in stream: overloaded"):
        reader.feed(b"event: error\ndata: overloaded\n\n", 0.0)
