"""One measured request, as a VU hands it to the recorder.

Times are ``time.monotonic()`` seconds (one clock everywhere, comparable with the built-in
target's truth log on the same machine). ``t0`` is the *intended* start: every latency is
measured from it, so a stalled generator or a queue shows up instead of hiding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from loadgen.core.errors import ErrorKind

__all__ = ["Gaps", "Sample", "TokenSource"]

TokenSource = str  # "usage" | "tokenizer" | "events" (output); "usage" | "tokenizer" (input)
#: A response's inter-token gaps as (how many were 0, the others in µs): events that came in
#: one read share their time, and a fast server's whole answer is often one read.
Gaps = tuple[int, list[int]]
_NO_GAPS: Gaps = (0, [])
_US = 1_000_000


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
    usage_prompt: int | None = None  # server-reported prompt tokens
    requested_input: int | None = None  # a synthetic prompt's tokens, by loadgen's tokenizer
    requested_output: int | None = None  # the output length asked for (output_tokens)
    exact_output: bool = False  # requested_output was asked as a floor too (exact_output)
    counted_input: int | None = None  # loadgen's tokenizer's count of the prompt it sent
    usage_rejected: int | None = None  # a reported count no answer can have; not used
    tokenizer_tokens: int | None = None
    request_id: str = ""
    # A stream accepted without its end marker (data: [DONE]): "finish_reason" when it ended
    # cleanly after one, "clean" when the server sent neither; "" otherwise.
    without_done: str = ""
    # A reasoning model's thinking: which content events were reasoning (indices into
    # token_times) and the reasoning tokens the server reported.
    reasoning_at: list[int] = field(default_factory=list)
    reasoning_tokens: int | None = None
    # The user abandoned the answer (the chat's ``cancel:``): its own outcome, not an error.
    cancelled: bool = False
    # Where the time went before the first byte (every client: docs/metrics.md):
    # TCP connect (DNS included) and TLS handshake in seconds, 0 on a reused connection and
    # None when not measured; when the request's bytes started and finished going out.
    connect: float | None = None
    tls: float | None = None
    write_start: float | None = None
    written: float | None = None
    reused: bool | None = None
    server_id: str = ""  # the server's own request id (target.server_request_id)

    # The per-request definitions of SPEC §1, in seconds from the intended start: the
    # recorder, the raw rows, SLOs and the preflight read these and nothing else.

    @property
    def ttfb(self) -> float | None:
        """Intended start → first byte of the body (also for a failed request that got one)."""
        return None if self.first_byte is None else self.first_byte - self.t0

    @property
    def ttft(self) -> float | None:
        """Intended start → first content-bearing event; None when none came."""
        times = self.token_times
        return times[0] - self.t0 if times else None

    @property
    def ttfo(self) -> float | None:
        """Intended start → first *output* event: answer text or a tool call, not reasoning.

        Equal to ``ttft`` for a model that does not reason; None when only reasoning came."""
        times, thinking = self.token_times, self.reasoning_at
        if not thinking:
            return times[0] - self.t0 if times else None
        first = 0 if thinking[0] else self._output_after(0)
        return None if first is None else times[first] - self.t0

    @property
    def reasoning_time(self) -> float | None:
        """First reasoning event → the first output event after it (or the last reasoning
        event when no output followed): how long the user watched the model think."""
        thinking = self.reasoning_at
        if not thinking:
            return None
        first = self._output_after(0)
        end = thinking[-1] if first is None else first
        return self.token_times[end] - self.token_times[thinking[0]]

    def _output_after(self, k: int) -> int | None:
        """The first event after reasoning run ``reasoning_at[k:]`` starts that is not
        reasoning (indices ascend, so it is the first gap in the run); None if none."""
        thinking = self.reasoning_at
        start = thinking[k]
        for n in range(k, len(thinking)):
            if thinking[n] != start + n - k:
                return start + n - k
        after = start + len(thinking) - k
        return after if after < len(self.token_times) else None

    @property
    def e2e(self) -> float | None:
        """Intended start → end of the response."""
        return None if self.end is None else self.end - self.t0

    @property
    def itl(self) -> Gaps:
        """The gaps between consecutive content events, as (zero gaps, the others in µs).

        Times never decrease, so equal times are neighbours: their zero gaps are counted, not
        listed (32 events in one read make one value, not 31).
        """
        times = self.token_times
        n = len(times)
        if n < 2:
            return _NO_GAPS
        if times[0] == times[-1]:
            return n - 1, []
        runs = list(dict.fromkeys(times)) if n > 2 else times
        return n - len(runs), [round((b - a) * _US) for a, b in pairwise(runs)]

    @property
    def tpot(self) -> float | None:
        """(e2e − ttft) / (output_tokens − 1), for answers of ≥ 2 tokens after the first."""
        span = self._decode_span()
        return None if span is None else span[0] / (span[1] - 1)

    @property
    def request_tps(self) -> float | None:
        """output_tokens / (e2e − ttft): this answer's decode speed."""
        span = self._decode_span()
        return None if span is None else span[1] / span[0]

    @property
    def schedule_lag(self) -> float:
        """Intended start → actual send: the generator's delay, not the server's."""
        return self.send - self.t0

    def _decode_span(self) -> tuple[float, int] | None:
        """(e2e − ttft, output tokens) when the answer has ≥ 2 tokens and a positive span."""
        times, end = self.token_times, self.end
        if not times or end is None:
            return None
        tokens = self.output_tokens[0]
        e2e, ttft = end - self.t0, times[0] - self.t0
        if tokens < 2 or e2e <= ttft:
            return None
        return e2e - ttft, tokens

    @property
    def input_tokens(self) -> int | None:
        """The prompt's tokens: the server's count (usage), else loadgen's tokenizer's count
        of what it sent (or of the synthetic prompt it built); None when neither is known."""
        if self.usage_prompt is not None:
            return self.usage_prompt
        return self.counted_input if self.counted_input is not None else self.requested_input

    @property
    def input_source(self) -> TokenSource:
        """Who counted ``input_tokens``: "usage" (the server) or "tokenizer" (loadgen)."""
        return "usage" if self.usage_prompt is not None else "tokenizer"

    @property
    def reasoned_tokens(self) -> int | None:
        """The reasoning tokens of an answer that reasoned; None when the server reported
        none or 0 (a count histogram starts at 1: a 0 would be kept as 1)."""
        return self.reasoning_tokens or None

    @property
    def answer_tokens(self) -> int | None:
        """Output tokens of an answer that streamed content (a plain request has none)."""
        return self.output_tokens[0] if self.token_times else None

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
        return self.error is None and not self.interrupted and not self.cancelled

    @property
    def time_to_cancel(self) -> float | None:
        """Intended start → the moment the VU closed the stream, for a cancelled request."""
        return self.end - self.t0 if self.cancelled and self.end is not None else None

    @property
    def cancel_tokens(self) -> int | None:
        """Content events received before a cancelled request was closed; None when none
        came (a count histogram starts at 1: the cancelled count minus this one's count)."""
        return len(self.token_times) or None if self.cancelled else None

    @property
    def connect_time(self) -> float | None:
        """TCP connect (and DNS) of the request's connection; 0 when it was reused."""
        return self.connect

    @property
    def tls_time(self) -> float | None:
        """TLS handshake of the request's connection; 0 reused, None without TLS."""
        return self.tls

    @property
    def send_time(self) -> float | None:
        """Writing the request (head and body) to the connection."""
        if self.write_start is None or self.written is None:
            return None
        return self.written - self.write_start

    @property
    def wait_time(self) -> float | None:
        """Request written → first byte of the response: the server's part of ``ttfb``."""
        if self.written is None or self.first_byte is None:
            return None
        return max(self.first_byte - self.written, 0.0)
