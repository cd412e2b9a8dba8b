"""What every stream reader is: the ``Reader`` interface and the state readers share (pure).

A reader turns a response's bytes into content-event times and the server's usage counts;
``loadgen.core.readers`` has the chat-completions, SSE, text and JSON readers,
``loadgen.core.apireaders`` those of the other OpenAI endpoints (completions, Responses,
embeddings).
"""

from __future__ import annotations

from typing import Protocol

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

    @property
    def text(self) -> str:
        return "".join(self.parts)


class StreamEnded(ValueError):
    """The body ended before the stream's end marker: counted as ``stream_broken``."""
