"""The other OpenAI-compatible endpoints model servers expose, as pure functions: request
bodies and what one streamed payload means (issue #20 item 5).

- ``/v1/completions``: text completions; a chunk's text is ``choices[0].text``.
- ``/v1/responses``: the Responses API; typed events (``response.output_text.delta``,
  reasoning and function-call deltas, ``response.completed`` with usage, ``error`` and
  ``response.failed``). vLLM, SGLang and OpenAI serve it.
- ``/v1/embeddings``: one JSON answer with vectors and the prompt's token count; no stream,
  so no TTFT.

Chat completions stay in ``loadgen.core.chat``; these reuse its ``Chunk`` so every reader
reports the same things.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from loadgen.core.chat import Chunk, ChunkError, checked_usage
from loadgen.core.profile.model import ChatTask

__all__ = [
    "PATHS",
    "api_body",
    "completions_request",
    "embeddings_request",
    "parse_completion_chunk",
    "parse_embeddings",
    "parse_responses_event",
    "responses_request",
]

#: Where each endpoint lives under ``base_url`` (as ``/v1/chat/completions`` for ``openai``).
PATHS = {
    "completions": "/v1/completions",
    "responses": "/v1/responses",
    "embeddings": "/v1/embeddings",
}


def _dump(body: dict[str, Any], extra: Mapping[str, Any] | None) -> bytes:
    if extra:
        body.update(extra)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def completions_request(
    *,
    model: str,
    prompt: str,
    stream: bool,
    max_tokens: int | None = None,
    include_usage: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """``POST /v1/completions``; ``extra`` keys are added last and win."""
    body: dict[str, Any] = {"model": model, "prompt": prompt, "stream": stream}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if stream and include_usage:
        body["stream_options"] = {"include_usage": True}
    return _dump(body, extra)


def responses_request(
    *,
    model: str,
    messages: list[dict[str, str]],
    stream: bool,
    max_tokens: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """``POST /v1/responses``: the conversation as ``input`` items (a system message becomes
    ``instructions``, as the API defines it); usage always comes with ``response.completed``."""
    system = [m["content"] for m in messages if m.get("role") == "system"]
    body: dict[str, Any] = {
        "model": model,
        "input": [m for m in messages if m.get("role") != "system"],
        "stream": stream,
    }
    if system:
        body["instructions"] = "\n\n".join(system)
    if max_tokens is not None:
        body["max_output_tokens"] = max_tokens
    return _dump(body, extra)


def embeddings_request(
    *, model: str, inputs: list[str], extra: Mapping[str, Any] | None = None
) -> bytes:
    """``POST /v1/embeddings`` with a batch of inputs."""
    return _dump({"model": model, "input": inputs}, extra)


def api_body(
    task: ChatTask, messages: list[dict[str, str]], output_tokens: int | None = None
) -> bytes:
    """The body of a chat task on one of these endpoints (``task.api``), from the
    conversation so far (``messages``, as for chat completions).

    Completions get one ``prompt``: the conversation's texts (system first) joined by blank
    lines, since the endpoint has no roles. Embeddings embed every user message (``batch``
    of them). An output length asks ``max_tokens`` (Responses: ``max_output_tokens``);
    with ``exact_output`` completions also ask ``min_tokens`` and ``ignore_eos`` as chat
    does; the Responses API has no such fields. ``params`` are added last and win."""
    extra: Mapping[str, Any] = task.params
    if task.system is not None:
        messages = [{"role": "system", "content": task.system}, *messages]
    max_tokens = output_tokens if output_tokens is not None else task.max_tokens
    if task.api == "embeddings":
        inputs = [m["content"] for m in messages if m["role"] == "user"]
        return embeddings_request(model=task.model, inputs=inputs, extra=extra)
    if task.api == "responses":
        return responses_request(
            model=task.model, messages=messages, stream=True, max_tokens=max_tokens, extra=extra
        )
    if output_tokens is not None and task.exact_output:
        extra = {"min_tokens": output_tokens, "ignore_eos": True, **extra}
    return completions_request(
        model=task.model,
        prompt="\n\n".join(m["content"] for m in messages),
        stream=True,
        max_tokens=max_tokens,
        include_usage=task.include_usage,
        extra=extra,
    )


def _object(data: str | bytes | bytearray, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except RecursionError as exc:
        raise ChunkError("JSON nested too deeply") from exc
    except ValueError as exc:
        raise ChunkError(f"invalid JSON: {exc}") from exc
    if type(obj) is not dict:
        raise ChunkError(f"{what} is not a JSON object")
    return obj


def _count(usage: dict[str, Any], key: str) -> int | None:
    value = usage.get(key)
    if value is None or type(value) is int:
        return value
    raise ChunkError(f"usage.{key} is not an integer")


def _error_text(error: Any) -> str:
    if type(error) is dict and type(error.get("message")) is str:
        return str(error["message"])
    return error if type(error) is str else json.dumps(error)


def parse_completion_chunk(data: str) -> Chunk:
    """One streamed ``text_completion`` chunk: ``choices[0].text``, finish, usage, error."""
    obj = _object(data, "chunk")
    if obj.get("error") is not None:
        return Chunk("", error=_error_text(obj["error"]))
    text, finish = "", None
    choices = obj.get("choices")
    if choices:
        if type(choices) is not list or type(choices[0]) is not dict:
            raise ChunkError("choices is not a list of objects")
        value = choices[0].get("text")
        if value is not None and type(value) is not str:
            raise ChunkError("choices[0].text is not a string")
        text = value or ""
        finish = choices[0].get("finish_reason")
        if finish is not None and type(finish) is not str:
            raise ChunkError("finish_reason is not a string")
    chunk = Chunk(text, finish)
    usage = obj.get("usage")
    if usage is not None:
        if type(usage) is not dict:
            raise ChunkError("usage is not an object")
        chunk.completion_tokens, chunk.rejected_usage = checked_usage(
            _count(usage, "completion_tokens")
        )
        chunk.prompt_tokens = checked_usage(_count(usage, "prompt_tokens"))[0]
    return chunk


#: Responses API events whose ``delta`` is generated text, and what kind.
_DELTAS = {
    "response.output_text.delta": "answer",
    "response.refusal.delta": "answer",
    "response.reasoning_text.delta": "reasoning",
    "response.reasoning_summary_text.delta": "reasoning",
    "response.function_call_arguments.delta": "tool",
}
#: Events that end the stream: complete, cut short by the server's own limit, or failed.
ENDS = ("response.completed", "response.incomplete", "response.failed")


def parse_responses_event(event: str, data: str) -> tuple[str, Chunk]:
    """One Responses API event → (its type, what it means). The type comes from the SSE
    ``event:`` line, or from the payload's ``type`` when a server sends unnamed events."""
    obj = _object(data, "event")
    kind = event if event != "message" else str(obj.get("type") or "")
    if kind == "error":
        return kind, Chunk("", error=_error_text(obj.get("message") or obj.get("error") or obj))
    role = _DELTAS.get(kind)
    if role is not None:
        delta = obj.get("delta")
        if delta is not None and type(delta) is not str:
            raise ChunkError(f"{kind}: delta is not a string")
        chunk = Chunk(delta or "", reasoning=role == "reasoning")
        chunk.tool = role == "tool"
        return kind, chunk
    if kind not in ENDS:
        return kind, Chunk("")
    return kind, _ended(kind, obj)


