"""Model-server workloads (issue #20 items 1–3): passthrough params and a system message reach
the server, prompts are built to a token count, output lengths are asked for, and the
server's prompt-token count is recorded — checked on the bytes a loopback server received and
against the built-in target's own counts."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator

import pytest
from loopserver import LoopServer, read_request, sse_answer, sse_head
from support import chat_profile, run_async

import loadgen
from loadgen.cli.commands import main
from loadgen.core.bpe import default_tokenizer
from loadgen.core.errors import ProfileError
from loadgen.engine.prompting import Prompts


class Recording(LoopServer):
    """A streaming chat server that keeps every request body it got."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[dict] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    _, _, body = await read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                    return
                self.bodies.append(json.loads(body))
                writer.write(sse_head())
                for event in sse_answer(4):
                    writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        finally:
            writer.close()


@pytest.fixture
def recording() -> Iterator[Recording]:
    with Recording() as server:
        yield server


def workload_profile(base_url: str, **chat: object) -> dict:
    data = chat_profile(users=1, duration="1s")
    data["target"] = {"base_url": base_url}
    data["load"] = {"model": "open", "rate": 5, "duration": "1s"}
    data["users"][0]["tasks"] = [{"chat": {"model": "m", **chat}}]
    return data


def test_params_system_and_output_length_reach_the_server(recording):
    """params go into the body last (they win), system opens the conversation, and an output
    length asks max_tokens, min_tokens and ignore_eos (exact_output is the default)."""
    data = workload_profile(
        recording.url,
        system="Answer briefly.",
        params={"temperature": 0, "seed": 7, "top_p": 0.5, "stream": True},
        input_tokens=40,
        output_tokens=16,
    )
    result = run_async(loadgen.run(loadgen.profile_from_dict(data)))
    assert result.requests >= 3
    assert result.errors == {}
    body = recording.bodies[0]
    assert body["messages"][0] == {"role": "system", "content": "Answer briefly."}
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert default_tokenizer().count(body["messages"][1]["content"]) == 40
    assert (body["temperature"], body["seed"], body["top_p"]) == (0, 7, 0.5)
    assert (body["max_tokens"], body["min_tokens"], body["ignore_eos"]) == (16, 16, True)
    prompts = {b["messages"][1]["content"] for b in recording.bodies}
    assert len(prompts) == len(recording.bodies)  # a new prompt for every request


def test_exact_output_false_asks_max_tokens_only(recording):
    data = workload_profile(recording.url, prompt="hi", output_tokens=8, exact_output=False)
    run_async(loadgen.run(loadgen.profile_from_dict(data)))
    body = recording.bodies[0]
    assert body["max_tokens"] == 8
    assert "min_tokens" not in body
    assert "ignore_eos" not in body


def test_the_quick_path_against_the_builtin_target_gets_the_lengths_it_asked_for(tmp_path, capsys):
    """The issue's own command (shortened): input tokens by server usage within 1 % of 512
    (the built-in target adds 3 for the chat template, as OpenAI counts), output exactly 64;
    the console says the lengths."""
    out = tmp_path / "out"
    argv = ["run", "--url", "builtin", "--input-tokens", "512", "--output-tokens", "64"]
    assert main([*argv, "--users", "2", "--duration", "2s", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "lengths: input p50 515, max 515; output p50 64, max 64 tokens per request" in said
    saved = json.loads((out / "result.json").read_text())
    metrics = saved["scopes"]["overall"]["metrics"]
    requests = saved["scopes"]["overall"]["requests"]
    assert requests > 0
    assert metrics["input_tokens"]["count"] == requests
    assert metrics["input_tokens"]["mean"] == pytest.approx(512, rel=0.01)
    assert metrics["output_tokens"]["min"] == metrics["output_tokens"]["max"] == 64


def test_a_spread_of_input_tokens_is_drawn_per_request(tmp_path):
    data = chat_profile(users=2, duration="2s", builtin={"timing": {"ttft": "5ms"}})
    data["users"][0]["tasks"] = [
        {"chat": {"input_tokens": {"uniform": [100, 300]}, "output_tokens": 4}}
    ]
    result = run_async(loadgen.run(loadgen.profile_from_dict(data)))
    tokens = result.data["scopes"]["overall"]["metrics"]["input_tokens"]
    assert 103 <= tokens["min"] < tokens["max"] <= 303  # + 3 for the template


def test_prompts_with_a_shared_prefix_start_alike_and_keep_their_count():
    data = chat_profile(users=1, duration="1s")
    data["users"][0]["tasks"] = [
        {"chat": {"input_tokens": 300, "prefix": {"tokens": 200, "count": 1}}}
    ]
    profile = loadgen.profile_from_dict(data)
    prompts = Prompts(profile, seed=1)
    chat = profile.users[0].tasks[0].chat
    rng = random.Random(5)
    made = [prompts.make(chat, rng) for _ in range(5)]
    tokenizer = default_tokenizer()
    assert all(n == 300 and tokenizer.count(text) == 300 for text, n in made)
    heads = {tokenizer.decode(tokenizer.encode(text)[:200]) for text, _ in made}
    assert len(heads) == 1
    assert len({text for text, _ in made}) == 5


@pytest.mark.parametrize(
    ("chat", "field", "said"),
    [
        ({"body": {"x": 1}}, "body", "put request parameters under params"),
        ({"params": [1]}, "params", "expected a mapping"),
        ({"prompt": "hi", "input_tokens": 10}, "prompt", "conflicts with input_tokens"),
        ({"input_tokens": 100, "prefix": {"tokens": 200, "count": 2}}, "prefix", "longer than"),
        ({"input_tokens": "lots"}, "input_tokens", "write 512"),
        ({"max_tokens": 8, "output_tokens": 8}, "max_tokens", "conflicts with output_tokens"),
        ({"api": "sse", "params": {"a": 1}}, "params", "needs api: openai"),
        ({"input_tokens": 10, "tokenizer": "nowhere.json"}, "tokenizer", "not found"),
        ({"prefix": {"tokens": 2, "count": 1}}, "prefix", "needs input_tokens"),
    ],
)
def test_a_wrong_workload_key_is_a_profile_error_naming_it(chat, field, said):
    data = chat_profile(users=1, duration="1s")
    data["users"][0]["tasks"] = [{"chat": chat}]
    with pytest.raises(ProfileError) as caught:
        loadgen.profile_from_dict(data)
    text = str(caught.value)
    assert field in text
    assert said in text


def test_the_quick_path_refuses_a_wrong_length_before_anything_runs(capsys):
    """A usage error (exit 2) naming the flag and the forms it takes."""
    assert main(["run", "--url", "builtin", "--input-tokens", "many", "--duration", "1s"]) == 2
    err = capsys.readouterr().err
    assert "--input-tokens" in err
    assert "write 512 or 512:64" in err
