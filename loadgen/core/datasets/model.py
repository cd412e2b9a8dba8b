"""What a dataset hands out (``Conversation``), how its fields are named, and its errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from loadgen.core.errors import DataError, Problem

__all__ = [
    "FORMATS",
    "OUTPUT_FIELDS",
    "PROMPT_FIELDS",
    "Conversation",
    "DatasetError",
    "EntryError",
    "Fields",
    "Lengths",
]

FORMATS = ("jsonl", "csv", "sharegpt")
# Looked up in this order when the mapping names no prompt field; the names the public
# datasets and the peers' custom formats use (vLLM "prompt", AIPerf "text", ShareGPT, OpenAI).
PROMPT_FIELDS = ("prompt", "text", "question", "input", "messages", "conversations")
OUTPUT_FIELDS = ("max_tokens", "output_tokens", "output_len")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fields:
    """Which field of a row holds what. ``None``: the first of the defaults the row has.

    ``output=""`` ignores output lengths even where a row has one."""

    prompt: str | None = None
    output: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    """One entry: the user turns to send in order, and what the row says about the answers.

    Only the user turns are replayed: the server writes its own answers and the VU sends
    those back as history, as a real user's client would. A recorded assistant reply (a
    ShareGPT ``gpt`` turn) is kept as its length only, the expected output length of the turn
    before it (vLLM's ``sharegpt`` dataset uses it the same way). ``reply_chars[i]`` belongs
    to ``turns[i]`` (``None``: no recorded reply); ``reply_tokens`` is filled when the
    dataset was given a token counter.
    """

    entry: int
    turns: tuple[str, ...]
    max_tokens: int | None = None
    system: str | None = None
    reply_chars: tuple[int | None, ...] = ()
    reply_tokens: tuple[int | None, ...] = ()

    def max_tokens_for(self, turn: int) -> int | None:
        """The output length to ask for on ``turn``: the row's own, else the recorded
        reply's length in tokens, else ``None`` (the profile's setting applies)."""
        if self.max_tokens is not None:
            return self.max_tokens
        if turn < len(self.reply_tokens):
            return self.reply_tokens[turn]
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Lengths:
    """A length filter on an entry's prompt (all its user turns together), checked when the
    entry is drawn. In tokens when ``count`` is given, else in characters."""

    min: int | None = None
    max: int | None = None
    count: Callable[[str], int] | None = None

    @property
    def active(self) -> bool:
        return self.min is not None or self.max is not None

    def measure(self, conversation: Conversation) -> int:
        count = self.count or len
        return sum(count(turn) for turn in conversation.turns)

    def accepts(self, conversation: Conversation) -> bool:
        return not self.active or self.within(self.measure(conversation))

    def within(self, size: int) -> bool:
        return (self.min is None or size >= self.min) and (self.max is None or size <= self.max)


class DatasetError(DataError, ValueError):
    """A dataset file is missing, malformed or yields nothing; one ``Problem`` naming the
    file, the line where known, and the fix. A ``ProfileError`` (and a ``ValueError``) so
    the profile layer can add ``problem`` to its own list."""

    def __init__(
        self, file: str, what: str, fix: str = "", *, line: int | None = None, field: str = ""
    ) -> None:
        self.problem = Problem(file, line, field, what, fix)
        super().__init__([self.problem])


class EntryError(DatasetError):
    """One entry could not be read (bad JSON, no prompt field, a bad output length);
    ``entry`` is its 0-based number among the dataset's entries."""

    def __init__(
        self, file: str, entry: int, what: str, fix: str = "", *, line: int | None, field: str = ""
    ) -> None:
        self.entry = entry
        super().__init__(file, what, fix, line=line, field=field)
