"""OpenAI chat-completion payloads as pure functions: build a request body, read a chunk.

Reading decides what the metrics need: whether an event carries generated content (it
starts TTFT and ITL), the finish reason, server-reported usage and an in-stream error.
Role-only first chunks, empty deltas, finish chunks and usage chunks carry no content.

Reasoning text (``delta.reasoning_content`` as DeepSeek and vLLM send it, ``delta.reasoning``
as OpenRouter and newer vLLM do) counts as content, with ``Chunk.reasoning`` set: a
reasoning model's first reasoning token is the first thing a user sees stream, so that is
when time to first token ends. ``content`` wins when a delta carries both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DONE",
    "MAX_USAGE_TOKENS",
    "Chunk",
    "ChunkError",
    "chat_request",
    "checked_usage",
    "is_content",
    "json_field",
    "parse_openai_chunk",
    "parse_openai_completion",
]

DONE = "[DONE]"
"""The data of the event that ends an OpenAI stream; it is not JSON, so test before parsing."""

MAX_USAGE_TOKENS = 10_000_000
"""More tokens than any one answer (or prompt) holds: a usage count past it, or below zero, is
the server's mistake, never a count to add up."""

# The C scanner behind json.loads, called directly: it skips loads' Python-level wrapper
# (about a third of the cost on a 250-byte chunk). _loads falls back to json.loads whenever
# the fast call does not consume the whole string, so results and errors are unchanged.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class ChunkError(ValueError):
    """The payload is not valid JSON or not shaped like the expected object."""


@dataclass(slots=True)
class Chunk:
    """What one streamed chunk (or a whole non-streamed completion) means for the metrics.

    ``content`` is ``""`` when the chunk carries no generated text. Treat it as immutable;
    it is not ``frozen`` because a frozen dataclass is four times dearer to build, and one is
    built per streamed token.
    """

    content: str
    finish_reason: str | None = None
    completion_tokens: int | None = None
    prompt_tokens: int | None = None
    error: str | None = None
    reasoning: bool = False
    rejected_usage: int | None = None  # an implausible completion count, not used
    reasoning_tokens: int | None = None  # usage.completion_tokens_details.reasoning_tokens
    tool: bool = False  # the text is a tool call's name or arguments, not answer text


def is_content(chunk: Chunk) -> bool:
    """True if the chunk carries generated text (answer or reasoning): it counts for TTFT/ITL."""
    return bool(chunk.content)


def parse_openai_chunk(data: str) -> Chunk:
    """Read one SSE event's data from a streamed chat completion (not ``DONE``)."""
    # _loads inlined, and one function on purpose: this runs once per streamed token.
    try:
        obj, end = _scan(data, 0)
    except (StopIteration, ValueError, TypeError, RecursionError):
        obj = _loads_slow(data)
    else:
        if end != len(data):
            obj = _loads_slow(data)
    if type(obj) is not dict:
        raise ChunkError("chunk is not a JSON object")
    choices = obj.get("choices")
    if choices:
        if type(choices) is not list:
            raise ChunkError("choices is not a list")
        choice = choices[0]
        if type(choice) is not dict:
            raise ChunkError("choices[0] is not an object")
        delta = choice.get("delta")
        finish = choice.get("finish_reason")
        if finish is not None and type(finish) is not str:
            raise ChunkError("finish_reason is not a string")
        if delta:
            if type(delta) is not dict:
                raise ChunkError("delta is not an object")
            content = delta.get("content")
            if content:
                if type(content) is not str:
                    raise ChunkError("delta.content is not a string")
                # The common token chunk: nothing else to look at unless usage rides along.
                if finish is None and "usage" not in obj and "error" not in obj:
                    return Chunk(content)
                return _finish(obj, content, finish, False)
            if content is not None and type(content) is not str:
                raise ChunkError("delta.content is not a string")
            reasoning = _reasoning(delta)
            if reasoning:
                return _finish(obj, reasoning, finish, True)
            call = _tool_text(delta)
            if call:
                chunk = _finish(obj, call, finish, False)
                chunk.tool = True
                return chunk
        return _finish(obj, "", finish, False)
    if choices is not None and type(choices) is not list:
        raise ChunkError("choices is not a list")
    return _finish(obj, "", None, False)


def parse_openai_completion(body: bytes | bytearray | str) -> Chunk:
    """Read a non-streamed chat completion: ``choices[0].message`` and ``usage``."""
    obj = _loads(body)
    if type(obj) is not dict:
        raise ChunkError("response is not a JSON object")
    choices = obj.get("choices")
    content = ""
    finish = None
    reasoning = False
    if choices:
        if type(choices) is not list or type(choices[0]) is not dict:
            raise ChunkError("choices is not a list of objects")
        choice = choices[0]
        finish = choice.get("finish_reason")
        if finish is not None and type(finish) is not str:
            raise ChunkError("finish_reason is not a string")
        message = choice.get("message")
        if message:
            if type(message) is not dict:
                raise ChunkError("message is not an object")
            text = message.get("content")
            if text is not None and type(text) is not str:
                raise ChunkError("message.content is not a string")
            if text:
                content = text
            else:
                content = _reasoning(message)
                reasoning = bool(content)
                if not content:
                    content = _tool_text(message)
    elif choices is not None and type(choices) is not list:
        raise ChunkError("choices is not a list")
    return _finish(obj, content, finish, reasoning)


