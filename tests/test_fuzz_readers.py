"""Fuzzing the stream readers (SSE decoder + OpenAI/SSE/JSON chunk parsing) with any bytes.

test_sse.py pins the SSE decoder itself; here the whole reader a VU feeds is checked: any
bytes in any chunking raise nothing but ``ValueError`` (which the transport counts as
``protocol``, or ``stream_broken`` for an early end), and a valid answer gives the same tokens
and usage however the network splits it.
"""

from __future__ import annotations

import contextlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from loadgen.core.readers import OpenAIReader, make_reader

FUZZ = settings(max_examples=300, deadline=None)
APIS = st.sampled_from(
    [("openai", True), ("sse", True), ("text", True), ("openai", False), ("json", True)]
)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in [*points, len(data)]:
        out.append(data[prev:p])
        prev = p
    return out


def read(api: str, stream: bool, chunks: list[bytes]):
    reader = make_reader(api, stream=stream, max_line=256, max_body=4096)
    for i, chunk in enumerate(chunks):
        reader.feed(chunk, float(i))
    reader.close(float(len(chunks)))
    return reader


SSE_PIECES = st.sampled_from(
    [
        b"data: ",
        b"data:",
        b"event: ",
        b"event: error",
        b"event: done",
        b"\n",
        b"\r\n",
        b"\r",
        b": c",
        b"id: 1",
        b"retry: 5",
        b"[DONE]",
        b'{"choices":[{"delta":{"content":"a"}}]}',
        b'{"content": "x"}',
        b'{"usage":{"completion_tokens":3}}',
        b"\xff",
        b"\xc3",
        b"\xef\xbb\xbf",
        b"{",
        b'"',
        b"null",
        b"x" * 300,
    ]
)


@FUZZ
@given(
    APIS,
    st.binary(max_size=300) | st.lists(SSE_PIECES, max_size=30).map(b"".join),
    st.lists(st.integers(0, 400), max_size=8),
)
def test_any_bytes_give_a_result_or_a_value_error(api, body, cuts):
    """Every reader, any body, any chunking: no exception but ``ValueError`` subclasses."""
    with contextlib.suppress(ValueError):
        read(*api, split(body, cuts))


def openai_stream(tokens: list[str], usage: bool) -> bytes:
    events = [{"choices": [{"delta": {"role": "assistant", "content": ""}}]}]
    events += [{"choices": [{"delta": {"content": t}}]} for t in tokens]
    if usage:
        events.append({"choices": [], "usage": {"completion_tokens": len(tokens)}})
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return body + b"data: [DONE]\n\n"


@FUZZ
@given(
    st.lists(st.text(min_size=1, max_size=5), max_size=12),
    st.booleans(),
    st.lists(st.integers(0, 2000), max_size=10),
)
def test_a_valid_answer_reads_the_same_under_any_chunking(tokens, usage, cuts):
    """Token count, text and usage do not depend on where the reads split the stream
    (U+2028 and other non-ASCII tokens included: the only line ends are CR and LF)."""
    body = openai_stream(tokens, usage)
    whole = make_reader("openai", stream=True, keep_text=True)
    whole.feed(body, 0.0)
    whole.close(0.0)
    parts = make_reader("openai", stream=True, keep_text=True)
    for chunk in split(body, cuts):
        parts.feed(chunk, 0.0)
    parts.close(0.0)
    assert len(parts.token_times) == len(whole.token_times) == len(tokens)
    assert parts.text == whole.text == "".join(tokens)
    assert parts.usage_tokens == whole.usage_tokens == (len(tokens) if usage else None)


# --- the bytes-level counting path agrees with reading event by event -----------------------


def _openai_stream(tokens: list[str], usage: bool, reasoning: int, compact: bool) -> bytes:
    seps = (",", ":") if compact else (", ", ": ")

    def chunk(delta: dict) -> bytes:
        body = {
            "id": "c",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        return b"data: " + json.dumps(body, separators=seps).encode() + b"\n\n"

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"reasoning_content": f"r{i}"}) for i in range(reasoning)]
    out += [chunk({"content": t}) for t in tokens]
    if usage:
        out.append(
            b'data: {"id":"c","choices":[],"usage":{"completion_tokens":%d}}\n\n' % len(tokens)
        )
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


@settings(max_examples=150, deadline=None)
@given(
    tokens=st.lists(st.text(min_size=0, max_size=6), max_size=20),
    usage=st.booleans(),
    reasoning=st.integers(0, 2),
    cuts=st.lists(st.integers(0, 4000), max_size=6),
    compact=st.booleans(),
)
def test_counting_reads_in_bulk_agrees_with_reading_events(tokens, usage, reasoning, cuts, compact):
    """Content events, usage and [DONE] are the same whether the reader counts whole reads
    at the bytes level (keep_text False) or parses every event (keep_text True)."""
    stream = _openai_stream(tokens, usage, reasoning, compact)
    reads = [r for r in split(stream, cuts) if r]
    fast, slow = OpenAIReader(keep_text=False), OpenAIReader(keep_text=True)
    for i, read in enumerate(reads):
        fast.feed(read, float(i))
        slow.feed(read, float(i))
    fast.close(99.0)
    slow.close(99.0)
    assert fast.token_times == slow.token_times
    assert fast.usage_tokens == slow.usage_tokens
    assert fast.done
    assert slow.done
