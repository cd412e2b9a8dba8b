"""Reasoning and tool-call answers of the built-in target (issue #20 item 7): reasoning
tokens stream first as ``delta.reasoning_content``, then the answer; a request offering
tools gets a streamed call; the truth log says how many tokens reasoned, when the first
answer token went out and which function was called — and loadgen's own client measures
TTFT and TTFO within 2 ms of what the truth log says the target did."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import chat_profile, run_async
from target_helpers import fast_config, read_truth, sse_events

import loadgen
from loadgen.core.readers import OpenAIReader
from loadgen.target import BuiltinTarget
from loadgen.target.encode import Encoded
from loadgen.target.llmformats import ChatLLMFormat

TOKENS = 8  # 4 reasoning at share 0.5
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {}}},
    {"type": "function", "function": {"name": "search", "parameters": {}}},
]


@pytest.fixture(scope="module")
def thinker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltinTarget]:
    truth = tmp_path_factory.mktemp("reasoning") / "truth.jsonl"
    config = fast_config(
        timing={"ttft": "20ms", "itl": "2ms", "output_tokens": TOKENS},
        reasoning={"share": 0.5},
        tool_calls={"rate": 1},
    )
    with BuiltinTarget(config, truth=truth) as t:
        yield t


def post(target: BuiltinTarget, rid: str, **body: object) -> httpx.Response:
    payload = {"messages": [{"role": "user", "content": "hi"}], **body}
    with httpx.Client(base_url=target.url, timeout=10) as client:
        response = client.post("/v1/chat/completions", json=payload, headers={"x-request-id": rid})
    assert response.status_code == 200, response.text
    return response


def chunks(response: httpx.Response) -> list[dict]:
    return [json.loads(d) for _, d in sse_events(response.content) if d != "[DONE]"]


def deltas(response: httpx.Response) -> list[dict]:
    return [c["choices"][0]["delta"] for c in chunks(response) if c["choices"]][1:]  # no role


def test_reasoning_streams_first_then_the_answer(thinker: BuiltinTarget) -> None:
    """Half of 8 tokens reason; usage and the truth log say 4; the first answer token is the
    fifth written; loadgen's reader marks the same four events as reasoning."""
    stream = {"stream": True, "stream_options": {"include_usage": True}}
    response = post(thinker, "think-1", **stream)
    got = deltas(response)
    kinds = [next(iter(d)) for d in got if d]
    assert kinds == ["reasoning_content"] * 4 + ["content"] * 4
    usage = chunks(response)[-1]["usage"]
    assert usage["completion_tokens"] == TOKENS
    assert usage["completion_tokens_details"] == {"reasoning_tokens": 4}
    truth = read_truth(thinker, ["think-1"])["think-1"]
    assert (truth["reasoning_tokens"], truth["completion_tokens"]) == (4, TOKENS)
    assert truth["first_answer"] == truth["tokens"][4]
    assert truth["first_token"] == truth["tokens"][0]
    reader = OpenAIReader()
    reader.feed(response.content, 1.0)
    reader.close(2.0)
    assert reader.reasoning_at == [0, 1, 2, 3]
    assert (reader.reasoning_tokens, len(reader.token_times)) == (4, TOKENS)


@pytest.mark.parametrize(("effort", "reasoned"), [("high", 6), ("minimal", 1), ("none", 0)])
def test_a_requests_reasoning_effort_picks_its_share(
    thinker: BuiltinTarget, effort: str, reasoned: int
) -> None:
    response = post(thinker, f"effort-{effort}", reasoning_effort=effort)
    body = response.json()
    assert body["usage"]["completion_tokens_details"] == {"reasoning_tokens": reasoned}
    message = body["choices"][0]["message"]
    assert len(message.get("reasoning_content", "").split()) == reasoned
    assert len(message["content"].split()) == TOKENS - reasoned
    truth = read_truth(thinker, [f"effort-{effort}"])[f"effort-{effort}"]
    assert truth["reasoning_tokens"] == reasoned


def test_an_unknown_effort_is_a_400_naming_the_valid_ones(thinker: BuiltinTarget) -> None:
    with httpx.Client(base_url=thinker.url, timeout=10) as client:
        response = client.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "max"},
        )
    assert response.status_code == 400
    assert "none, minimal, low, medium, high" in response.json()["error"]["message"]


