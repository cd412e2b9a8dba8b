"""The built-in target's prompt costs (issue #20 item 7): prompt tokens counted with the
default tokenizer on every answer, prefill time per uncached token, and a vLLM-style prefix
cache whose hits cost no prefill — each checked on the wire and against the truth log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import chat_profile, run_async
from target_helpers import fast_config, login, read_truth

import loadgen
from loadgen.core.bpe import default_tokenizer
from loadgen.target import BuiltinTarget
from loadgen.target.config import ConfigError, config_from_mapping
from loadgen.target.flags import parse_serve_args
from loadgen.target.prefill import PrefixCache

TTFT = 0.020
PER_TOKEN = 0.0001  # 100 µs a token: 1,000 tokens cost 100 ms of prefill
BLOCK = 16


@pytest.fixture(scope="module")
def cached_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltinTarget]:
    truth = tmp_path_factory.mktemp("prefill") / "truth.jsonl"
    config = fast_config(
        timing={"ttft": f"{TTFT}s", "itl": "1ms", "output_tokens": 2, "prefill_per_token": "0.1ms"},
        prefix_cache={"enabled": True, "block_tokens": BLOCK, "capacity_blocks": 100_000},
    )
    with BuiltinTarget(config, truth=truth) as t:
        yield t


def words(n: int, word: str = " the") -> str:
    """Text of exactly ``n`` tokens of the default tokenizer (checked)."""
    text = word * n
    assert default_tokenizer().count(text) == n
    return text


def chat(client: httpx.Client, rid: str, *contents: str) -> dict:
    messages = [{"role": "user", "content": c} for c in contents]
    response = client.post(
        "/v1/chat/completions", json={"messages": messages}, headers={"x-request-id": rid}
    )
    assert response.status_code == 200, response.text
    return response.json()["usage"]


def server_ttft(record: dict) -> float:
    return record["first_token"] - record["arrival"] - record["queue_wait"]


def test_prefill_is_charged_per_uncached_token_and_logged(cached_target: BuiltinTarget) -> None:
    """A 1,000-token prompt (a miss) waits TTFT + 1,003 × 100 µs; the truth log says the
    prompt's tokens, the prefill charged, and that nothing was cached."""
    with httpx.Client(base_url=cached_target.url, timeout=10) as client:
        usage = chat(client, "long-1", words(1000, " model"))
        short = chat(client, "short-1", words(10, " server"))
    truth = read_truth(cached_target, ["long-1", "short-1"])
    long, small = truth["long-1"], truth["short-1"]
    assert usage["prompt_tokens"] == long["prompt_tokens"] == 1000 + 3  # + the chat template
    assert short["prompt_tokens"] == small["prompt_tokens"] == 13
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}
    assert (long["prefix_cache"], long["cached_tokens"]) == ("miss", 0)
    assert long["prefill"] == pytest.approx(1003 * PER_TOKEN)
    assert small["prefill"] == pytest.approx(13 * PER_TOKEN)
    for record in (long, small):
        expected = TTFT + record["prefill"]
        assert -0.0015 <= server_ttft(record) - expected <= 0.030


def test_a_shared_prefix_hits_in_whole_blocks_and_costs_no_prefill(
    cached_target: BuiltinTarget,
) -> None:
    """Two prompts sharing a 160-token first message: the second finds those 10 blocks (and
    no more: its own text differs from the first token on), and pays prefill only for the
    rest. The same prompt again hits all its whole blocks."""
    shared = words(160, " of")
    with httpx.Client(base_url=cached_target.url, timeout=10) as client:
        first = chat(client, "pre-a", shared, words(40, " time"))
        second = chat(client, "pre-b", shared, words(40, " and"))
        again = chat(client, "pre-c", shared, words(40, " and"))
    truth = read_truth(cached_target, ["pre-a", "pre-b", "pre-c"])
    a, b, c = truth["pre-a"], truth["pre-b"], truth["pre-c"]
    assert (a["prefix_cache"], a["cached_tokens"]) == ("miss", 0)
    assert (b["prefix_cache"], b["cached_tokens"]) == ("hit", 160)
    assert (c["prefix_cache"], c["cached_tokens"]) == ("hit", 192)  # 200 tokens: 12 blocks
    for usage, record in ((first, a), (second, b), (again, c)):
        assert usage["prompt_tokens"] == record["prompt_tokens"] == 206
        assert usage["prompt_tokens_details"]["cached_tokens"] == record["cached_tokens"]
        charged = (record["prompt_tokens"] - record["cached_tokens"]) * PER_TOKEN
        assert record["prefill"] == pytest.approx(charged)
        assert -0.0015 <= server_ttft(record) - (TTFT + charged) <= 0.030


