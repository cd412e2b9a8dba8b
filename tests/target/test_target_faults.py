"""Every fault kind, forced with ``x-loadgen-fault`` or drawn at a rate, seen over loopback."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import Counter

import httpx
import pytest
from target_helpers import ITL, TOKENS, TTFT, fast_config, new_user, read_truth, sse_events

from loadgen.target import BuiltinTarget

MESSAGES = [{"role": "user", "content": "hello"}]


def _post(client: httpx.Client, fault: str, rid: str) -> httpx.Response:
    return client.post(
        "/v1/chat/completions",
        json={"messages": MESSAGES, "stream": True},
        headers={"x-loadgen-fault": fault, "x-request-id": rid},
    )


@pytest.mark.parametrize(
    ("fault", "status"), [("http_500", 500), ("http_503", 503), ("http_429", 429)]
)
def test_error_status_faults(
    target: BuiltinTarget, client: httpx.Client, fault: str, status: int
) -> None:
    """500, 503 and 429 (with Retry-After from the config) answer at once, logged as faults."""
    rid = f"{fault}-{uuid.uuid4().hex[:6]}"
    response = _post(client, fault, rid)
    assert response.status_code == status
    assert "error" in response.json()
    if status == 429:
        assert response.headers["retry-after"] == "2"
    line = read_truth(target, [rid])[rid]
    assert (line["status"], line["fault"], line["first_token"]) == (status, fault, None)


def test_expire_token_fault(target: BuiltinTarget, client: httpx.Client) -> None:
    """The token expires early: this request and later ones with it get 401."""
    token = new_user(client, f"exp-{uuid.uuid4().hex[:8]}@example.com")
    headers = {"authorization": f"Bearer {token}", "x-loadgen-fault": "expire_token"}
    response = client.post("/api/chat", headers=headers, json={"message": "hi"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"
    me = client.get("/api/auth/me", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 401


def test_drop_mid_stream(target: BuiltinTarget, client: httpx.Client) -> None:
    """The connection ends after half the tokens, without the final chunk."""
    rid = f"drop-{uuid.uuid4().hex[:6]}"
    received: list[bytes] = []

    def read() -> None:
        with client.stream(
            "POST",
            "/v1/chat/completions",
            json={"messages": MESSAGES, "stream": True},
            headers={"x-loadgen-fault": "drop_mid_stream", "x-request-id": rid},
        ) as response:
            received.extend(response.iter_bytes())

    with pytest.raises(httpx.RemoteProtocolError):
        read()
    assert b"[DONE]" not in b"".join(received)
    line = read_truth(target, [rid])[rid]
    assert line["fault"] == "drop_mid_stream"
    assert line["reason"] == "drop_mid_stream"
    assert len(line["tokens"]) == TOKENS // 2


def test_malformed_chunk(client: httpx.Client) -> None:
    """Exactly one event is not valid JSON; every token still arrives."""
    response = _post(client, "malformed_chunk", f"mal-{uuid.uuid4().hex[:6]}")
    bad, tokens = 0, 0
    for _, data in sse_events(response.content):
        if data == "[DONE]":
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            bad += 1
            continue
        if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
            tokens += 1
    assert (bad, tokens) == (1, TOKENS)


def test_stall(target: BuiltinTarget, client: httpx.Client) -> None:
    """No bytes for the stall duration (0.6 s) in the middle of the answer."""
    rid = f"stall-{uuid.uuid4().hex[:6]}"
    assert _post(client, "stall", rid).status_code == 200
    line = read_truth(target, [rid])[rid]
    gaps = [b - a for a, b in itertools.pairwise(line["tokens"])]
    assert line["fault"] == "stall"
    assert 0.6 <= max(gaps) <= 0.6 + ITL + 0.05
    assert max(gaps) == gaps[TOKENS // 2 - 1]


def test_slow_body_read(target: BuiltinTarget, client: httpx.Client) -> None:
    """The request is read 0.4 s late, so the first token comes 0.4 s + ttft after arrival."""
    rid = f"slow-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    assert _post(client, "slow_body_read", rid).status_code == 200
    assert time.monotonic() - started >= 0.4
    line = read_truth(target, [rid])[rid]
    assert line["first_token"] - line["arrival"] >= 0.4 + TTFT - 0.002


def test_unknown_fault_header_is_400(client: httpx.Client) -> None:
    """A misspelt fault name is refused with the list of valid ones."""
    response = _post(client, "explode", "bad-fault")
    assert response.status_code == 400
    assert "drop_mid_stream" in response.json()["error"]["message"]


def test_fault_rates_are_drawn_and_logged(tmp_path_factory: pytest.TempPathFactory) -> None:
    """At rate 0.3, about 30 % of 200 requests get 500; the truth log counts the same."""
    truth = tmp_path_factory.mktemp("rates") / "truth.jsonl"
    config = fast_config(timing={"ttft": 0, "itl": 0}, faults={"http_500": 0.3})
    with BuiltinTarget(config, truth=truth) as t, httpx.Client(base_url=t.url) as c:
        statuses = Counter(
            c.post("/v1/chat/completions", json={"messages": MESSAGES, "stream": True}).status_code
            for _ in range(200)
        )
    lines = [json.loads(x) for x in truth.read_text().splitlines()]
    assert 30 <= statuses[500] <= 90
    assert sum(1 for x in lines if x["fault"] == "http_500") == statuses[500]
    assert statuses[500] + statuses[200] == 200
