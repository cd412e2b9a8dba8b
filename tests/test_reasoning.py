"""Reasoning models and tool calls (issue #20 item 6): reasoning counts for TTFT, the first
*output* (answer text or a tool call) ends TTFO, tool-call-only answers have tokens, and the
server's reasoning token count is kept — from the parser through the reader to the sample."""

from __future__ import annotations

import json

import pytest

from loadgen.core.chat import parse_openai_chunk, parse_openai_completion
from loadgen.core.readers import OpenAIReader
from loadgen.core.sample import Sample


def event(delta: dict, **extra: object) -> bytes:
    chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": None}], **extra}
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


def usage(completion: int, reasoning: int) -> bytes:
    body = {
        "choices": [],
        "usage": {
            "prompt_tokens": 7,
            "completion_tokens": completion,
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        },
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def tool_delta(name: str | None, arguments: str) -> dict:
    function = {"arguments": arguments} if name is None else {"name": name, "arguments": arguments}
    return {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": function}]}


def test_a_tool_call_delta_is_output_and_says_so():
    chunk = parse_openai_chunk(json.dumps({"choices": [{"delta": tool_delta("get", '{"ci')}]}))
    assert (chunk.content, chunk.tool, chunk.reasoning) == ('get{"ci', True, False)
    empty = parse_openai_chunk(json.dumps({"choices": [{"delta": tool_delta(None, "")}]}))
    assert (empty.content, empty.tool) == ("", False)  # an empty fragment is no token


def test_a_non_streamed_tool_call_answer_has_content():
    body = {"choices": [{"message": {"content": None, **tool_delta("get", "{}")}}]}
    assert parse_openai_completion(json.dumps(body)).content == "get{}"


def test_reasoning_tokens_come_from_the_usage_details():
    data = usage(40, 25).decode()[len("data: ") :].strip()
    chunk = parse_openai_chunk(data)
    assert (chunk.completion_tokens, chunk.reasoning_tokens) == (40, 25)


@pytest.mark.parametrize("one_read", [False, True])
def test_the_reader_marks_which_events_were_reasoning(one_read):
    """Three reasoning events, then two answer tokens, then usage; fed event by event (each
    read stamped with its own time) or as one read (the bulk path must step aside)."""
    reads = [
        event({"role": "assistant", "content": ""}),
        event({"reasoning_content": "Let"}),
        event({"content": "", "reasoning": " me"}),
        event({"content": None, "reasoning_content": " think"}),
        event({"content": "Hi"}),
        event({"content": "!"}),
        usage(5, 3),
        b"data: [DONE]\n\n",
    ]
    reader = OpenAIReader()
    if one_read:
        reader.feed(b"".join(reads), 1.0)
    else:
        for n, read in enumerate(reads):
            reader.feed(read, 1.0 + n / 10)
    reader.close(2.0)
    assert len(reader.token_times) == 5
    assert reader.reasoning_at == [0, 1, 2]
    assert (reader.usage_tokens, reader.reasoning_tokens) == (5, 3)
    if not one_read:
        assert reader.token_times == pytest.approx([1.1, 1.2, 1.3, 1.4, 1.5])


def test_a_tool_call_only_stream_has_tokens_even_in_one_read():
    reads = [
        event({"role": "assistant", "content": None}),
        event(tool_delta("lookup", "")),
        event(tool_delta(None, '{"q":')),
        event(tool_delta(None, '"x"}')),
        b"data: [DONE]\n\n",
    ]
    for chunks in (reads, [b"".join(reads)]):
        reader = OpenAIReader()
        for read in chunks:
            reader.feed(read, 1.0)
        reader.close(1.0)
        assert len(reader.token_times) == 3
        assert reader.reasoning_at == []


def sample(times: list[float], thinking: list[int]) -> Sample:
    s = Sample("chat", "u", t0=0.0, send=0.0, token_times=times, end=times[-1] if times else 1.0)
    s.reasoning_at = thinking
    return s


def test_ttfo_is_the_first_output_event_and_reasoning_time_the_thinking():
    s = sample([0.2, 0.3, 0.4, 0.9, 1.0], [0, 1, 2])
    assert s.ttft == pytest.approx(0.2)
    assert s.ttfo == pytest.approx(0.9)
    assert s.reasoning_time == pytest.approx(0.7)


def test_without_reasoning_ttfo_is_ttft_and_there_is_no_reasoning_time():
    s = sample([0.2, 0.3], [])
    assert s.ttfo == s.ttft == pytest.approx(0.2)
    assert s.reasoning_time is None


def test_only_reasoning_came_no_ttfo_and_the_thinking_lasted_to_its_last_event():
    s = sample([0.2, 0.5, 0.6], [0, 1, 2])
    assert s.ttfo is None
    assert s.reasoning_time == pytest.approx(0.4)


def test_reasoning_after_an_early_answer_token_keeps_ttfo_at_that_token():
    """An answer token, then thinking, then more answer: TTFO is the first token, and the
    thinking lasted from its first event to the answer after it."""
    s = sample([0.2, 0.3, 0.5, 0.8], [1, 2])
    assert s.ttfo == pytest.approx(0.2)
    assert s.reasoning_time == pytest.approx(0.5)


def test_interleaved_thinking_ends_at_the_first_output_after_it_starts():
    s = sample([0.1, 0.2, 0.4, 0.6], [0, 2])
    assert s.ttfo == pytest.approx(0.2)
    assert s.reasoning_time == pytest.approx(0.1)


def test_a_reported_zero_reasoning_tokens_is_not_recorded_as_one():
    """Servers that report ``reasoning_tokens: 0`` for every answer (the Responses API
    always has the field) must not show "reasoning p50 1": a count histogram starts at 1."""
    from loadgen.core.stats import Recorder

    rec = Recorder(0.0)
    for i, thinking in enumerate((0, 0, 0, 7)):
        rec.add(
            Sample(
                name="chat",
                user_class="u",
                t0=i,
                send=i,
                token_times=[i + 0.1, i + 0.2],
                end=i + 0.3,
                status=200,
                usage_tokens=2,
                reasoning_tokens=thinking,
            )
        )
    counted = rec.overall.to_dict(duration=4.0)["metrics"]["reasoning_tokens"]
    assert counted["count"] == 1
    assert counted["max"] == counted["min"] == 7
