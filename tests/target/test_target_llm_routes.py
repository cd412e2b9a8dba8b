"""The built-in target's ``/v1/completions``, ``/v1/responses`` and ``/v1/embeddings`` (issue
#20 item 7): their bytes read by loadgen's own readers for those endpoints, usage counted
with the default tokenizer, and every count and delay checked against the truth log; the
routes share the capacity slots and faults of chat."""

from __future__ import annotations

import base64
import json
import struct
import threading
from collections.abc import Iterator

import httpx
import pytest
from target_helpers import fast_config, read_truth, sse_events

from loadgen.core.bpe import default_tokenizer
from loadgen.core.chat import ChunkError
from loadgen.core.readerbase import Reader, StreamEnded
from loadgen.core.readers import make_reader
from loadgen.target import BuiltinTarget

TTFT = 0.030
PER_TOKEN = 0.00005  # 50 µs a prompt token
TOKENS = 8
PROMPT = "Explain how a prefix cache saves prefill time, in two sentences."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltinTarget]:
    """One slot (requests queue behind each other), a quarter of each answer reasoning."""
    truth = tmp_path_factory.mktemp("routes") / "truth.jsonl"
    config = fast_config(
        timing={
            "ttft": f"{TTFT}s",
            "itl": "2ms",
            "output_tokens": TOKENS,
            "prefill_per_token": "50us",
        },
        capacity={"slots": 1},
        reasoning={"share": 0.25},
        embeddings={"dimensions": 32},
    )
    with BuiltinTarget(config, truth=truth) as t:
        yield t


def post(target: BuiltinTarget, path: str, rid: str, body: dict, **headers: str) -> httpx.Response:
    with httpx.Client(base_url=target.url, timeout=10) as client:
        return client.post(path, json=body, headers={"x-request-id": rid, **headers})


def read(api: str, response: httpx.Response, stream: bool = True) -> Reader:
    reader = make_reader(api, stream=stream, keep_text=True)
    reader.feed(response.content, 1.0)
    reader.close(2.0)
    return reader


def count(text: str) -> int:
    return default_tokenizer().count(text)


def test_streamed_completions_read_by_loadgen_match_usage_and_truth(server: BuiltinTarget) -> None:
    body = {"prompt": PROMPT, "stream": True, "stream_options": {"include_usage": True}}
    response = post(server, "/v1/completions", "cmpl-1", body)
    assert response.status_code == 200
    reader = read("completions", response)
    truth = read_truth(server, ["cmpl-1"])["cmpl-1"]
    assert len(reader.token_times) == reader.usage_tokens == truth["completion_tokens"] == TOKENS
    assert reader.usage_prompt == truth["prompt_tokens"] == count(PROMPT)  # no chat template
    assert reader.reasoning_at == []  # completions never reason
    assert reader.text == "".join(
        d["choices"][0]["text"] for d in map(_json, sse_events(response.content)) if d["choices"]
    )
    assert truth["prefill"] == pytest.approx(count(PROMPT) * PER_TOKEN)


def _json(event: tuple[str, str]) -> dict:
    return json.loads(event[1]) if event[1] != "[DONE]" else {"choices": []}


def test_completions_take_a_list_prompt_and_max_tokens(server: BuiltinTarget) -> None:
    """Strings and token ids are counted whole; max_tokens caps the one choice (length)."""
    body = {"prompt": [PROMPT, [1, 2, 3, 4]], "max_tokens": 3}
    answer = post(server, "/v1/completions", "cmpl-2", body).json()
    assert answer["object"] == "text_completion"
    assert answer["choices"][0]["finish_reason"] == "length"
    assert len(answer["choices"][0]["text"].split()) == 3
    truth = read_truth(server, ["cmpl-2"])["cmpl-2"]
    assert answer["usage"]["prompt_tokens"] == truth["prompt_tokens"] == count(PROMPT) + 4
    assert answer["usage"]["completion_tokens"] == truth["completion_tokens"] == 3


def test_a_streamed_response_reads_reasoning_then_text_and_usage(server: BuiltinTarget) -> None:
    """Responses API events: 2 reasoning deltas then 6 text deltas, ``response.completed``
    with usage; ``instructions`` count as a system message (+3 each for the template)."""
    body = {"input": PROMPT, "instructions": "Be brief.", "stream": True}
    response = post(server, "/v1/responses", "resp-1", body)
    assert response.status_code == 200
    reader = read("responses", response)
    truth = read_truth(server, ["resp-1"])["resp-1"]
    names = [name for name, _ in sse_events(response.content)]
    assert names[:2] == ["response.created", "response.in_progress"]
    assert names[-1] == "response.completed"
    assert names.count("response.output_text.delta") == TOKENS - 2
    assert reader.done
    assert reader.reasoning_at == [0, 1]
    assert (reader.reasoning_tokens, truth["reasoning_tokens"]) == (2, 2)
    assert len(reader.token_times) == reader.usage_tokens == truth["completion_tokens"] == TOKENS
    expected = count("Be brief.") + count(PROMPT) + 6
    assert reader.usage_prompt == truth["prompt_tokens"] == expected
    assert truth["first_answer"] == truth["tokens"][2]


def test_a_capped_response_is_incomplete_and_a_whole_one_has_its_text(
    server: BuiltinTarget,
) -> None:
    streamed = post(
        server, "/v1/responses", "resp-2", {"input": "hi", "stream": True, "max_output_tokens": 4}
    )
    assert [n for n, _ in sse_events(streamed.content)][-1] == "response.incomplete"
    assert read("responses", streamed).usage_tokens == 4
    whole = post(server, "/v1/responses", "resp-3", {"input": [{"role": "user", "content": "hi"}]})
    answer = whole.json()
    assert (answer["object"], answer["status"]) == ("response", "completed")
    assert [item["type"] for item in answer["output"]] == ["reasoning", "message"]
    assert len(answer["output"][1]["content"][0]["text"].split()) == TOKENS - 2
    usage = answer["usage"]
    assert usage["input_tokens"] == read_truth(server, ["resp-3"])["resp-3"]["prompt_tokens"]
    assert usage["output_tokens"] == TOKENS
    assert usage["total_tokens"] == usage["input_tokens"] + TOKENS


