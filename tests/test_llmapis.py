"""The completions, Responses and embeddings endpoints as bytes (issue #20 item 5): request
bodies, and readers that find the same content events, usage and errors however the bytes are
cut into reads."""

from __future__ import annotations

import json

import pytest

from loadgen.core.chat import ChunkError
from loadgen.core.llmapis import completions_request, embeddings_request, responses_request
from loadgen.core.readers import StreamEnded, make_reader


def sse(data: dict | str, event: str | None = None) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


def completion(text: str, finish: str | None = None) -> bytes:
    return sse(
        {
            "object": "text_completion",
            "choices": [{"index": 0, "text": text, "finish_reason": finish}],
        }
    )


COMPLETIONS = [
    completion("Once"),
    completion(" upon"),
    completion(" a time", "length"),
    sse({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}}),
    sse("[DONE]"),
]


def responses_stream(*, named: bool = True) -> list[bytes]:
    def ev(kind: str, **fields: object) -> bytes:
        return sse({"type": kind, **fields}, kind if named else None)

    done = {
        "id": "r1",
        "status": "completed",
        "usage": {
            "input_tokens": 11,
            "output_tokens": 4,
            "output_tokens_details": {"reasoning_tokens": 2},
        },
    }
    return [
        ev("response.created", response={"id": "r1"}),
        ev("response.reasoning_text.delta", delta="Hmm"),
        ev("response.reasoning_text.delta", delta=" ok"),
        ev("response.output_text.delta", delta="Hi"),
        ev("response.output_text.delta", delta="!"),
        ev("response.output_text.done", text="Hi!"),
        ev("response.completed", response=done),
    ]


def run(reader, reads: list[bytes], *, bytewise: bool) -> object:
    stream = b"".join(reads)
    pieces = [stream[i : i + 1] for i in range(len(stream))] if bytewise else reads
    for n, piece in enumerate(pieces):
        reader.feed(piece, float(n))
    reader.close(float(len(pieces)))
    return reader


@pytest.mark.parametrize("bytewise", [False, True])
def test_a_completions_stream_yields_its_text_events_and_usage(bytewise):
    reader = run(
        make_reader("completions", stream=True, keep_text=True), COMPLETIONS, bytewise=bytewise
    )
    assert len(reader.token_times) == 3
    assert (reader.usage_tokens, reader.usage_prompt) == (3, 5)
    assert reader.text == "Once upon a time"
    assert reader.done


def test_a_completions_stream_without_done_after_its_finish_is_accepted():
    reader = run(make_reader("completions", stream=True), COMPLETIONS[:-1], bytewise=False)
    assert reader.without_done == "finish_reason"


def test_a_completions_stream_cut_before_anything_is_broken():
    with pytest.raises(StreamEnded):
        run(make_reader("completions", stream=True), [b": keep-alive\n\n"], bytewise=False)


@pytest.mark.parametrize(("named", "bytewise"), [(True, False), (True, True), (False, False)])
def test_a_responses_stream_splits_reasoning_from_answer(named, bytewise):
    reader = run(
        make_reader("responses", stream=True, keep_text=True),
        responses_stream(named=named),
        bytewise=bytewise,
    )
    assert len(reader.token_times) == 4
    assert reader.reasoning_at == [0, 1]
    assert reader.text == "Hi!"  # the answer only: reasoning is not answer text
    assert (reader.usage_tokens, reader.usage_prompt, reader.reasoning_tokens) == (4, 11, 2)


def test_a_responses_stream_that_never_completes_is_broken():
    with pytest.raises(StreamEnded, match=r"response\.completed"):
        run(make_reader("responses", stream=True), responses_stream()[:-1], bytewise=False)


@pytest.mark.parametrize(
    "last",
    [
        sse({"type": "error", "message": "overloaded"}, "error"),
        sse(
            {"type": "response.failed", "response": {"error": {"message": "overloaded"}}},
            "response.failed",
        ),
    ],
)
def test_a_responses_error_event_is_an_error_with_the_servers_words(last):
    with pytest.raises(ChunkError, match="overloaded"):
        run(make_reader("responses", stream=True), [*responses_stream()[:3], last], bytewise=False)


def test_an_incomplete_response_ends_the_stream_as_cut_by_length():
    done = {"type": "response.incomplete", "response": {"usage": {"output_tokens": 2}}}
    reads = [*responses_stream()[:4], sse(done, "response.incomplete")]
    reader = run(make_reader("responses", stream=True), reads, bytewise=False)
    assert reader.done
    assert reader.usage_tokens == 2


def test_an_embeddings_answer_counts_vectors_and_prompt_tokens_and_has_no_token_times():
    body = {
        "object": "list",
        "data": [{"embedding": [0.1, 0.2], "index": i} for i in range(3)],
        "usage": {"prompt_tokens": 12, "total_tokens": 12},
    }
    raw = json.dumps(body).encode()
    reader = run(make_reader("embeddings", stream=False), [raw[:10], raw[10:]], bytewise=False)
    assert (reader.vectors, reader.usage_prompt, reader.token_times) == (3, 12, [])


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b'{"error": {"message": "bad model"}}', "bad model"),
        (b'{"data": [{"vector": []}]}', "not a list of embeddings"),
        (b"[1]", "not a JSON object"),
    ],
)
def test_a_wrong_embeddings_answer_is_a_protocol_error(body, match):
    with pytest.raises(ChunkError, match=match):
        run(make_reader("embeddings", stream=False), [body], bytewise=False)


def test_request_bodies_carry_what_each_endpoint_expects():
    c = json.loads(
        completions_request(
            model="m", prompt="p", stream=True, max_tokens=8, extra={"ignore_eos": True}
        )
    )
    assert c == {
        "model": "m",
        "prompt": "p",
        "stream": True,
        "max_tokens": 8,
        "stream_options": {"include_usage": True},
        "ignore_eos": True,
    }
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    r = json.loads(responses_request(model="m", messages=messages, stream=True, max_tokens=8))
    assert r == {
        "model": "m",
        "input": [{"role": "user", "content": "hi"}],
        "stream": True,
        "instructions": "be brief",
        "max_output_tokens": 8,
    }
    e = json.loads(embeddings_request(model="m", inputs=["a", "b"]))
    assert e == {"model": "m", "input": ["a", "b"]}
