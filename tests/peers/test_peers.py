"""loadgen against real third-party OpenAI-compatible servers (issue #16, item 1).

``transformers serve`` ends every stream after the chunk with finish_reason and usage,
without ``data: [DONE]``; LiteLLM's proxy sends ``[DONE]``. The shipped smoke profile, pointed
at each with CHATBOT_URL and CHATBOT_MODEL as the README says, must pass ``loadgen check`` and
a short run with no error, and its token counts must be the server's own usage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from peer_servers import Peer

from loadgen.cli.commands import main

pytestmark = pytest.mark.peers

SMOKE = str(Path(__file__).resolve().parents[2] / "profiles" / "smoke.yaml")
MAX_TOKENS = {"chat.simple": 64, "chat.common": 128, "chat.complex": 256}  # as smoke.yaml asks


def point_at(monkeypatch: pytest.MonkeyPatch, peer: Peer) -> None:
    monkeypatch.setenv("CHATBOT_URL", peer.url)
    monkeypatch.setenv("CHATBOT_MODEL", peer.model)


def server_usage(peer: Peer, max_tokens: int) -> int:
    """The completion tokens the server itself reports in one streamed answer's usage chunk
    (read here with plain httpx). LiteLLM's mock counts a streamed answer differently from a
    non-streamed one (14 and 20 tokens for the same text), so the streamed figure it is."""
    body = {
        "model": peer.model,
        "messages": [{"role": "user", "content": "How are you?"}],
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    reply = httpx.post(peer.url + "/v1/chat/completions", json=body, timeout=60.0)
    reply.raise_for_status()
    chunks = [
        json.loads(line[6:]) for line in reply.text.splitlines() if line.startswith("data: {")
    ]
    usages = [c["usage"]["completion_tokens"] for c in chunks if c.get("usage")]
    assert len(usages) == 1, reply.text
    tokens: int = usages[0]
    return tokens


def smoke_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], peer: Peer, out: Path
) -> tuple[dict[str, Any], str]:
    point_at(monkeypatch, peer)
    code = main([SMOKE, "--duration", "4s", "--users", "2", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text + peer.log.read_text(errors="replace")[-2000:]
    return json.loads((out / "result.json").read_text()), text


def test_check_passes_against_transformers_serve(transformers_serve, monkeypatch, capsys):
    """`loadgen check` on the smoke profile: every task answers, although no stream of
    transformers serve ends with data: [DONE]."""
    point_at(monkeypatch, transformers_serve)
    assert main(["check", SMOKE]) == 0
    assert "3 of 3 requests ok" in capsys.readouterr().out


def test_a_run_against_transformers_serve_counts_its_usage(
    transformers_serve, monkeypatch, capsys, tmp_path
):
    """A short smoke run has no error; every answer's tokens are the server's usage, which
    for this model (it never stops by itself) is the task's max_tokens; the result and the
    console say that every stream ended without [DONE], after a finish_reason."""
    assert server_usage(transformers_serve, 7) == 7
    result, text = smoke_run(monkeypatch, capsys, transformers_serve, tmp_path / "run")
    overall = result["scopes"]["overall"]
    assert overall["errors"] == 0, result["errors"]
    assert overall["requests"] >= 3
    assert overall["token_source"] == {"usage": overall["requests"]}
    for name, scope in result["scopes"]["by_name"].items():
        assert scope["output_tokens"] == scope["requests"] * MAX_TOKENS[name], name
    assert overall["without_done"] == {"finish_reason": overall["requests"]}
    n = overall["requests"]
    assert (
        f"{n} of {n} streams ended without data: [DONE] "
        "(accepted: finish_reason then a clean end)" in text
    )


def test_check_passes_against_the_litellm_proxy(litellm_proxy, monkeypatch, capsys):
    """`loadgen check` on the smoke profile through LiteLLM's proxy (mock responses)."""
    point_at(monkeypatch, litellm_proxy)
    assert main(["check", SMOKE]) == 0
    assert "3 of 3 requests ok" in capsys.readouterr().out


def test_a_run_against_the_litellm_proxy_counts_its_usage(
    litellm_proxy, monkeypatch, capsys, tmp_path
):
    """A short smoke run has no error and its tokens are exactly the proxy's usage for its
    fixed mock answer, per request; its streams end with [DONE], so none is noted."""
    per_answer = server_usage(litellm_proxy, 64)
    result, text = smoke_run(monkeypatch, capsys, litellm_proxy, tmp_path / "run")
    overall = result["scopes"]["overall"]
    assert overall["errors"] == 0, result["errors"]
    assert overall["requests"] >= 3
    assert overall["token_source"] == {"usage": overall["requests"]}
    assert overall["output_tokens"] == overall["requests"] * per_answer
    assert overall["without_done"] == {}
    assert "without data: [DONE]" not in text


def test_prompts_built_with_the_servers_own_tokenizer_match_its_prompt_count(
    transformers_serve, tiny_model, tmp_path, capsys
):
    """Issue #20: prompts of an exact length by the model's own tokenizer.json; the server's
    usage counts each prompt as the requested 48 tokens plus its chat template's fixed
    overhead (the same for every request), and every answer is exactly 6 tokens."""
    profile = tmp_path / "tokens.yaml"
    profile.write_text(
        json.dumps(
            {
                "name": "own-tokenizer",
                "target": {"base_url": transformers_serve.url, "timeout": "60s"},
                "users": [
                    {
                        "name": "u",
                        "tasks": [
                            {
                                "chat": {
                                    "model": transformers_serve.model,
                                    "input_tokens": 48,
                                    "output_tokens": 6,
                                    # transformers serve refuses unknown fields (HTTP 422
                                    # "Unexpected fields: min_tokens, ignore_eos"); this
                                    # model never stops by itself, so max_tokens is exact
                                    "exact_output": False,
                                    "tokenizer": str(tiny_model / "tokenizer.json"),
                                }
                            }
                        ],
                    }
                ],
                "load": {"users": 2, "duration": "4s"},
                "report": {"formats": ["json", "csv"]},
            }
        )
    )
    code = main([str(profile), "--out", str(tmp_path / "run")])
    text = capsys.readouterr().out
    assert code == 0, text + transformers_serve.log.read_text(errors="replace")[-2000:]
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    overall = result["scopes"]["overall"]
    assert overall["errors"] == 0
    assert overall["output_tokens"] == 6 * overall["requests"]
    served = overall["metrics"]["input_tokens"]
    # The template (`<s>user: …\n<s>assistant: `) adds the same tokens to every prompt: 14
    # with this 512-token vocabulary, which spells "user" and "assistant" in pieces.
    assert served["min"] == served["max"], served
    overhead = served["max"] - 48
    assert 1 <= overhead <= 20, served