def test_a_response_may_call_a_tool(server: BuiltinTarget) -> None:
    """Responses tools are flat (``name`` beside ``type``); the call's arguments stream as
    ``response.function_call_arguments.delta``, each one output token."""
    tools = [{"type": "function", "name": "lookup", "parameters": {}}]
    body = {"input": "hi", "stream": True, "tools": tools, "tool_choice": "required"}
    response = post(server, "/v1/responses", "resp-4", body)
    names = [n for n, _ in sse_events(response.content)]
    assert names.count("response.function_call_arguments.delta") == TOKENS - 2
    reader = read("responses", response)
    assert len(reader.token_times) == TOKENS
    assert read_truth(server, ["resp-4"])["resp-4"]["tool_call"] == "lookup"


def test_embeddings_cost_prefill_only_and_count_their_inputs(server: BuiltinTarget) -> None:
    inputs = [PROMPT * 20, "short"]
    response = post(server, "/v1/embeddings", "emb-1", {"input": inputs})
    assert response.status_code == 200
    reader = read("embeddings", response, stream=False)
    truth = read_truth(server, ["emb-1"])["emb-1"]
    tokens = count(PROMPT * 20) + count("short")
    assert reader.vectors == 2
    assert reader.usage_prompt == truth["prompt_tokens"] == tokens
    assert reader.token_times == []
    data = response.json()["data"]
    assert [len(d["embedding"]) for d in data] == [32, 32]
    assert truth["prefill"] == pytest.approx(tokens * PER_TOKEN)
    latency = truth["end"] - truth["arrival"] - truth["queue_wait"]
    assert -0.0015 <= latency - truth["prefill"] <= 0.030  # no TTFT draw, no tokens


def test_embeddings_are_deterministic_and_honour_dimensions_and_base64(
    server: BuiltinTarget,
) -> None:
    floats = post(server, "/v1/embeddings", "emb-2", {"input": "same", "dimensions": 4}).json()
    again = post(server, "/v1/embeddings", "emb-3", {"input": ["same"], "dimensions": 4}).json()
    packed = post(
        server,
        "/v1/embeddings",
        "emb-4",
        {"input": "same", "dimensions": 4, "encoding_format": "base64"},
    ).json()
    vector = floats["data"][0]["embedding"]
    assert again["data"][0]["embedding"] == vector
    decoded = struct.unpack("<4f", base64.b64decode(packed["data"][0]["embedding"]))
    assert decoded == pytest.approx(vector, abs=1e-6)
    bad = post(server, "/v1/embeddings", "emb-5", {"input": "x", "dimensions": 0})
    assert bad.status_code == 400
    assert "dimensions must be a positive integer" in bad.text


def test_the_new_routes_share_the_slots(server: BuiltinTarget) -> None:
    """One slot: of a completion and an embedding sent together, one waits for the other."""
    jobs = [
        ("/v1/completions", "slot-1", {"prompt": PROMPT * 100}),
        ("/v1/embeddings", "slot-2", {"input": PROMPT * 100}),
    ]
    threads = [threading.Thread(target=post, args=(server, *job)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    truth = read_truth(server, ["slot-1", "slot-2"])
    first, second = sorted((truth["slot-1"], truth["slot-2"]), key=lambda t: t["arrival"])
    assert second["arrival"] < first["end"]  # they overlapped: the second had to wait
    assert second["queue_wait"] > 0.005
    assert second["arrival"] + second["queue_wait"] >= first["end"] - 0.001  # granted at release


@pytest.mark.parametrize("path", ["/v1/completions", "/v1/responses", "/v1/embeddings"])
def test_the_new_routes_take_faults(server: BuiltinTarget, path: str) -> None:
    body = {"prompt": "hi"} if path == "/v1/completions" else {"input": "hi"}
    rid = f"fault{path.replace('/', '-')}"
    response = post(server, path, rid, body, **{"x-loadgen-fault": "http_429"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    truth = read_truth(server, [rid])[rid]
    assert (truth["status"], truth["fault"]) == (429, "http_429")


def test_a_dropped_completion_stream_is_broken_for_loadgen(server: BuiltinTarget) -> None:
    body = {"prompt": "hi", "stream": True}
    with pytest.raises((httpx.HTTPError, StreamEnded, ChunkError)):
        read(
            "completions",
            post(
                server, "/v1/completions", "drop-1", body, **{"x-loadgen-fault": "drop_mid_stream"}
            ),
        )
    truth = read_truth(server, ["drop-1"])["drop-1"]
    assert (truth["reason"], truth["completion_tokens"]) == ("drop_mid_stream", TOKENS // 2)


def test_the_new_routes_require_a_key_when_chat_does() -> None:
    config = fast_config(auth={"require_auth_openai": True, "api_keys": ["k1"]})
    with BuiltinTarget(config) as target, httpx.Client(base_url=target.url, timeout=10) as client:
        for path, body in (
            ("/v1/completions", {"prompt": "hi"}),
            ("/v1/responses", {"input": "hi"}),
            ("/v1/embeddings", {"input": "hi"}),
        ):
            assert client.post(path, json=body).status_code == 401
            keyed = client.post(path, json=body, headers={"authorization": "Bearer k1"})
            assert keyed.status_code == 200, keyed.text