def _ended(kind: str, obj: dict[str, Any]) -> Chunk:
    response = obj.get("response")
    if type(response) is not dict:
        raise ChunkError(f"{kind}: response is not an object")
    if kind == "response.failed":
        return Chunk("", error=_error_text(response.get("error") or "response.failed"))
    chunk = Chunk("", finish_reason="length" if kind == "response.incomplete" else "stop")
    usage = response.get("usage")
    if type(usage) is dict:
        chunk.completion_tokens, chunk.rejected_usage = checked_usage(
            _count(usage, "output_tokens")
        )
        chunk.prompt_tokens = checked_usage(_count(usage, "input_tokens"))[0]
        details = usage.get("output_tokens_details")
        if type(details) is dict:
            chunk.reasoning_tokens = checked_usage(_count(details, "reasoning_tokens"))[0]
    elif usage is not None:
        raise ChunkError("usage is not an object")
    return chunk


def parse_embeddings(body: bytes | bytearray) -> tuple[int, int | None]:
    """An embeddings answer → (vectors returned, the server's prompt token count)."""
    obj = _object(body, "response")
    if obj.get("error") is not None:
        raise ChunkError(f"error: {_error_text(obj['error'])}")
    data = obj.get("data")
    if type(data) is not list or not all(
        type(d) is dict and type(d.get("embedding")) in (list, str) for d in data
    ):
        raise ChunkError("data is not a list of embeddings")
    usage = obj.get("usage")
    prompt = None
    if usage is not None:
        if type(usage) is not dict:
            raise ChunkError("usage is not an object")
        prompt = checked_usage(_count(usage, "prompt_tokens"))[0]
    return len(data), prompt
