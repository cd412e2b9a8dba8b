"""WebSocket chat at /api/realtime/ws, on the HTTP port, with the ``websockets`` client."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from target_helpers import TOKENS, new_user, read_truth
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from loadgen.target import BuiltinTarget


@pytest.fixture
def token(client: httpx.Client) -> str:
    return new_user(client, f"ws-{uuid.uuid4().hex[:8]}@example.com")


async def _answer(ws: Any) -> tuple[list[str], dict[str, Any]]:
    tokens = []
    while True:
        message = json.loads(await ws.recv())
        if message["type"] == "token":
            tokens.append(message["content"])
        else:
            return tokens, message


def test_ws_streams_tokens_then_end(target: BuiltinTarget, token: str) -> None:
    """Token messages then an end message with usage; a second turn keeps the conversation."""

    async def run() -> tuple[Any, Any, Any, Any]:
        async with connect(f"{target.ws_url}/api/realtime/ws?token={token}") as ws:
            await ws.send(json.dumps({"type": "message", "content": "hello", "id": "ws-1"}))
            first = await _answer(ws)
            await ws.send(
                json.dumps(
                    {
                        "type": "message",
                        "content": "more",
                        "conversation_id": first[1]["conversation_id"],
                    }
                )
            )
            second = await _answer(ws)
        return first[0], first[1], second[0], second[1]

    tokens, end, tokens2, end2 = asyncio.run(run())
    assert len(tokens) == TOKENS == end["usage"]["completion_tokens"]
    assert end["type"] == "end"
    assert end2["conversation_id"] == end["conversation_id"]
    assert end2["usage"]["prompt_tokens"] > end["usage"]["prompt_tokens"]
    assert len(tokens2) == TOKENS
    line = read_truth(target, ["ws-1"])["ws-1"]
    assert line["route"] == "/api/realtime/ws"
    assert len(line["tokens"]) == TOKENS


def test_ws_accepts_bearer_header(target: BuiltinTarget, token: str) -> None:
    """The token may come in an Authorization header instead of the query."""

    async def run() -> list[str]:
        async with connect(
            f"{target.ws_url}/api/realtime/ws",
            additional_headers={"Authorization": f"Bearer {token}"},
        ) as ws:
            await ws.send(json.dumps({"type": "message", "content": "hi"}))
            return (await _answer(ws))[0]

    assert len(asyncio.run(run())) == TOKENS


def test_ws_without_token_is_rejected_401(target: BuiltinTarget) -> None:
    """The handshake itself is refused with HTTP 401."""

    async def run() -> None:
        async with connect(f"{target.ws_url}/api/realtime/ws"):
            pass

    with pytest.raises(InvalidStatus) as info:
        asyncio.run(run())
    assert info.value.response.status_code == 401


def test_ws_errors_and_faults(target: BuiltinTarget, token: str) -> None:
    """Bad JSON → error 400; a 503 fault → error 503 and the socket stays usable;
    expire_token → error 401 then close code 4401."""

    async def run() -> tuple[Any, Any, list[str], Any, int | None]:
        async with connect(f"{target.ws_url}/api/realtime/ws?token={token}") as ws:
            await ws.send("not json")
            bad = json.loads(await ws.recv())
            await ws.send(json.dumps({"type": "message", "content": "x", "fault": "http_503"}))
            unavailable = json.loads(await ws.recv())
            await ws.send(json.dumps({"type": "message", "content": "x"}))
            tokens, _ = await _answer(ws)
            await ws.send(json.dumps({"type": "message", "content": "x", "fault": "expire_token"}))
            expired = json.loads(await ws.recv())
            code = None
            try:
                await ws.recv()
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
            return bad, unavailable, tokens, expired, code

    bad, unavailable, tokens, expired, code = asyncio.run(run())
    assert (bad["type"], bad["code"]) == ("error", 400)
    assert (unavailable["type"], unavailable["code"]) == ("error", 503)
    assert len(tokens) == TOKENS
    assert (expired["code"], code) == (401, 4401)


def test_ws_drop_mid_stream(target: BuiltinTarget, token: str) -> None:
    """drop_mid_stream closes the TCP connection after half the tokens (no close frame)."""

    async def run() -> tuple[int, bool]:
        received = 0
        async with connect(f"{target.ws_url}/api/realtime/ws?token={token}") as ws:
            await ws.send(
                json.dumps({"type": "message", "content": "x", "fault": "drop_mid_stream"})
            )
            try:
                while True:
                    message = json.loads(await ws.recv())
                    received += message["type"] == "token"
            except ConnectionClosed as exc:
                return received, exc.rcvd is None
        return received, False

    received, abnormal = asyncio.run(run())
    assert received == TOKENS // 2
    assert abnormal
