"""``api: completions``, ``api: responses`` and ``api: embeddings`` on a chat step (issue #20
item 5), run against a loopback model server that records what it got and when it sent the
first token: the bodies carry the prompt, lengths and params; tokens, TTFT and usage are read
from the real wire formats; a malformed event is a ``protocol`` error; embeddings have no
TTFT, and a TTFT threshold on them is a profile error."""

from __future__ import annotations

import csv
import statistics
from collections.abc import Iterator

import pytest
from llmserver import ANSWER, ModelServer
from support import chat_profile, run_async

import loadgen
from loadgen.cli.commands import main
from loadgen.core.bpe import default_tokenizer
from loadgen.core.errors import ProfileError

FIRST, GAP, TOKENS = 0.05, 0.01, 4


@pytest.fixture(scope="module")
def server() -> Iterator[ModelServer]:
    with ModelServer(first=FIRST, gap=GAP, tokens=TOKENS) as s:
        yield s


def profile(base_url: str, users: int = 1, duration: str = "0.5s", **chat: object) -> dict:
    data = chat_profile(base_url, users=users, duration=duration)
    data["users"][0]["tasks"] = [{"chat": {"model": "m", **chat}}]
    return data


def run(data: dict) -> loadgen.Result:
    return run_async(loadgen.run(loadgen.profile_from_dict(data)))