def chat_request(
    *,
    model: str,
    messages: list[dict[str, str]],
    stream: bool,
    max_tokens: int | None = None,
    include_usage: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """Return a compact UTF-8 JSON body for ``POST /v1/chat/completions``.

    When streaming with ``include_usage``, asks for the usage chunk so ``output_tokens``
    comes from the server. Keys of ``extra`` (temperature, seed, ...) are added last and
    override the ones built here.
    """
    body: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if stream and include_usage:
        body["stream_options"] = {"include_usage": True}
    if extra:
        body.update(extra)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def json_field(data: str | bytes, path: str) -> Any:
    """Return the value at a dotted ``path`` (``choices.0.delta.content``) or ``None`` if absent.

    A numeric part indexes a list (negative counts from the end); a part on a value of the
    wrong type is absent. Keys that contain a dot cannot be named. Raises ``ChunkError`` on
    invalid JSON.
    """
    value = _loads(data)
    for part in _split_path(path):
        if type(value) is dict:
            value = value.get(part)
        elif type(value) is list:
            try:
                value = value[int(part)]
            except (ValueError, IndexError):
                return None
        else:
            return None
        if value is None:
            return None
    return value


_PATHS: dict[str, tuple[str, ...]] = {}


def _split_path(path: str) -> tuple[str, ...]:
    # Profiles name a handful of paths; caching their split saves work per message.
    parts = _PATHS.get(path)
    if parts is None:
        parts = tuple(path.split(".")) if path else ()
        if len(_PATHS) < 256:
            _PATHS[path] = parts
    return parts


def _loads(data: str | bytes | bytearray) -> Any:
    if type(data) is str:
        try:
            obj, end = _scan(data, 0)
        except (StopIteration, ValueError, TypeError, RecursionError):
            pass
        else:
            if end == len(data):
                return obj
    return _loads_slow(data)


def _loads_slow(data: str | bytes | bytearray) -> Any:
    # json.loads itself: leading or trailing whitespace, bytes, and every error message.
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise ChunkError("JSON nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for bytes
        raise ChunkError(f"invalid JSON: {exc}") from exc


def _reasoning(delta: dict[str, Any]) -> str:
    # Vendors differ in shape; only a non-empty string counts as text.
    text = delta.get("reasoning_content")
    if type(text) is str and text:
        return text
    text = delta.get("reasoning")
    if type(text) is str and text:
        return text
    return ""


def _tool_text(delta: dict[str, Any]) -> str:
    """A tool call's generated text (function name and argument fragments): output a client
    waits for like answer text, so a tool-call-only answer has a TTFT and tokens."""
    calls = delta.get("tool_calls")
    if type(calls) is not list:
        return ""
    parts = []
    for call in calls:
        function = call.get("function") if type(call) is dict else None
        if type(function) is dict:
            parts += [v for k in ("name", "arguments") if type(v := function.get(k)) is str]
    return "".join(parts)


def _finish(obj: dict[str, Any], content: str, finish: str | None, reasoning: bool) -> Chunk:
    completion = prompt = rejected = thought = None
    usage = obj.get("usage")
    if usage is not None:
        if type(usage) is not dict:
            raise ChunkError("usage is not an object")
        completion, rejected = checked_usage(_count(usage, "completion_tokens"))
        prompt = checked_usage(_count(usage, "prompt_tokens"))[0]
        details = usage.get("completion_tokens_details")
        if type(details) is dict:
            thought = checked_usage(_count(details, "reasoning_tokens"))[0]
    error = obj.get("error")
    message = None
    if error is not None:
        if type(error) is dict and type(error.get("message")) is str:
            message = error["message"]
        elif type(error) is str:
            message = error
        else:
            message = json.dumps(error)
    return Chunk(content, finish, completion, prompt, message, reasoning, rejected, thought)


def checked_usage(value: Any) -> tuple[int | None, int | None]:
    """``(count, None)`` for a usable token count; ``(None, value)`` for one that is negative or
    past ``MAX_USAGE_TOKENS`` (flagged, and the content events counted instead); ``(None,
    None)`` when there is none (absent, not an integer, a bool)."""
    if type(value) is not int:
        return None, None
    if 0 <= value <= MAX_USAGE_TOKENS:
        return value, None
    return None, value


def _count(usage: dict[str, Any], key: str) -> int | None:
    value = usage.get(key)
    if value is None or type(value) is int:
        return value
    raise ChunkError(f"usage.{key} is not an integer")
