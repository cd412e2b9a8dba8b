"""Pre-encoded answer bytes for the three wire formats, built once so answers are joins.

Speed (30k streamed requests/s on one core) comes from here: every token's JSON fragment
for every format is encoded at start-up; a request picks an offset into a seeded token
cycle and its answer is a slice of fragments joined with a per-request prefix. Pure.

Formats: OpenAI ``chat.completion.chunk`` SSE, the chatbot API's ``event: token`` SSE,
and WebSocket JSON messages. Each content event carries exactly one token.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any, TypeVar

__all__ = ["VOCABULARY", "ApiChatFormat", "Encoded", "OpenAIFormat", "WsFormat", "chunked"]

# Words with a leading space so tokens join into text; some non-ASCII on purpose,
# including U+2028, which naive line splitters break on.
_WORDS = (
    "the",
    "a",
    "an",
    "of",
    "to",
    "in",
    "is",
    "it",
    "that",
    "for",
    "on",
    "with",
    "as",
    "was",
    "by",
    "be",
    "this",
    "are",
    "from",
    "or",
    "at",
    "not",
    "but",
    "have",
    "model",
    "answer",
    "token",
    "stream",
    "latency",
    "request",
    "server",
    "client",
    "queue",
    "slot",
    "batch",
    "cache",
    "prompt",
    "context",
    "window",
    "user",
    "admin",
    "message",
    "reply",
    "chat",
    "search",
    "document",
    "index",
    "vector",
    "embedding",
    "retrieval",
    "source",
    "citation",
    "policy",
    "refund",
    "order",
    "account",
    "password",
    "login",
    "session",
    "health",
    "metric",
    "counter",
    "gauge",
    "histogram",
    "percentile",
    "throughput",
    "capacity",
    "load",
    "test",
    "breakpoint",
    "error",
    "retry",
    "timeout",
    "backoff",
    "limit",
    "rate",
    "burst",
    "steady",
    "spike",
    "soak",
    "ramp",
    "stage",
    "arrival",
    "think",
    "time",
    "journey",
    "step",
    "check",
    "threshold",
    "report",
    "result",
    "summary",
    "detail",
    "sample",
    "value",
    "café",
    "naïve",
    "Zürich",
    "résumé",
    "straße",
    "ñandú",
    "Ωmega",
    "東京",
    "日本語",
    "données",
    "🚀",
    "✨",
    "line\u2028sep",
)
VOCABULARY: tuple[str, ...] = tuple(" " + w for w in _WORDS)
_CYCLE = 4096
T = TypeVar("T")


def _j(text: str) -> bytes:
    return json.dumps(text).encode()


def chunked(data: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return b"%x\r\n%b\r\n" % (len(data), data)


class Encoded:
    """Per-token fragments for every format, in a seeded order of ``_CYCLE`` tokens."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"vocab:{seed}")
        order = [rng.randrange(len(VOCABULARY)) for _ in range(_CYCLE)]
        order += order  # a slice of up to _CYCLE tokens never wraps
        words = [VOCABULARY[i] for i in order]
        self.words = words
        self.quoted = [_j(w) for w in words]  # JSON strings, for the completions route
        self.openai = [_j(w) + b'},"finish_reason":null}]}\n\n' for w in words]
        self.api = [b'event: token\ndata: {"content": ' + _j(w) + b"}\n\n" for w in words]
        self.ws = [b'{"type": "token", "content": ' + _j(w) + b"}" for w in words]

    def pick(self, items: list[T], offset: int, n: int) -> list[T]:
        """``n`` consecutive fragments from ``offset`` (wrapping for very long answers)."""
        if n <= _CYCLE:
            return items[offset : offset + n]
        return [items[(offset + k) % _CYCLE] for k in range(n)]

    def text(self, offset: int, n: int) -> str:
        return "".join(self.pick(self.words, offset, n)).lstrip()

    @staticmethod
    def offset(rng: random.Random) -> int:
        return rng.randrange(_CYCLE)


class OpenAIFormat:
    """``data: {chat.completion.chunk}`` events: role chunk, tokens, finish, usage, [DONE]."""

    __slots__ = ("frags", "prefix", "role", "tail")

    def __init__(
        self,
        enc: Encoded,
        offset: int,
        n: int,
        *,
        cid: bytes,
        created: int,
        model: bytes,
        finish: bytes,
        usage: bytes | None,
    ) -> None:
        head = (
            b'data: {"id":"%b","object":"chat.completion.chunk","created":%d,"model":"%b",'
            b'"choices":[' % (cid, created, model)
        )
        self.prefix = head + b'{"index":0,"delta":{"content":'
        self.frags = enc.pick(enc.openai, offset, n)
        tail = head + b'{"index":0,"delta":{},"finish_reason":"%b"}]}\n\n' % finish
        if usage is not None:
            tail += head[:-1] + b'[],"usage":' + usage + b"}\n\n"
        self.tail = tail + b"data: [DONE]\n\n"
        self.role = (
            head + b'{"index":0,"delta":{"role":"assistant","content":""},'
            b'"finish_reason":null}]}\n\n'
        )

    def opening(self) -> list[bytes]:
        return [self.role]

    def tokens(self, start: int, stop: int) -> list[bytes]:
        prefix = self.prefix
        return [prefix + f for f in self.frags[start:stop]]

    def closing(self) -> list[bytes]:
        return [self.tail]

    def malformed(self) -> bytes:
        return self.prefix + b'"broken\n\n'

    def events(self) -> list[bytes]:
        return [self.role, *self.tokens(0, len(self.frags)), self.tail]

    def whole(self) -> bytes:
        """The full body in one join (the zero-delay fast path)."""
        prefix = self.prefix
        return b"".join((self.role, prefix, prefix.join(self.frags), self.tail))


class _ListFormat:
    """Formats whose token events are fixed bytes (no per-request prefix)."""

    __slots__ = ("frags", "tail")

    def __init__(self, frags: list[bytes], tail: list[bytes]) -> None:
        self.frags = frags
        self.tail = tail

    def opening(self) -> list[bytes]:
        return []

    def tokens(self, start: int, stop: int) -> list[bytes]:
        return self.frags[start:stop]

    def closing(self) -> list[bytes]:
        return self.tail

    def events(self) -> list[bytes]:
        return self.frags + self.tail

    def whole(self) -> bytes:
        return b"".join(self.frags) + b"".join(self.tail)


class ApiChatFormat(_ListFormat):
    """``/api/chat``: ``event: token`` per token, ``event: citation`` each, ``event: done``."""

    __slots__ = ()

    def __init__(
        self,
        enc: Encoded,
        offset: int,
        n: int,
        done: dict[str, Any],
        citations: Sequence[dict[str, Any]],
    ) -> None:
        tail = [b"event: citation\ndata: " + json.dumps(c).encode() + b"\n\n" for c in citations]
        tail.append(b"event: done\ndata: " + json.dumps(done).encode() + b"\n\n")
        super().__init__(enc.pick(enc.api, offset, n), tail)

    def malformed(self) -> bytes:
        return b'event: token\ndata: {"content": \n\n'


class WsFormat(_ListFormat):
    """WebSocket: one text message per token, then ``{"type": "end", ...}``."""

    __slots__ = ()

    def __init__(self, enc: Encoded, offset: int, n: int, end: dict[str, Any]) -> None:
        super().__init__(enc.pick(enc.ws, offset, n), [json.dumps(end).encode()])

    def malformed(self) -> bytes:
        return b'{"type": "token", "content": '
