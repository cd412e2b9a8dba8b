"""Readers for the OpenAI endpoints beyond chat: text completions, the Responses API and
embeddings (sans-I/O, like ``loadgen.core.readers``).

Each read is stamped with the time it arrived, and every event carrying generated text
(answer, reasoning or tool call) appends that time, so TTFT, TTFO, ITL and TPOT mean for
these endpoints exactly what they mean for chat. These readers go event by event: the bulk
fast path of the chat reader is for the hottest endpoint only.
"""

from __future__ import annotations

from loadgen.core.chat import DONE, ChunkError
from loadgen.core.llmapis import (
    ENDS,
    parse_completion_chunk,
    parse_embeddings,
    parse_responses_event,
)
from loadgen.core.readerbase import ReaderBase, StreamEnded
from loadgen.core.sse import SSEDecoder

__all__ = ["CompletionsReader", "EmbeddingsReader", "ResponsesReader"]


class _Streamed(ReaderBase):
    """An SSE stream read event by event."""

    def __init__(self, *, keep_text: bool, max_line: int) -> None:
        super().__init__(keep_text=keep_text)
        self._sse = SSEDecoder(max_line=max_line)


class CompletionsReader(_Streamed):
    """``/v1/completions`` streamed as SSE ``text_completion`` chunks, ending ``[DONE]``."""

    def __init__(self, *, keep_text: bool = False, max_line: int = 1 << 20) -> None:
        super().__init__(keep_text=keep_text, max_line=max_line)

    def feed(self, chunk: bytes, now: float) -> None:
        for event in self._sse.feed(chunk):
            if event.data == DONE:
                self.done = True
            elif event.event == "error":
                raise ChunkError(f"error event in stream: {event.data[:200]}")
            elif event.event == "message":
                self.take(parse_completion_chunk(event.data), now)

    def close(self, now: float) -> None:
        for event in self._sse.close():
            if event.data == DONE:
                self.done = True
            else:
                self.take(parse_completion_chunk(event.data), now)
        if self.done:
            return
        if self._sse.pending:
            raise StreamEnded("stream ended inside an event, before data: [DONE]")
        if self.finished:
            self.without_done = "finish_reason"  # as chat: a finish then a clean end
        elif self.token_times or self.usage_tokens is not None:
            self.without_done = "clean"
        else:
            raise StreamEnded("stream ended before any text, finish_reason or data: [DONE]")


class ResponsesReader(_Streamed):
    """``/v1/responses`` streamed as typed events; ``response.completed`` (or
    ``response.incomplete``) ends it and carries the usage."""

    def __init__(self, *, keep_text: bool = False, max_line: int = 1 << 20) -> None:
        super().__init__(keep_text=keep_text, max_line=max_line)

    def feed(self, chunk: bytes, now: float) -> None:
        for event in self._sse.feed(chunk):
            self._event(event.event, event.data, now)

    def _event(self, name: str, data: str, now: float) -> None:
        if data == DONE:  # some servers add chat's end marker after response.completed
            return
        kind, parsed = parse_responses_event(name, data)
        self.take(parsed, now)
        if kind in ENDS:
            self.done = True
            self.final = data

    def close(self, now: float) -> None:
        for event in self._sse.close():
            self._event(event.event, event.data, now)
        if not self.done:
            raise StreamEnded("stream ended before response.completed")


class EmbeddingsReader(ReaderBase):
    """``/v1/embeddings``: one JSON answer. It has no content events (an embedding has no
    first token): ``vectors`` and the prompt's token count are what it yields."""

    def __init__(self, *, keep_text: bool = False, max_body: int = 64 << 20) -> None:
        super().__init__(keep_text=keep_text)
        self._body = bytearray()
        self._max_body = max_body
        self.vectors = 0

    def feed(self, chunk: bytes, now: float) -> None:
        if len(self._body) + len(chunk) > self._max_body:
            self._body = bytearray()
            raise ChunkError(f"embeddings answer larger than {self._max_body} bytes")
        self._body += chunk

    def close(self, now: float) -> None:
        body, self._body = self._body, bytearray()
        self.vectors, self.usage_prompt = parse_embeddings(body)
        self.done = True
