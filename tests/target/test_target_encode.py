"""Pre-encoded answers parse as the documented events (no sockets)."""

from __future__ import annotations

import json

from target_helpers import sse_events

from loadgen.target.encode import ApiChatFormat, Encoded, OpenAIFormat, WsFormat, chunked

ENC = Encoded(seed=1)


def _openai(n: int, usage: bytes | None = b'{"completion_tokens": 5}') -> OpenAIFormat:
    return OpenAIFormat(
        ENC, 10, n, cid=b"chatcmpl-1", created=1, model=b"m", finish=b"stop", usage=usage
    )


def test_openai_whole_equals_its_events() -> None:
    """The one-write body is exactly opening + tokens + closing, event by event."""
    fmt = _openai(5)
    joined = b"".join(fmt.opening() + fmt.tokens(0, 5) + fmt.closing())
    assert fmt.whole() == joined == b"".join(fmt.events())


def test_openai_events_shape() -> None:
    """Role chunk, one token per chunk, finish chunk, usage chunk, [DONE]."""
    events = sse_events(_openai(5).whole())
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = [c["choices"][0]["delta"]["content"] for c in chunks[1:6]]
    assert content == ENC.words[10:15]
    assert chunks[6]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert chunks[7]["choices"] == []
    assert chunks[7]["usage"] == {"completion_tokens": 5}
    assert {c["id"] for c in chunks} == {"chatcmpl-1"}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)


def test_without_usage_there_is_no_usage_chunk() -> None:
    """include_usage off: finish chunk then [DONE]."""
    events = sse_events(_openai(2, usage=None).whole())
    assert len(events) == 1 + 2 + 1 + 1


def test_vocabulary_is_escaped_ascii_and_line_safe() -> None:
    """Non-ASCII tokens (including U+2028) are JSON-escaped, so every event is ASCII."""
    assert any(not w.isascii() for w in ENC.words)
    assert all(frag.isascii() for frag in ENC.openai + ENC.api + ENC.ws)


def test_malformed_event_is_not_json() -> None:
    """The malformed chunk is an event whose data does not parse."""
    ((_, data),) = sse_events(_openai(2).malformed())
    try:
        json.loads(data)
    except ValueError:
        return
    raise AssertionError("malformed chunk parsed")


def test_api_chat_and_ws_formats() -> None:
    """Chatbot SSE: token events, citation events, done; WS: token messages and end."""
    done = {"conversation_id": "c", "citations": [{"id": "d1"}]}
    events = sse_events(ApiChatFormat(ENC, 0, 3, done, done["citations"]).whole())
    assert [name for name, _ in events] == ["token"] * 3 + ["citation", "done"]
    assert json.loads(events[-1][1]) == done
    ws = WsFormat(ENC, 0, 3, {"type": "end"}).events()
    assert [json.loads(m)["type"] for m in ws] == ["token"] * 3 + ["end"]


def test_long_answers_wrap_the_cycle() -> None:
    """Answers longer than the token cycle still have one fragment per token."""
    assert len(ENC.pick(ENC.api, 4000, 10_000)) == 10_000


def test_chunked_framing() -> None:
    """HTTP/1.1 chunk: hex size, CRLF, data, CRLF."""
    assert chunked(b"hello") == b"5\r\nhello\r\n"
