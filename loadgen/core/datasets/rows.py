"""One decoded row (a JSON object or a CSV record as a dict) → a ``Conversation``.

The prompt field may hold a string (one turn), a list of strings (the user turns), or a list
of messages: ShareGPT's ``{"from": "human"|"gpt"|"system", "value": ...}`` or OpenAI's
``{"role": "user"|"assistant"|"system", "content": ...}``. Any other speaker (``chatgpt``,
``bing``, ``bard`` in the ShareGPT dumps) is an assistant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from loadgen.core.datasets.model import OUTPUT_FIELDS, PROMPT_FIELDS, Conversation, Fields

__all__ = ["RowProblem", "conversation"]

# The user turns, the system prompt, and the recorded reply to each user turn (texts).
_Turns = tuple[tuple[str, ...], str | None, tuple[str | None, ...]]
_USER = frozenset({"human", "user"})
_SYSTEM = frozenset({"system"})


class RowProblem(ValueError):
    """What is wrong with a row; the dataset adds the file and the line."""

    def __init__(self, field: str, what: str, fix: str = "") -> None:
        self.field, self.what, self.fix = field, what, fix
        self.lines = 0  # lines past the entry's first where the problem is
        super().__init__(f"{field}: {what}")


def conversation(
    row: Any, fields: Fields, entry: int, count: Callable[[str], int] | None = None
) -> Conversation:
    """The conversation a row stands for; ``RowProblem`` when it stands for none. ``count``
    (a token counter) also measures the recorded replies in tokens."""
    if not isinstance(row, Mapping):
        raise RowProblem(
            "", f"expected an object, got {type(row).__name__}", "write one JSON object per entry"
        )
    name, value = _prompt(row, fields)
    turns, system, replies = _turns(name, value)
    return Conversation(
        entry=entry,
        turns=turns,
        max_tokens=_output(row, fields),
        system=system,
        reply_chars=tuple(None if r is None else len(r) for r in replies),
        reply_tokens=()
        if count is None
        else tuple(None if r is None else count(r) for r in replies),
    )


def _prompt(row: Mapping[str, Any], fields: Fields) -> tuple[str, Any]:
    if fields.prompt is not None:
        if fields.prompt in row:
            return fields.prompt, row[fields.prompt]
        missing = fields.prompt
    else:
        for name in PROMPT_FIELDS:
            if name in row:
                return name, row[name]
        missing = PROMPT_FIELDS[0]
    keys = ", ".join(map(str, list(row)[:8])) or "none"
    raise RowProblem(
        missing,
        f"missing (this entry has: {keys})",
        "name the prompt field in the dataset's fields, or add it to every entry",
    )


def _output(row: Mapping[str, Any], fields: Fields) -> int | None:
    if fields.output == "":
        return None
    names = (fields.output,) if fields.output is not None else OUTPUT_FIELDS
    for name in names:
        value = row.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        raise RowProblem(
            name, f"expected a whole number of tokens > 0, got {value!r}", "fix or remove it"
        )
    return None


def _turns(name: str, value: Any) -> _Turns:
    if isinstance(value, str):
        if not value:
            raise RowProblem(name, "is empty", "give every entry a prompt")
        return (value,), None, ()
    if not isinstance(value, list) or not value:
        raise RowProblem(
            name, f"expected a string or a list of turns, got {_kind(value)}", _TURNS_FIX
        )
    if all(isinstance(item, str) for item in value):
        return tuple(value), None, ()
    return _messages(name, value)


def _messages(name: str, value: list[Any]) -> _Turns:
    turns: list[str] = []
    replies: list[str | None] = []
    system: str | None = None
    for number, message in enumerate(value):
        speaker, text = _message(name, number, message)
        if speaker in _USER:
            turns.append(text)
            replies.append(None)
        elif speaker in _SYSTEM:
            system = text if system is None else f"{system}\n{text}"
        elif turns:  # an answer before the first user turn answers nothing we send
            replies[-1] = text if replies[-1] is None else f"{replies[-1]}\n{text}"
    if not turns:
        raise RowProblem(name, "has no user (human) turn", "give every conversation one")
    return tuple(turns), system, tuple(replies)


def _message(name: str, number: int, message: Any) -> tuple[str, str]:
    if isinstance(message, Mapping):
        speaker = message.get("from", message.get("role"))
        text = message.get("value", message.get("content"))
        if isinstance(speaker, str) and isinstance(text, str):
            return speaker.lower(), text
    raise RowProblem(f"{name}[{number}]", f"expected a turn, got {_brief(message)}", _TURNS_FIX)


_TURNS_FIX = (
    'write a string, a list of strings, or turns like {"from": "human", "value": "..."} '
    'or {"role": "user", "content": "..."}'
)


def _kind(value: Any) -> str:
    return "an empty list" if value == [] else type(value).__name__


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
