"""Paced streams: a server that writes each event in its own chunk, a few ms apart, on a
TCP_NODELAY socket (as vLLM sends tokens) gets each content event stamped at its own read,
within a generous bound of the server's own send time, with the right counts."""

from __future__ import annotations

import asyncio
import socket
import time

from loopserver import SSE_HEAD, LoopServer, chunk, framed, read_request, usage

from loadgen.core.profile.model import ChatTask
from loadgen.core.sample import Sample
from loadgen.edge.exchange import chat_body, run_chat
from loadgen.edge.transport import ClientFactory, VUClient

TOKENS = 12
GAP = 0.004  # seconds between the server's writes
ANSWERS = 3  # on one kept-alive connection
BOUND = 0.015  # a read stamped later than its send by more than this is a defect


class PacedServer(LoopServer):
    """Answers each request with a role chunk, TOKENS content chunks, a finish chunk, usage
    and [DONE], each its own HTTP chunk and write, GAP apart; keeps every content send time
    by the request's id (monotonic: the client's clock on this machine)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[str, list[float]] = {}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(ANSWERS):
            _, headers, _ = await read_request(reader)
            times = self.sent.setdefault(headers["x-request-id"], [])
            writer.write(SSE_HEAD + framed(chunk({"role": "assistant", "content": ""})))
            for i in range(TOKENS):
                await asyncio.sleep(GAP)
                times.append(time.monotonic())  # before the write: the read cannot precede it
                writer.write(framed(chunk({"content": f" w{i}"})))
            for event in (chunk({}, "stop"), usage(TOKENS), b"data: [DONE]\n\n"):
                await asyncio.sleep(GAP)
                writer.write(framed(event))
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        writer.close()


async def _chats(url: str) -> list[Sample]:
    factory = ClientFactory(url, timeout=10.0, connect_timeout=5.0)
    client = VUClient(factory)
    task = ChatTask(prompt="hi", max_tokens=TOKENS)
    samples = []
    try:
        for n in range(ANSWERS):
            now = time.monotonic()
            sample = Sample(name="chat", user_class="u", t0=now, send=now, request_id=f"r{n}")
            body = chat_body(task, [{"role": "user", "content": "hi"}], {})
            await run_chat(client, task, task.path, {}, body, sample, timeout=10.0)
            samples.append(sample)
    finally:
        await client.aclose()
    return samples


def test_each_paced_event_is_stamped_at_its_own_read() -> None:
    """Three answers on one connection: every content event counted once, usage read, each
    stamp after the server's send and within BOUND of it, and stamps as far apart as the
    server's writes (not bunched: each read was stamped when it came)."""
    with PacedServer() as server:
        samples = asyncio.run(_chats(server.url))
    assert len(samples) == ANSWERS
    for sample in samples:
        assert sample.error is None, sample.message
        assert sample.usage_tokens == TOKENS
        sent = server.sent[sample.request_id]
        assert len(sample.token_times) == len(sent) == TOKENS
        lateness = [got - put for got, put in zip(sample.token_times, sent, strict=True)]
        assert all(0 <= late < BOUND for late in lateness), lateness
        # The server's gaps (>= GAP each) show in the client's stamps: ~TOKENS-1 gaps apart.
        span = sample.token_times[-1] - sample.token_times[0]
        assert span >= (TOKENS - 1) * GAP - BOUND
        assert len(set(sample.token_times)) > TOKENS // 2  # not one read for the lot
