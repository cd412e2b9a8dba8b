"""What every stream reader is: the ``Reader`` interface and the state readers share (pure).

A reader turns a response's bytes into content-event times and the server's usage counts;
``loadgen.core.readers`` has the chat-completions, SSE, text and JSON readers,
``loadgen.core.apireaders`` those of the other OpenAI endpoints (completions, Responses,
embeddings).
"""

from __future__ import annotations

from typing import Protocol

from loadgen.core.chat import Chunk, ChunkError

__all__ = ["Reader", "ReaderBase", "StreamEnded"]


class Reader(Protocol):
    token_times: list[float]
    usage_tokens: int | None
    usage_rejected: int | None
    done: bool
    keep_text: bool
    parts: list[str]
    final: str | None
    citations: int
    without_done: str
    reasoning_at: list[int]
    reasoning_tokens: int | None
    usage_prompt: int | None

    def feed(self, chunk: bytes, now: float) -> None: ...
    def close(self, now: float) -> None: ...


class ReaderBase:
    def __init__(self, *, keep_text: bool = False) -> None:
        self.token_times: list[float] = []
        self.usage_tokens: int | None = None
        # A usage count the server sent but no answer can have (negative, absurd): not used.
        self.usage_rejected: int | None = None
        self.done = False
        self.keep_text = keep_text
        self.parts: list[str] = []
        self.final: str | None = None  # the done event's data, or a JSON answer's body
        self.citations = 0  # SSE events named "citation"
        # Which content events were a reasoning model's thinking (indices into token_times),
        # and its reported reasoning token count: they split TTFT from the first answer token.
        self.reasoning_at: list[int] = []
        self.reasoning_tokens: int | None = None
        self.usage_prompt: int | None = None  # the server's count of the prompt's tokens
        # How a stream that lacked its end marker still ended cleanly: "finish_reason" (after
        # one) or "clean" (a server that sends neither); "" when the marker came.
        self.without_done = ""
        self.finished = False  # a choice's finish_reason came (seen by a full parse)

    def take(self, chunk: Chunk, now: float) -> None:
        """A fully parsed chunk: its content event (reasoning marked, and kept out of the
        answer text), the server's counts, its finish; an error chunk raises."""
        if chunk.error:
            raise ChunkError(f"error in stream: {chunk.error}")
        if chunk.content:
            if chunk.reasoning:
                self.reasoning_at.append(len(self.token_times))
            elif self.keep_text:
                self.parts.append(chunk.content)
            self.token_times.append(now)
        if chunk.completion_tokens is not None:
            self.usage_tokens = chunk.completion_tokens
        elif chunk.rejected_usage is not None:
            self.usage_rejected = chunk.rejected_usage
        if chunk.prompt_tokens is not None:
            self.usage_prompt = chunk.prompt_tokens
        if chunk.reasoning_tokens is not None:
            self.reasoning_tokens = chunk.reasoning_tokens
        if chunk.finish_reason:
            self.finished = True

    @property
    def text(self) -> str:
        return "".join(self.parts)


class StreamEnded(ValueError):
    """The body ended before the stream's end marker: counted as ``stream_broken``."""
