"""One measured request, as a VU hands it to the recorder.

Times are ``time.monotonic()`` seconds (one clock everywhere, comparable with the built-in
target's truth log on the same machine). ``t0`` is the *intended* start: every latency is
measured from it, so a stalled generator or a queue shows up instead of hiding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loadgen.core.errors import ErrorKind

__all__ = ["Sample", "TokenSource"]

TokenSource = str  # "usage" | "tokenizer" | "events"


@dataclass(slots=True)
class Sample:
    name: str
    user_class: str
    t0: float
    send: float
    category: str | None = None
    first_byte: float | None = None
    token_times: list[float] = field(default_factory=list)  # each content-bearing event
    end: float | None = None
    status: int | None = None
    error: ErrorKind | None = None
    message: str = ""
    interrupted: bool = False
    usage_tokens: int | None = None  # server-reported completion tokens
    usage_rejected: int | None = None  # a reported count no answer can have; not used
    tokenizer_tokens: int | None = None
    request_id: str = ""
    # A stream accepted without its end marker (data: [DONE]): "finish_reason" when it ended
    # cleanly after one, "clean" when the server sent neither; "" otherwise.
    without_done: str = ""

    @property
    def content_events(self) -> int:
        return len(self.token_times)

    @property
    def output_tokens(self) -> tuple[int, TokenSource]:
        """SPEC §1: usage when present, else a tokenizer, else content events."""
        if self.usage_tokens is not None:
            return self.usage_tokens, "usage"
        if self.tokenizer_tokens is not None:
            return self.tokenizer_tokens, "tokenizer"
        return len(self.token_times), "events"

    @property
    def ok(self) -> bool:
        return self.error is None and not self.interrupted