def test_a_required_tool_call_streams_name_then_arguments(thinker: BuiltinTarget) -> None:
    """4 reasoning tokens, then the call: one event with id, type and name, three argument
    fragments that join into JSON; finish_reason tool_calls; every event one token."""
    response = post(thinker, "tool-1", stream=True, tools=TOOLS, tool_choice="required")
    got = deltas(response)
    calls = [d["tool_calls"][0] for d in got if "tool_calls" in d]
    assert len(calls) == TOKENS - 4
    assert calls[0]["id"].startswith("call_")
    assert (calls[0]["type"], calls[0]["function"]["name"]) == ("function", "get_weather")
    arguments = "".join(c["function"]["arguments"] for c in calls)
    assert len(json.loads(arguments)["query"].split()) == 3
    finish = [c["choices"][0]["finish_reason"] for c in chunks(response) if c["choices"]]
    assert finish[-1] == "tool_calls"
    truth = read_truth(thinker, ["tool-1"])["tool-1"]
    assert (truth["tool_call"], truth["completion_tokens"]) == ("get_weather", TOKENS)
    reader = OpenAIReader()
    reader.feed(response.content, 1.0)
    reader.close(2.0)
    assert len(reader.token_times) == TOKENS  # tool-call events count as output


@pytest.mark.parametrize(
    ("choice", "called"),
    [
        ("none", None),
        ("auto", "get_weather"),  # tool_calls.rate is 1 here
        ({"type": "function", "function": {"name": "search"}}, "search"),
    ],
)
def test_tool_choice_decides_whether_and_what_is_called(
    thinker: BuiltinTarget, choice: object, called: str | None
) -> None:
    rid = f"choice-{called}"
    body = post(thinker, rid, tools=TOOLS, tool_choice=choice).json()
    message = body["choices"][0]["message"]
    if called is None:
        assert "tool_calls" not in message
        assert body["choices"][0]["finish_reason"] == "stop"
    else:
        function = message["tool_calls"][0]["function"]
        assert function["name"] == called
        assert isinstance(json.loads(function["arguments"]), dict)
        assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert read_truth(thinker, [rid])[rid]["tool_call"] == called


def test_the_reasoning_field_can_be_named_reasoning() -> None:
    fmt = ChatLLMFormat(
        Encoded(1),
        0,
        3,
        cid=b"c",
        created=0,
        model=b"m",
        finish=b"stop",
        usage=None,
        reasoning=2,
        field="reasoning",
        tool=None,
    )
    events = [json.loads(e[len(b"data: ") :]) for e in fmt.tokens(0, 3)]
    assert [next(iter(e["choices"][0]["delta"])) for e in events] == [
        "reasoning",
        "reasoning",
        "content",
    ]


def test_loadgens_client_measures_ttft_and_ttfo_within_2ms_of_the_truth(tmp_path: Path) -> None:
    """TTFT 30 ms, then 4 reasoning tokens 10 ms apart: the first answer token is due at
    70 ms. The client's p50 TTFT and TTFO sit within 2 ms of the target's own (truth log),
    which sit on the injected schedule; reasoning tokens come from the server's usage."""
    builtin = {
        "timing": {"ttft": "30ms", "itl": "10ms", "output_tokens": TOKENS},
        "capacity": {"slots": 0},
        "reasoning": {"share": 0.5},
    }
    data = chat_profile(users=2, duration="2s", builtin=builtin)
    truth_path = tmp_path / "truth.jsonl"
    result = run_async(loadgen.run(loadgen.profile_from_dict(data), truth=truth_path))
    assert result.errors == {}
    assert result.requests >= 10
    truth = [json.loads(line) for line in truth_path.read_text().splitlines()]
    chats = [t for t in truth if t["route"] == "/v1/chat/completions"]
    assert len(chats) == result.requests
    server_ttft = statistics.median(t["first_token"] - t["arrival"] for t in chats) * 1000
    server_ttfo = statistics.median(t["first_answer"] - t["arrival"] for t in chats) * 1000
    assert -1.5 <= server_ttft - 30 <= 30
    assert -1.5 <= server_ttfo - 70 <= 30
    m = result.metrics
    assert m["ttft"].p50 == pytest.approx(server_ttft, abs=2)
    assert m["ttfo"].p50 == pytest.approx(server_ttfo, abs=2)
    assert m["reasoning_tokens"].min == m["reasoning_tokens"].max == 4
    assert all(t["reasoning_tokens"] == 4 for t in chats)