def test_the_chatbot_api_counts_with_the_same_tokenizer(cached_target: BuiltinTarget) -> None:
    """``/api/chat`` (and the WebSocket, which shares its answer) counts the message with the
    default tokenizer too, + 3 for the template, and charges its prefill."""
    with httpx.Client(base_url=cached_target.url, timeout=10) as client:
        token = login(client)["access_token"]
        response = client.post(
            "/api/chat",
            json={"message": words(50, " server"), "stream": False},
            headers={"authorization": f"Bearer {token}", "x-request-id": "api-1"},
        )
    assert response.status_code == 200, response.text
    record = read_truth(cached_target, ["api-1"])["api-1"]
    assert response.json()["usage"]["prompt_tokens"] == record["prompt_tokens"] == 53
    assert record["prefill"] == pytest.approx(53 * PER_TOKEN)
    assert -0.0015 <= server_ttft(record) - (TTFT + 53 * PER_TOKEN) <= 0.030


def test_a_block_hits_only_after_every_earlier_block_hit() -> None:
    """Blocks are keyed by their prefix: the same tokens after a different start miss."""
    cache = PrefixCache(block_tokens=4, capacity_blocks=100)
    assert cache.lookup([tuple(range(12))]) == 0
    assert cache.lookup([tuple(range(12))]) == 12
    assert cache.lookup([(99, *range(1, 12))]) == 0  # first block differs: nothing hits
    assert cache.lookup([tuple(range(10))]) == 8  # the partial third block never counts
    assert cache.lookup([(0, 1), (2, 3, 4, 5, 6, 7)]) == 8  # messages join into one sequence


def test_least_recently_used_blocks_are_evicted() -> None:
    cache = PrefixCache(block_tokens=2, capacity_blocks=4)
    a, b = (1, 2, 3, 4), (5, 6, 7, 8)
    cache.lookup([a])
    cache.lookup([b])  # four blocks held
    assert cache.lookup([a]) == 4  # a is now the most recent
    cache.lookup([(9, 10, 11, 12)])  # evicts b's two blocks
    assert cache.lookup([a]) == 4
    assert cache.lookup([b]) == 0


def test_prefill_per_token_is_one_knob_and_context_ttft_its_alias() -> None:
    """The older per-1000-token key and flag set the same knob; both at once is an error."""
    config = config_from_mapping({"timing": {"context_ttft": "50ms"}})
    assert config.timing.prefill_per_token == pytest.approx(0.00005)
    assert parse_serve_args(["--prefill-per-token", "50us"]).timing.prefill_per_token == (
        pytest.approx(0.00005)
    )
    assert parse_serve_args(["--context-ttft", "50ms"]).timing.prefill_per_token == (
        pytest.approx(0.00005)
    )
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"timing": {"context_ttft": "50ms", "prefill_per_token": "1ms"}})
    assert caught.value.problems[0][0] == "timing.context_ttft"
    assert "give only prefill_per_token" in str(caught.value)


@pytest.mark.parametrize(
    ("data", "key", "said"),
    [
        ({"prefix_cache": {"block_tokens": 0}}, "prefix_cache.block_tokens", "1 or more"),
        ({"prefix_cache": {"enabled": "maybe"}}, "prefix_cache.enabled", "true or false"),
        ({"reasoning": {"share": 2}}, "reasoning.share", "outside 0–100 %"),
        ({"reasoning": {"field": "thoughts"}}, "reasoning.field", "reasoning_content"),
        ({"reasoning": {"efforts": "low"}}, "reasoning.efforts", "low=0.25"),
        ({"tool_calls": {"rat": 1}}, "tool_calls.rat", "did you mean 'rate'"),
    ],
)
def test_a_wrong_model_server_knob_names_its_key(data: dict, key: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(data)
    assert caught.value.problems[0][0] == key
    assert said in str(caught.value)


def test_a_loadgen_run_with_shared_prefixes_hits_the_cache(tmp_path: Path) -> None:
    """loadgen's ``prefix: {tokens: 1000, count: 2}``: after the first request of each
    prefix, every request finds the prefix's 62 whole blocks (992 tokens) cached and pays
    prefill only for the rest; the client's input tokens are the server's count."""
    builtin = {
        "timing": {"ttft": "5ms", "itl": "1ms", "output_tokens": 2, "prefill_per_token": "20us"},
        "capacity": {"slots": 0},
        "prefix_cache": {"enabled": True},
    }
    data = chat_profile(users=2, duration="2s", builtin=builtin)
    data["users"][0]["tasks"] = [
        {"chat": {"input_tokens": 1200, "output_tokens": 2, "prefix": {"tokens": 1000, "count": 2}}}
    ]
    truth_path = tmp_path / "truth.jsonl"
    result = run_async(loadgen.run(loadgen.profile_from_dict(data), truth=truth_path))
    assert result.errors == {}
    chats = [json.loads(line) for line in truth_path.read_text().splitlines()]
    chats = [t for t in chats if t["route"] == "/v1/chat/completions"]
    assert len(chats) == result.requests >= 10
    misses = [t for t in chats if t["prefix_cache"] == "miss"]
    hits = [t for t in chats if t["prefix_cache"] == "hit"]
    assert len(misses) <= 2  # the first request of each prefix
    assert len(hits) == len(chats) - len(misses)
    for t in hits:
        assert 992 <= t["cached_tokens"] < t["prompt_tokens"] == 1203
        assert t["prefill"] == pytest.approx((1203 - t["cached_tokens"]) * 0.00002)
    assert result.metrics["input_tokens"].min == result.metrics["input_tokens"].max == 1203
