"""OpenAI-compatible routes over loopback, parsed by the ``openai`` package and by hand."""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
from typing import Any

import httpx
import openai
from target_helpers import ITL, TOKENS, TTFT, read_truth, sse_events

from loadgen.target import BuiltinTarget

MESSAGES: Any = [{"role": "user", "content": "Tell me about load testing please"}]

# Stated tolerances of the truth log against the configured delays: timers fire at most
# 1.5 ms early (uvloop timers have 1 ms resolution) and, on a shared 2-core machine, may be
# late; later tokens keep to the absolute schedule (no accumulated drift).
EARLY = 0.0015
LATE = 0.030


def test_openai_client_parses_the_stream_and_usage(target: BuiltinTarget) -> None:
    """The openai package reads role chunk, one token per content chunk and the usage chunk."""

    async def run() -> tuple[list[str], Any, list[Any]]:
        async with openai.AsyncOpenAI(
            base_url=target.url + "/v1", api_key="x", max_retries=0
        ) as client:
            stream = await client.chat.completions.create(
                model="loadgen-sim",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
            contents, usage, chunks = [], None, []
            async for chunk in stream:
                chunks.append(chunk)
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    if choice.delta.content:
                        contents.append(choice.delta.content)
            return contents, usage, chunks

    contents, usage, chunks = asyncio.run(run())
    assert len(contents) == TOKENS
    assert usage is not None
    assert usage.completion_tokens == len(contents)
    assert usage.prompt_tokens > 0
    assert chunks[0].choices[0].delta.role == "assistant"
    assert not chunks[0].choices[0].delta.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_non_streamed_completion_has_usage(target: BuiltinTarget) -> None:
    """``stream: false`` answers one chat.completion whose usage counts its tokens."""

    async def run() -> Any:
        async with openai.AsyncOpenAI(
            base_url=target.url + "/v1", api_key="x", max_retries=0
        ) as client:
            return await client.chat.completions.create(model="m", messages=MESSAGES)

    completion = asyncio.run(run())
    assert completion.object == "chat.completion"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == TOKENS
    assert len(completion.choices[0].message.content.split()) >= 1


def test_non_streamed_truth_is_one_write(target: BuiltinTarget, client: httpx.Client) -> None:
    """Non-streamed: nothing is written before the last token is generated."""
    response = client.post(
        "/v1/chat/completions", headers={"x-request-id": "plain-1"}, json={"messages": MESSAGES}
    )
    assert response.json()["usage"]["completion_tokens"] == TOKENS
    line = read_truth(target, ["plain-1"])["plain-1"]
    assert line["tokens"] == []
    assert line["completion_tokens"] == TOKENS
    assert line["first_token"] - line["arrival"] >= TTFT + (TOKENS - 1) * ITL - EARLY


def test_max_tokens_caps_the_answer(client: httpx.Client) -> None:
    """``max_tokens`` below the drawn length cuts the answer and says ``length``."""
    body = {
        "messages": MESSAGES,
        "stream": True,
        "max_tokens": 3,
        "stream_options": {"include_usage": True},
    }
    response = client.post("/v1/chat/completions", json=body)
    chunks = [json.loads(d) for _, d in sse_events(response.content) if d != "[DONE]"]
    content = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content) == 3
    assert chunks[-1]["usage"]["completion_tokens"] == 3
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"


def test_stream_ends_with_done_and_is_chunked(client: httpx.Client) -> None:
    """SSE over chunked encoding, ending with ``data: [DONE]``; non-ASCII is JSON-escaped."""
    response = client.post("/v1/chat/completions", json={"messages": MESSAGES, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["transfer-encoding"] == "chunked"
    events = sse_events(response.content)
    assert events[-1] == ("message", "[DONE]")
    assert response.content.isascii()


def test_models_lists_the_configured_model(client: httpx.Client) -> None:
    """GET /v1/models names the model the chunks carry."""
    assert client.get("/v1/models").json()["data"][0]["id"] == "loadgen-sim"


def test_bad_request_is_400_in_openai_shape(client: httpx.Client) -> None:
    """A body without messages is 400 with an OpenAI-style error object."""
    response = client.post("/v1/chat/completions", json={"stream": True})
    assert response.status_code == 400
    assert "messages" in response.json()["error"]["message"]


def test_truth_matches_configured_delays(target: BuiltinTarget, client: httpx.Client) -> None:
    """first_token - arrival ≈ ttft and token k ≈ first + k·itl, within the stated tolerance."""
    ids = [f"timing-{i}" for i in range(5)]
    for rid in ids:
        response = client.post(
            "/v1/chat/completions",
            headers={"x-request-id": rid},
            json={"messages": MESSAGES, "stream": True},
        )
        assert response.headers["x-request-id"] == rid
        assert response.status_code == 200
    truth = read_truth(target, ids)
    gaps = []
    for rid in ids:
        line = truth[rid]
        assert line["status"] == 200
        assert line["fault"] is None
        assert line["reason"] is None
        assert len(line["tokens"]) == TOKENS
        ttft = line["first_token"] - line["arrival"] - line["queue_wait"]
        assert TTFT - EARLY <= ttft <= TTFT + LATE
        first = line["tokens"][0]
        for k, t in enumerate(line["tokens"]):
            assert -EARLY <= t - (first + k * ITL) <= LATE
        gaps += [b - a for a, b in itertools.pairwise(line["tokens"])]
        assert line["end"] >= line["tokens"][-1]
        assert line["bytes"] > 0
    assert abs(statistics.median(gaps) - ITL) < 0.002
