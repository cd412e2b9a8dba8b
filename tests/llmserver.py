"""A loopback model server for the tests: chat completions, text completions, the Responses
API and embeddings in the wire formats vLLM and OpenAI send, recording every request it got
and when it sent each answer's first content event (``time.monotonic``, the clock the
generator's samples use: the same machine, so comparable).

``ModelServer(first=0.05, gap=0.01, tokens=4)``: the first content event goes out ``first``
seconds after the request was read, then one every ``gap``. ``broken=True`` sends a
malformed event (not JSON) in the middle of every streamed answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from loopserver import LoopServer, chunk, read_request, sse_head, usage

__all__ = ["ANSWER", "ModelServer", "Received"]

ANSWER = [f" w{i}" for i in range(16)]


def _event(data: Any, name: str | None = None) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {text}\n\n".encode()


class Received:
    """One request as the server saw it."""

    def __init__(self, path: str, body: dict[str, Any], at: float, request_id: str) -> None:
        self.path, self.body, self.at, self.request_id = path, body, at, request_id
        self.first_sent: float | None = None  # when the first content event was written


class ModelServer(LoopServer):
    def __init__(
        self, *, first: float = 0.0, gap: float = 0.0, tokens: int = 4, broken: bool = False
    ) -> None:
        super().__init__()
        self.first, self.gap, self.tokens, self.broken = first, gap, tokens, broken
        self.received: list[Received] = []

    def bodies(self, path: str | None = None) -> list[dict[str, Any]]:
        return [r.body for r in self.received if path is None or r.path == path]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head, headers, raw = await read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                    return
                path = head.split(b" ", 2)[1].decode()
                got = Received(
                    path, json.loads(raw), time.monotonic(), headers.get("x-request-id", "")
                )
                self.received.append(got)
                if path == "/v1/embeddings":
                    await self._embeddings(writer, got)
                else:
                    await self._stream(writer, got)
        finally:
            writer.close()

    async def _embeddings(self, writer: asyncio.StreamWriter, got: Received) -> None:
        inputs = got.body["input"]
        await asyncio.sleep(self.first)
        body = json.dumps(
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                    for i in range(len(inputs))
                ],
                "model": got.body["model"],
                "usage": {"prompt_tokens": 7 * len(inputs), "total_tokens": 7 * len(inputs)},
            }
        ).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()

    async def _stream(self, writer: asyncio.StreamWriter, got: Received) -> None:
        opening, pieces, closing = self._events(got)
        writer.write(sse_head())
        for event in opening:
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
        await writer.drain()
        await asyncio.sleep(self.first)
        for i, event in enumerate(pieces):
            if i:
                await asyncio.sleep(self.gap)
            elif got.first_sent is None:
                got.first_sent = time.monotonic()
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
            if self.broken and i == len(pieces) // 2:
                bad = b"data: {not json\n\n"
                writer.write(b"%x\r\n%s\r\n" % (len(bad), bad))
        for event in closing:
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    def _events(self, got: Received) -> tuple[list[bytes], list[bytes], list[bytes]]:
        """(before the first token, one event per token, after the last)."""
        n, words = self.tokens, ANSWER[: self.tokens]
        if got.path == "/v1/completions":
            pieces = [
                _event({"object": "text_completion", "choices": [{"index": 0, "text": w}]})
                for w in words
            ]
            end = {"choices": [{"index": 0, "text": "", "finish_reason": "length"}]}
            counts = {"prompt_tokens": 9, "completion_tokens": n, "total_tokens": 9 + n}
            tail = [_event(end), _event({"choices": [], "usage": counts}), _event("[DONE]")]
            return [], pieces, tail
        if got.path == "/v1/responses":
            created = {"type": "response.created", "response": {"id": "r", "status": "x"}}
            kind = "response.output_text.delta"
            pieces = [_event({"type": kind, "delta": w}, kind) for w in words]
            done = {
                "type": "response.completed",
                "response": {
                    "id": "r",
                    "status": "completed",
                    "usage": {"input_tokens": 9, "output_tokens": n, "total_tokens": 9 + n},
                },
            }
            return (
                [_event(created, "response.created")],
                pieces,
                [_event(done, "response.completed")],
            )
        pieces = [chunk({"content": w}) for w in words]
        return (
            [chunk({"role": "assistant", "content": ""})],
            pieces,
            [chunk({}, "stop"), usage(n), b"data: [DONE]\n\n"],
        )
