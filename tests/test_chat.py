"""Tests for loadgen.core.chat: what counts as content, usage and errors, request bodies, paths."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadgen.core.chat import (
    Chunk,
    ChunkError,
    chat_request,
    is_content,
    json_field,
    parse_openai_chunk,
    parse_openai_completion,
)

HEAD = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}


def chunk(choices: Any = None, **more: Any) -> str:
    """A compact OpenAI chunk; ``choices=None`` leaves the key out."""
    body = dict(HEAD, **more)
    if choices is not None:
        body["choices"] = choices
    return json.dumps(body, separators=(",", ":"))


def choice(delta: Any = None, finish: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": finish}
    if delta is not None:
        body["delta"] = delta
    return body


USAGE = {"prompt_tokens": 12, "completion_tokens": 32, "total_tokens": 44}

CHUNKS = [
    pytest.param(
        chunk([choice({"role": "assistant", "content": ""})]),
        Chunk(""),
        id="a role-only first chunk is not content",
    ),
    pytest.param(
        chunk([choice({"role": "assistant"})]), Chunk(""), id="a role without content key either"
    ),
    pytest.param(chunk([choice({"content": "Hi"})]), Chunk("Hi"), id="a token delta is content"),
    pytest.param(chunk([choice({"content": " "})]), Chunk(" "), id="a whitespace token is content"),
    pytest.param(chunk([choice({"content": ""})]), Chunk(""), id="an empty-string delta is not"),
    pytest.param(chunk([choice({"content": None})]), Chunk(""), id="a null content is not"),
    pytest.param(chunk([choice({})]), Chunk(""), id="an empty delta is not"),
    pytest.param(chunk([choice()]), Chunk(""), id="a missing delta is not"),
    pytest.param(chunk([]), Chunk(""), id="empty choices are not"),
    pytest.param(chunk(), Chunk(""), id="missing choices are not"),
    pytest.param(chunk([choice({}, "stop")]), Chunk("", finish_reason="stop"), id="a finish chunk"),
    pytest.param(
        chunk([choice({"content": "."}, "length")]),
        Chunk(".", finish_reason="length"),
        id="a last token may carry the finish reason",
    ),
    pytest.param(
        chunk([], usage=USAGE),
        Chunk("", completion_tokens=32, prompt_tokens=12),
        id="a usage chunk has empty choices and usage",
    ),
    pytest.param(
        chunk([choice({"content": "a"})], usage=None),
        Chunk("a"),
        id="a null usage on every chunk is ignored",
    ),
    pytest.param(
        chunk([choice({"content": "a"})], usage={"prompt_tokens": 3, "completion_tokens": 1}),
        Chunk("a", completion_tokens=1, prompt_tokens=3),
        id="continuous usage rides along with content",
    ),
    pytest.param(
        chunk([choice({"reasoning_content": "Let me"})]),
        Chunk("Let me", reasoning=True),
        id="reasoning_content is content flagged as reasoning",
    ),
    pytest.param(
        chunk([choice({"content": None, "reasoning": "Hmm"})]),
        Chunk("Hmm", reasoning=True),
        id="reasoning is content flagged as reasoning",
    ),
    pytest.param(
        chunk([choice({"content": "A", "reasoning_content": "r"})]),
        Chunk("A"),
        id="content wins over reasoning in one delta",
    ),
    pytest.param(
        chunk([choice({"reasoning_content": ""})]), Chunk(""), id="empty reasoning is not content"
    ),
    pytest.param(
        chunk([choice({"reasoning": {"effort": "high"}})]),
        Chunk(""),
        id="a non-string reasoning value is ignored",
    ),
    pytest.param(
        json.dumps({"error": {"message": "overloaded", "code": 503}}),
        Chunk("", error="overloaded"),
        id="an in-stream error object gives its message",
    ),
    pytest.param(
        json.dumps({"error": "boom"}), Chunk("", error="boom"), id="a string error is the message"
    ),
    pytest.param(
        json.dumps({"error": {"code": 1}}),
        Chunk("", error='{"code": 1}'),
        id="an error without message is shown as JSON",
    ),
    pytest.param(
        ' {"choices":[{"delta":{"content":"x"}}]}\n',
        Chunk("x"),
        id="surrounding whitespace is valid JSON",
    ),
    pytest.param(
        '{"choices":[{"delta":{"content":"a\\u2028b"}}]}',
        Chunk("a\u2028b"),
        id="escapes are decoded",
    ),
]


@pytest.mark.parametrize(("data", "expected"), CHUNKS)
def test_parse_openai_chunk(data: str, expected: Chunk) -> None:
    """Each chunk shape is read into the expected content, finish, usage and error."""
    assert parse_openai_chunk(data) == expected


@pytest.mark.parametrize(
    ("parsed", "content"),
    [
        pytest.param(Chunk("x"), True, id="text is content"),
        pytest.param(Chunk("r", reasoning=True), True, id="reasoning text is content"),
        pytest.param(Chunk("", finish_reason="stop"), False, id="a finish chunk is not"),
        pytest.param(Chunk("", completion_tokens=3), False, id="a usage chunk is not"),
    ],
)
def test_is_content(parsed: Chunk, content: bool) -> None:
    """Only chunks with generated text count for TTFT and ITL."""
    assert is_content(parsed) is content


BAD = [
    pytest.param("[DONE]", id="DONE is not JSON"),
    pytest.param("", id="empty data"),
    pytest.param('{"choices":[', id="truncated JSON"),
    pytest.param('{"a":1} {"b":2}', id="two JSON values"),
    pytest.param("[1,2]", id="a list instead of an object"),
    pytest.param('"text"', id="a string instead of an object"),
    pytest.param('{"choices":{"0":{}}}', id="choices as an object"),
    pytest.param('{"choices":[3]}', id="a choice that is not an object"),
    pytest.param('{"choices":[{"delta":"hi"}]}', id="a delta that is not an object"),
    pytest.param('{"choices":[{"delta":{"content":5}}]}', id="numeric content"),
    pytest.param('{"choices":[{"delta":{"content":["a"]}}]}', id="content parts list"),
    pytest.param('{"choices":[{"delta":{},"finish_reason":1}]}', id="a numeric finish reason"),
    pytest.param('{"choices":[],"usage":[]}', id="usage that is not an object"),
    pytest.param('{"choices":[],"usage":{"completion_tokens":"3"}}', id="a string token count"),
    pytest.param('{"choices":[],"usage":{"completion_tokens":1.5}}', id="a fractional count"),
    pytest.param("[" * 100_000, id="nesting deep enough to overflow the parser"),
]


@pytest.mark.parametrize("data", BAD)
def test_bad_chunks_raise_chunk_error(data: str) -> None:
    """Invalid JSON or a wrong shape raises ChunkError (a ValueError), nothing else."""
    with pytest.raises(ChunkError):
        parse_openai_chunk(data)


_KEYS = st.sampled_from(
    [
        "choices",
        "delta",
        "content",
        "reasoning",
        "finish_reason",
        "usage",
        "completion_tokens",
        "error",
        "message",
    ]
)
# JSON documents built from the keys the reader looks at, so wrong shapes are common.
_DOCS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
).map(json.dumps)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40) | _DOCS)
def test_any_text_gives_a_chunk_or_chunk_error(data: str) -> None:
    """Any input returns a Chunk or raises ChunkError, never another exception."""
    try:
        result = parse_openai_chunk(data)
    except ChunkError:
        return
    assert isinstance(result.content, str)


COMPLETIONS = [
    pytest.param(
        {
            "choices": [
                {"message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}
            ],
            "usage": USAGE,
        },
        Chunk("Hi!", "stop", 32, 12),
        id="a completion with usage",
    ),
    pytest.param(
        {
            "choices": [
                {"message": {"content": None, "tool_calls": []}, "finish_reason": "tool_calls"}
            ]
        },
        Chunk("", "tool_calls"),
        id="a null content is empty",
    ),
    pytest.param(
        {"choices": [{"message": {"content": "", "reasoning_content": "think"}}]},
        Chunk("think", reasoning=True),
        id="reasoning-only output is flagged",
    ),
    pytest.param({"choices": []}, Chunk(""), id="no choices"),
    pytest.param({"error": {"message": "bad key"}}, Chunk("", error="bad key"), id="an error body"),
]


@pytest.mark.parametrize(("body", "expected"), COMPLETIONS)
def test_parse_openai_completion(body: dict[str, Any], expected: Chunk) -> None:
    """A non-streamed response reads like one chunk, from bytes or str."""
    text = json.dumps(body)
    assert parse_openai_completion(text) == expected
    assert parse_openai_completion(text.encode()) == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>502</html>", id="an HTML error page"),
        pytest.param(b'{"choices":"x"}', id="choices as a string"),
        pytest.param(b'{"choices":[{"message":"x"}]}', id="a message that is not an object"),
        pytest.param(b'{"choices":[{"message":{"content":"\xff"}}]}', id="invalid UTF-8"),
    ],
)
def test_bad_completion_raises_chunk_error(body: bytes) -> None:
    """A body that is not a chat completion raises ChunkError."""
    with pytest.raises(ChunkError):
        parse_openai_completion(body)


REQUESTS = [
    pytest.param(
        {"stream": True},
        {
            "model": "m",
            "messages": [{"role": "user", "content": "hé"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        id="streaming asks for usage by default",
    ),
    pytest.param(
        {"stream": True, "include_usage": False},
        {"model": "m", "messages": [{"role": "user", "content": "hé"}], "stream": True},
        id="streaming without usage has no stream_options",
    ),
    pytest.param(
        {"stream": False},
        {"model": "m", "messages": [{"role": "user", "content": "hé"}], "stream": False},
        id="non-streaming never has stream_options",
    ),
    pytest.param(
        {"stream": True, "max_tokens": 64, "extra": {"temperature": 0, "stream_options": {}}},
        {
            "model": "m",
            "messages": [{"role": "user", "content": "hé"}],
            "stream": True,
            "max_tokens": 64,
            "stream_options": {},
            "temperature": 0,
        },
        id="max_tokens is added and extra keys override",
    ),
]


@pytest.mark.parametrize(("kwargs", "expected"), REQUESTS)
def test_chat_request(kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    """The request body has exactly the expected keys, as compact UTF-8 JSON."""
    body = chat_request(model="m", messages=[{"role": "user", "content": "hé"}], **kwargs)
    assert json.loads(body) == expected
    assert b", " not in body
    assert "hé".encode() in body


DOC = json.dumps(
    {
        "choices": [{"delta": {"content": "tok"}, "finish_reason": None}],
        "usage": {"completion_tokens": 0},
        "flags": [True, False],
        "text": "plain",
    }
)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param("choices.0.delta.content", "tok", id="a path through a list index"),
        pytest.param("choices.-1.delta.content", "tok", id="a negative index counts from the end"),
        pytest.param("usage.completion_tokens", 0, id="a falsy value is returned as is"),
        pytest.param("flags.1", False, id="a false list item is returned as is"),
        pytest.param("choices.0.finish_reason", None, id="a null is None"),
        pytest.param("choices.1.delta", None, id="an index past the end is absent"),
        pytest.param("choices.x", None, id="a non-numeric index on a list is absent"),
        pytest.param("text.0", None, id="indexing a string is absent"),
        pytest.param("missing.deeper", None, id="a missing key is absent"),
        pytest.param("", json.loads(DOC), id="an empty path is the whole document"),
    ],
)
def test_json_field(path: str, value: Any) -> None:
    """Dotted paths resolve through objects and lists; anything absent is None."""
    assert json_field(DOC, path) == value
    assert json_field(DOC.encode(), path) == value


def test_json_field_raises_on_invalid_json() -> None:
    """A message that is not JSON raises ChunkError, so the engine counts a protocol error."""
    with pytest.raises(ChunkError):
        json_field("not json", "a")
