"""Bedrock's connection phases (issue 21 item 4), through aiohttp's tracing in aiobotocore:
against a keep-alive stand-in that logs each request's arrival and holds its answer's head a
known time, the first request connects and the next reuses the connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import monotonic

from aws_helpers import REGION, run
from test_aws_bedrock import answer

from loadgen.core.sample import Sample
from loadgen.edge.aws.bedrock import run_converse_stream
from loadgen.edge.aws.clients import AwsClients

HOLD = 0.1  # seconds the stand-in holds each answer's head after reading the request
HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


@asynccontextmanager
async def keep_alive_stand_in(arrivals: list[float]) -> AsyncIterator[str]:
    """Answers every request of a connection (kept alive), logging when each arrived."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                fields = (h.split(":", 1) for h in head[1:] if h)
                headers = {k.lower(): v.strip() for k, v in fields}
                await reader.readexactly(int(headers["content-length"]))
                arrivals.append(monotonic())
                await asyncio.sleep(HOLD)
                writer.write(HEAD)
                for delay, data in answer("ok"):
                    if delay:
                        await asyncio.sleep(delay)
                    writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def test_bedrock_phases_first_connects_then_reuses() -> None:
    """Two streams in turn on one client: the first opens a connection (connect > 0, not
    reused), the second reuses it (connect 0); each request was going out before the
    stand-in logged it, and its first byte came after the stand-in's hold."""
    arrivals: list[float] = []

    async def go() -> list[Sample]:
        samples = []
        async with keep_alive_stand_in(arrivals) as url:
            clients = AwsClients(region=REGION, endpoint_url=url)
            client = await clients.get("bedrock-runtime")
            for _ in range(2):
                t0 = monotonic()
                sample = Sample(name="chat.bedrock", user_class="u", t0=t0, send=t0)
                await run_converse_stream(
                    client,
                    model_id="anthropic.claude-3-haiku",
                    messages=[{"role": "user", "content": "hi"}],
                    sample=sample,
                    timeout=10,
                )
                samples.append(sample)
            await clients.aclose()
        return samples

    first, second = run(go())
    assert len(arrivals) == 2
    assert (first.reused, second.reused) == (False, True)
    assert first.connect is not None
    assert first.connect > 0
    assert second.connect == 0.0
    assert first.tls is None  # aiohttp opens TCP and TLS in one step: inside connect
    for sample, arrival in zip((first, second), arrivals, strict=True):
        assert sample.ok
        assert sample.write_start is not None
        assert sample.written is not None
        assert sample.first_byte is not None
        assert sample.write_start <= arrival <= sample.first_byte - HOLD
        assert sample.write_start <= sample.written <= sample.first_byte
        assert sample.ttft is not None
        assert sample.ttft >= (sample.connect or 0.0) + sample.wait_time