@pytest.mark.parametrize("api", ["completions", "responses"])
def test_a_streamed_endpoint_is_timed_and_counted_like_chat(server, api, tmp_path):
    """Each request reaches /v1/<api> with the prompt, the length asked and the params; the
    answer's tokens come from the server's usage; each request's first token was seen after
    the server wrote it and soon after (by request id, one clock); nothing fails."""
    server.received.clear()
    data = profile(
        server.url,
        api=api,
        prompt="Tell me a story",
        output_tokens=TOKENS,
        params={"temperature": 0},
        system="Be brief.",
    )
    data["report"] = {"raw": True}
    result = run_async(loadgen.run(loadgen.profile_from_dict(data), out=tmp_path))
    got = [r for r in server.received if r.path == f"/v1/{api}"]
    assert len(got) == len(server.received) == result.requests > 0
    assert result.errors == {}
    body = got[0].body
    assert body["model"] == "m"
    assert body["stream"] is True
    assert body["temperature"] == 0
    if api == "completions":
        assert body["prompt"] == "Be brief.\n\nTell me a story"
        assert (body["max_tokens"], body["min_tokens"], body["ignore_eos"]) == (4, 4, True)
        assert body["stream_options"] == {"include_usage": True}
    else:
        assert body["instructions"] == "Be brief."
        assert body["input"] == [{"role": "user", "content": "Tell me a story"}]
        assert body["max_output_tokens"] == TOKENS
    tokens = result.metrics["output_tokens"]
    assert tokens.min == tokens.max == TOKENS
    assert result.metrics["input_tokens"].min == result.metrics["input_tokens"].max == 9
    ttft = result.metrics["ttft"]
    assert ttft.count == result.requests
    assert ttft.min >= FIRST * 1000  # no token can come before the server sent it
    sent = {r.request_id: r.first_sent for r in got}
    with (tmp_path / "requests.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == result.requests
    lags = [float(row["first_token"]) - sent[row["request_id"]] for row in rows]
    assert min(lags) >= 0  # seen after the server wrote it
    assert statistics.median(lags) < 0.1  # and within a generous bound of it
    assert result.metrics["itl"].count == result.requests * (TOKENS - 1)


@pytest.mark.parametrize("api", ["completions", "responses"])
def test_a_malformed_event_is_a_protocol_error(api):
    with ModelServer(tokens=4, broken=True) as broken:
        result = run(profile(broken.url, api=api, prompt="hi"))
    assert result.requests > 0
    assert result.errors == {"protocol": result.requests}


def test_synthetic_prompts_go_to_completions_with_their_token_count(server):
    """input_tokens builds the prompt on the completions endpoint too; requested input and
    the server's count are both there (the server's wins in input_tokens)."""
    server.received.clear()
    run(profile(server.url, api="completions", input_tokens=50, output_tokens=TOKENS))
    assert server.received
    tokenizer = default_tokenizer()
    assert all(tokenizer.count(r.body["prompt"]) == 50 for r in server.received)


def test_embeddings_batch_inputs_have_latency_and_input_tokens_but_no_ttft(server):
    """A batch of 3 inputs per request reaches /v1/embeddings; e2e is at least the server's
    wait; input tokens are the server's usage (7 per input); no TTFT, ITL or output tokens
    are recorded (an embedding has no first token)."""
    server.received.clear()
    result = run(profile(server.url, api="embeddings", input_tokens=20, batch=3))
    got = server.bodies("/v1/embeddings")
    assert len(got) == result.requests > 0
    assert result.errors == {}
    tokenizer = default_tokenizer()
    for body in got:
        assert body["model"] == "m"
        assert len(body["input"]) == 3
        assert all(tokenizer.count(text) == 20 for text in body["input"])
        assert "max_tokens" not in body
    assert result.metrics["input_tokens"].min == result.metrics["input_tokens"].max == 21
    assert result.metrics["e2e"].count == result.requests
    assert result.metrics["e2e"].min >= FIRST * 1000
    for name in ("ttft", "itl", "output_tokens", "tpot"):
        assert result.metrics[name].count == 0


@pytest.mark.parametrize(
    ("chat", "where", "said"),
    [
        ({"api": "embeddings", "output_tokens": 8}, "output_tokens", "an embedding has no output"),
        ({"api": "completions", "stream": False}, "stream", "is read as a stream"),
        ({"api": "responses", "batch": 2}, "batch", "is for api: embeddings"),
        ({"api": "embeddings", "batch": 0}, "batch", "whole number >= 1"),
        ({"api": "completions", "body": {"x": 1}}, "body", "builds the request body itself"),
        ({"api": "sse", "dataset": "x.jsonl"}, "dataset", "needs api: openai, completions"),
    ],
)
def test_what_an_endpoint_cannot_do_is_a_profile_error(chat, where, said):
    with pytest.raises(ProfileError) as caught:
        loadgen.profile_from_dict(profile("http://127.0.0.1:9", prompt="hi", **chat))
    assert where in str(caught.value)
    assert said in str(caught.value)


def test_a_ttft_threshold_on_an_embeddings_only_profile_is_a_profile_error():
    """TTFT does not exist for embeddings: a threshold on it would pass or fail on nothing."""
    data = profile("http://127.0.0.1:9", api="embeddings", prompt="hi")
    data["thresholds"] = {"ttft.p95": "< 1s", "e2e.p95": "< 2s"}
    with pytest.raises(ProfileError) as caught:
        loadgen.profile_from_dict(data)
    text = str(caught.value)
    assert "ttft" in text
    assert "no streamed answer" in text
    assert "e2e.p95" not in text  # the limit an embedding has data for is fine


def test_the_answer_read_on_completions_is_sent_back_in_a_conversation(server, tmp_path):
    """A two-turn dataset conversation on api: responses sends the server's own answer as
    the assistant turn of the second request."""
    server.received.clear()
    path = tmp_path / "chats.jsonl"
    path.write_text('{"prompt": ["first question", "second question"]}\n')
    run(profile(server.url, api="responses", dataset={"path": str(path), "sample": "sequential"}))
    first, second = server.received[0].body, server.received[1].body
    assert first["input"] == [{"role": "user", "content": "first question"}]
    assert second["input"] == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "".join(ANSWER[:TOKENS])},
        {"role": "user", "content": "second question"},
    ]


def test_the_quick_path_takes_an_endpoint(server, tmp_path, capsys):
    """--api completions writes api: completions into the quick profile and the requests go
    to /v1/completions with the synthetic prompt and length asked."""
    server.received.clear()
    argv = ["run", "--url", server.url, "--model", "m", "--api", "completions"]
    argv += ["--input-tokens", "30", "--output-tokens", str(TOKENS), "--duration", "1s"]
    assert main([*argv, "--print-profile"]) == 0
    assert "api: completions" in capsys.readouterr().out
    assert main([*argv, "--users", "1", "--out", str(tmp_path / "out")]) == 0
    assert server.received
    assert {r.path for r in server.received} == {"/v1/completions"}
    assert all(default_tokenizer().count(r.body["prompt"]) == 30 for r in server.received)
