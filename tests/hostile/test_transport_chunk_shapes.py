"""Class 4 of issue #18: the OpenAI reader's fast paths measure every chunk shape as a full
parse does.

``keep_text=True`` forces the full parse of every event; the default reader counts whole
reads in bulk and single events by a string scan. Fed the same reads, both must give the
same token times, usage and end marker. Shapes are generated: content empty, null, absent
or text beside ``reasoning_content`` / ``reasoning`` (OpenRouter's shape), tool-call
deltas, usage chunks (null, an object, absurd counts), finish chunks, compact or spaced
JSON, cut into reads anywhere. Two live runs check the same on the wire, on both transports.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import transport_server as ts
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support import reader_outcome

import loadgen
from loadgen import profile_from_dict
from loadgen.core.chat import MAX_USAGE_TOKENS, parse_openai_chunk
from loadgen.core.readers import OpenAIReader
from loadgen.core.result import Result
from loadgen.report.console import summary

TEXT = st.sampled_from(["", "a", " w", 'say "content":"x"', "é🚀", "\\n", "reasoning"])
FIELD = st.one_of(st.just(None), st.just("absent"), TEXT)
COUNT = st.sampled_from([0, 3, 20, -1, 10**15, MAX_USAGE_TOKENS + 1])


@st.composite
def chunk(draw: st.DrawFn) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if draw(st.booleans()):
        delta["role"] = "assistant"
    for key in ("content", "reasoning_content", "reasoning"):
        value = draw(FIELD)
        if value != "absent":
            delta[key] = value
    if draw(st.integers(0, 4)) == 0:
        delta["tool_calls"] = [
            {"index": 0, "function": {"name": "f", "arguments": draw(TEXT)}, "type": "function"}
        ]
    body: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk"}
    kind = draw(st.integers(0, 5))
    if kind == 0:  # the usage chunk: no choices
        body["choices"] = []
        body["usage"] = {"prompt_tokens": 3, "completion_tokens": draw(COUNT)}
    else:
        finish = draw(st.sampled_from([None, None, "stop", "absent"]))
        choice: dict[str, Any] = {"index": 0, "delta": delta}
        if finish != "absent":
            choice["finish_reason"] = finish
        body["choices"] = [choice]
        usage = draw(st.sampled_from(["absent", "absent", None]))
        if usage != "absent":
            body["usage"] = usage
    return body


@st.composite
def stream(draw: st.DrawFn) -> list[bytes]:
    chunks = draw(st.lists(chunk(), min_size=1, max_size=8))
    spaced = draw(st.lists(st.booleans(), min_size=len(chunks), max_size=len(chunks)))
    events = [
        b"data: "
        + json.dumps(c, ensure_ascii=False, separators=(", ", ": ") if s else (",", ":")).encode()
        + b"\n\n"
        for c, s in zip(chunks, spaced, strict=True)
    ]
    if draw(st.booleans()):
        events.append(b"data: [DONE]\n\n")
    whole = b"".join(events)
    how = draw(st.sampled_from(["one read", "per event", "anywhere"]))
    if how == "one read":
        return [whole]
    if how == "per event":
        return events
    cuts = sorted(draw(st.lists(st.integers(1, len(whole) - 1), max_size=6, unique=True)))
    return [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)], strict=True)]


_USAGE_ONLY = (
    b'data: {"id":"c","object":"chat.completion.chunk","choices":[],'
    b'"usage":{"prompt_tokens":3,"completion_tokens":0}}\n\n'
)
_TOOL_DELTA = (
    b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":'
    b'{"content":"a","reasoning":null,"tool_calls":[{"index":0,"function":{"name":"f",'
    b'"arguments":""},"type":"function"}]},"finish_reason":%s}]}\n\n'
)
# Found by this test (session 7): a finish chunk that other chunks followed, each in a read
# of its own, was forgotten by the fast path (it kept only the last two reads for close()).
_FINISH_THEN_MORE = [
    *[_USAGE_ONLY] * 5,
    _TOOL_DELTA % b'"stop"',
    b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},'
    b'"finish_reason":null}]}\n\n',
    _TOOL_DELTA % b"null",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream())
@example(_FINISH_THEN_MORE)
def test_fast_and_full_parse_agree_on_every_chunk_shape(reads: list[bytes]) -> None:
    """Token times, usage (used or rejected) and the end marker are the same whichever path
    reads the stream."""
    assert reader_outcome(reads, keep_text=False) == reader_outcome(reads, keep_text=True)


def test_empty_content_beside_reasoning_is_a_token_on_every_path() -> None:
    """OpenRouter's shape, ``"content":""`` with ``"reasoning":"…"``: each chunk is a token,
    in a whole read, one read per event, and the full parse (was: dropped by the fast path)."""
    events = [
        b'data: {"choices":[{"delta":{"content":"","reasoning":"think %d"}}]}\n\n' % i
        for i in range(5)
    ] + [b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n', b"data: [DONE]\n\n"]
    for reads in ([b"".join(events)], events):
        for keep_text in (False, True):
            reader = OpenAIReader(keep_text=keep_text)
            for i, read in enumerate(reads):
                reader.feed(read, float(i))
            reader.close(9.0)
            assert len(reader.token_times) == 6
            assert reader.token_times[0] == 0.0  # TTFT at the first reasoning chunk


def test_an_absurd_usage_count_is_flagged_and_not_used() -> None:
    """A negative count or 10**15 tokens is refused: ``usage_tokens`` stays None (the content
    events count instead) and the reported value is kept as ``usage_rejected``."""
    for count in (-5, 10**15):
        parsed = parse_openai_chunk(
            json.dumps({"choices": [], "usage": {"completion_tokens": count}})
        )
        assert parsed.completion_tokens is None
        assert parsed.rejected_usage == count
    ok = parse_openai_chunk('{"choices":[],"usage":{"completion_tokens":20}}')
    assert (ok.completion_tokens, ok.rejected_usage) == (20, None)


REASONING_TTFT = 0.1  # seconds from the request to the first reasoning chunk


async def openrouter(w: ts.Writer) -> bool:
    """5 reasoning chunks with ``"content":""`` beside ``"reasoning"``, 20 ms apart, then 15
    answer tokens: the first reasoning chunk leaves 100 ms after the request, the first
    answer token 180 ms later; each chunk in a read of its own."""
    w.write(ts.SSE_HEAD + ts.framed(ts.chunk({"role": "assistant", "content": ""})))
    await asyncio.sleep(REASONING_TTFT)
    for i in range(5):
        w.write(ts.framed(ts.chunk({"content": "", "reasoning": f" r{i}"})))
        await w.drain()
        await asyncio.sleep(0.02)
    for i in range(15):
        w.write(ts.framed(ts.chunk({"content": f" w{i}"})))
        await w.drain()
        await asyncio.sleep(0.002)
    for event in (ts.chunk({}, "stop"), ts.usage(20), b"data: [DONE]\n\n"):
        w.write(ts.framed(event))
    w.write(b"0\r\n\r\n")
    await w.drain()
    return True


async def absurd_usage(w: ts.Writer) -> bool:
    events = ts.sse_answer()
    events[-2] = ts.usage(10**15)
    await ts._chunked(w, events)
    w.write(b"0\r\n\r\n")
    await w.drain()
    return True


def _run(data: dict[str, Any]) -> Result:
    async def bounded() -> Result:
        return await asyncio.wait_for(loadgen.run(profile_from_dict(data)), 30)

    return asyncio.run(bounded())


@pytest.mark.parametrize("transport", ["fast", "httpx"])
def test_an_openrouter_stream_is_timed_from_its_first_reasoning_chunk(transport: str) -> None:
    """Live, on both transports: TTFT is the first reasoning chunk's 100 ms (the lean client
    took the first answer token's ~200 ms) and every answer has 20 content events (was 15),
    as its usage says."""
    with ts.HostileServer({"/reasoning": openrouter}) as s:
        result = _run(ts.pair(s.url, {"chat": {"path": "/reasoning"}}, transport=transport))
    assert result.data["run"]["internal_errors"] == []
    scope = result.scope("name", "chat.hostile")
    assert scope["errors"] == 0, result.data["errors"]
    assert scope["requests"] >= 3
    assert scope["content_events"] == 20 * scope["requests"]
    assert scope["usage_vs_events"]["difference"] == 0
    ttft = scope["metrics"]["ttft"]
    assert ttft["p50"] >= REASONING_TTFT * 1000
    assert ttft["p50"] < REASONING_TTFT * 1000 + 60  # the first answer token is 100 ms later
    healthy = result.scope("name", "chat.ok")["metrics"]["ttft"]
    assert healthy["p50"] >= ts.HEALTHY_TTFT * 1000
    assert healthy["p99"] < ts.HEALTHY_TTFT * 1000 + 250


def test_an_absurd_usage_count_is_not_added_up() -> None:
    """A server reporting 10**15 completion tokens: each answer counts its 8 content events,
    the result says how many usage counts were refused, and the console says why."""
    with ts.HostileServer({"/usage": absurd_usage}) as s:
        result = _run(ts.pair(s.url, {"chat": {"path": "/usage"}}))
    scope = result.scope("name", "chat.hostile")
    assert scope["errors"] == 0, result.data["errors"]
    assert scope["output_tokens"] == ts.TOKENS * scope["requests"]
    assert scope["usage_vs_events"]["rejected"] == scope["requests"]
    assert scope["token_source"] == {"events": scope["requests"]}
    assert result.overall["output_tokens"] < 10**6
    assert "reported a usage count no answer can have" in summary(result.data)
