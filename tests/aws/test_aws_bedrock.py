"""Bedrock converse_stream against a loopback stand-in speaking AWS's event-stream encoding.

moto has no bedrock-runtime streaming, so this server writes the binary frames itself
(prelude with lengths and CRC32, typed headers, JSON payload, message CRC32) and aioboto3
parses them natively, exactly as it would parse Bedrock's.
"""

from __future__ import annotations

import asyncio
import binascii
import json
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import monotonic

import pytest
from aws_helpers import REGION, run

from loadgen.core.errors import ErrorKind
from loadgen.core.sample import Sample
from loadgen.edge.aws.bedrock import bedrock_messages, run_converse_stream
from loadgen.edge.aws.clients import AwsClients

TTFT, ITL, TOKENS = 0.08, 0.02, 5


def frame(event: str, payload: dict[str, object], message_type: str = "event") -> bytes:
    """One event-stream message: [total][headers len][prelude crc] headers payload [crc]."""
    kind = ":exception-type" if message_type == "exception" else ":event-type"
    headers = b""
    for name, value in (
        (kind, event),
        (":content-type", "application/json"),
        (":message-type", message_type),
    ):
        headers += bytes([len(name)]) + name.encode() + b"\x07"
        headers += struct.pack(">H", len(value)) + value.encode()
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message))


def answer(mode: str) -> list[tuple[float, bytes]]:
    """(delay before, frame) of one streamed answer; ``broken`` fails after two tokens."""
    out = [(0.0, frame("messageStart", {"role": "assistant"}))]
    out.append((0.0, frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": ""}})))
    for i in range(TOKENS):
        if mode == "broken" and i == 2:
            return [
                *out,
                (0.0, frame("modelStreamErrorException", {"message": "boom"}, "exception")),
            ]
        delta = {"contentBlockIndex": 0, "delta": {"text": f" tok{i}"}}
        out.append((TTFT if i == 0 else ITL, frame("contentBlockDelta", delta)))
    out.append((0.0, frame("contentBlockStop", {"contentBlockIndex": 0})))
    out.append((0.0, frame("messageStop", {"stopReason": "end_turn"})))
    usage = {"inputTokens": 9, "outputTokens": TOKENS, "totalTokens": 9 + TOKENS}
    out.append((0.0, frame("metadata", {"usage": usage, "metrics": {"latencyMs": 180}})))
    return out


@asynccontextmanager
async def stand_in(mode: str, seen: list[dict[str, object]]) -> AsyncIterator[str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in head[1:] if h)}
        body = await reader.readexactly(int(headers["content-length"]))
        seen.append({"path": head[0].split(" ")[1], **json.loads(body)})
        if mode == "throttled":
            error = b'{"message":"Too many requests"}'
            writer.write(
                b"HTTP/1.1 429 Too Many Requests\r\nx-amzn-errortype: ThrottlingException\r\n"
                b"content-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(error) + error
            )
        else:
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            for delay, data in answer(mode):
                if delay:
                    await asyncio.sleep(delay)
                writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def converse(mode: str) -> tuple[Sample, str, list[dict[str, object]]]:
    seen: list[dict[str, object]] = []

    async def go() -> tuple[Sample, str]:
        async with stand_in(mode, seen) as url:
            clients = AwsClients(region=REGION, endpoint_url=url)
            client = await clients.get("bedrock-runtime")
            t0 = monotonic()
            sample = Sample(name="chat.bedrock", user_class="u", t0=t0, send=t0)
            text = await run_converse_stream(
                client,
                model_id="anthropic.claude-3-haiku",
                messages=[
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "hi"},
                ],
                sample=sample,
                timeout=10,
                max_tokens=64,
                keep_text=True,
            )
            await clients.aclose()
            return sample, text

    sample, text = run(go())
    return sample, text, seen


def test_stream_is_measured_ttft_itl_e2e_and_usage_tokens() -> None:
    """Content deltas are token times (the empty one is not); usage gives output tokens."""
    sample, text, seen = converse("ok")
    assert sample.ok
    assert sample.status == 200
    assert text == "".join(f" tok{i}" for i in range(TOKENS))
    assert sample.usage_tokens == TOKENS
    assert sample.content_events == TOKENS
    assert sample.first_byte is not None
    assert sample.end is not None
    ttft = sample.token_times[0] - sample.t0
    gaps = [b - a for a, b in zip(sample.token_times, sample.token_times[1:], strict=False)]
    assert TTFT * 0.9 <= ttft < TTFT + 0.5
    assert all(ITL * 0.5 <= g < ITL + 0.3 for g in gaps)
    assert sample.end >= sample.token_times[-1]
    request = seen[0]
    assert request["path"] == "/model/anthropic.claude-3-haiku/converse-stream"
    assert request["system"] == [{"text": "be brief"}]
    assert request["inferenceConfig"] == {"maxTokens": 64}


@pytest.mark.parametrize(
    ("mode", "kind", "status"),
    [
        pytest.param(
            "throttled", ErrorKind.HTTP_429, 429, id="a throttle is an http_429, not retried"
        ),
        pytest.param(
            "broken", ErrorKind.STREAM_BROKEN, 200, id="an exception mid-stream breaks it"
        ),
    ],
)
def test_failures_become_error_kinds(mode: str, kind: ErrorKind, status: int) -> None:
    """Throttles are counted once (one attempt); stream exceptions keep the tokens so far."""
    sample, _, seen = converse(mode)
    assert (sample.error, sample.status) == (kind, status)
    assert len(seen) == 1  # total_max_attempts 1: no hidden retry
    assert sample.end is not None
    if mode == "broken":
        assert sample.content_events == 2
        assert "modelStreamErrorException" in sample.message


def test_messages_map_to_converse_shape() -> None:
    """System prompts go to ``system``; user/assistant turns become content blocks."""
    turns, system = bedrock_messages(
        [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
         {"role": "assistant", "content": "a"}]
    )  # fmt: skip
    assert system == [{"text": "s"}]
    assert turns == [
        {"role": "user", "content": [{"text": "u"}]},
        {"role": "assistant", "content": [{"text": "a"}]},
    ]
