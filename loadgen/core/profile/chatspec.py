"""Validation of a chat step: ``chat:`` over HTTP (OpenAI, SSE, text, JSON, Bedrock) and
``ws:`` over a WebSocket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from loadgen.core.lengths import Length, read_length
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.fields import Reader, duration, flag, names, read, text
from loadgen.core.profile.model import ChatTask, DataPools, Prefix, WsTask
from loadgen.core.profile.source import Path_

__all__ = ["chat", "ws"]

_APIS = ("openai", "sse", "text", "json", "bedrock")  # the first is the default
_CHAT_KEYS = (
    "api",
    "path",
    "model",
    "stream",
    "max_tokens",
    "category",
    "prompt",
    "conversation",
    "include_usage",
    "headers",
    "content_event",
    "content_field",
    "done_event",
    "usage_field",
    "body",
    "params",
    "system",
    "input_tokens",
    "output_tokens",
    "exact_output",
    "prefix",
    "tokenizer",
)
# In ChatTask's order: problems come in the order the fields are read.
_CHAT: dict[str, Reader] = {
    "model": text("builtin"),
    "stream": flag(True),
    "prompt": text(None),
    "include_usage": flag(True),
    "headers": names,
    "content_event": text(None),
    "content_field": text("content"),
    "done_event": text("done"),
    "usage_field": text("usage.completion_tokens"),
}
_WS_KEYS = (
    "path",
    "category",
    "prompt",
    "conversation",
    "message",
    "type_field",
    "token_type",
    "content_field",
    "end_type",
    "error_type",
    "usage_field",
    "token_query",
    "reconnect_backoff",
)
_WS: dict[str, Reader] = {
    "path": text("/api/realtime/ws"),
    "prompt": text(None),
    "conversation": flag(False),
    "type_field": text("type"),
    "token_type": text("token"),
    "content_field": text("content"),
    "end_type": text("end"),
    "error_type": text("error"),
    "usage_field": text("usage.completion_tokens"),
    "reconnect_backoff": duration(1.0),
}


def chat(check: Checker, value: Any, path: Path_, pools: DataPools) -> ChatTask:
    c = check.mapping(value, path, _CHAT_KEYS)
    api = check.one_of(
        c.get("api"), (*path, "api"), _APIS, "api", "use openai, sse, text, json or bedrock"
    )
    category = _category(check, c, path, pools)
    conversation = check.typed(c.get("conversation"), (*path, "conversation"), bool, False)
    if conversation and not pools.conversations:
        check.bad(
            (*path, "conversation"),
            f"{pools.source} has no conversations",
            "add conversations: [[turn, turn, ...]] to the data file",
        )
    max_tokens = check.typed(c.get("max_tokens"), (*path, "max_tokens"), int, None)
    if max_tokens is not None and max_tokens <= 0:
        check.bad((*path, "max_tokens"), "must be > 0", "write max_tokens: 256")
    body = _template(check, c, "body", path, 'write body: {message: "{{ prompt }}"}')
    if body is not None and api == "openai":
        check.bad(
            (*path, "body"),
            "is not sent with api: openai (loadgen builds the chat completion itself)",
            "put request parameters under params: (e.g. params: {temperature: 0, "
            "ignore_eos: true}), a system prompt under system:",
        )
    default_path = "/v1/chat/completions" if api == "openai" else "/api/chat"
    workload = _workload(check, c, path, api, max_tokens)
    return ChatTask(
        api=cast(Any, api),  # one of _APIS
        path=check.typed(c.get("path"), (*path, "path"), str, default_path),
        max_tokens=max_tokens,
        category=category,
        conversation=conversation,
        body=body,
        **read(check, c, path, _CHAT),
        **workload,
    )


_SYNTHETIC = ("params", "system", "input_tokens", "output_tokens", "exact_output", "prefix")


def _workload(
    check: Checker, c: Mapping[str, Any], path: Path_, api: str, max_tokens: int | None
) -> dict[str, Any]:
    """The model-server keys: passthrough ``params``, ``system``, token lengths, prefixes."""
    given = [k for k in (*_SYNTHETIC, "tokenizer") if k in c]
    if given and api != "openai":
        check.bad(
            (*path, given[0]),
            f"needs api: openai (this chat is api: {api})",
            "drop it, or use api: openai",
        )
        return {}
    params = c.get("params")
    if params is not None and not isinstance(params, Mapping):
        check.bad(
            (*path, "params"),
            "expected a mapping of request fields",
            "write params: {temperature: 0, seed: 1}",
        )
        params = None
    out: dict[str, Any] = {
        "params": dict(params or {}),
        "system": check.typed(c.get("system"), (*path, "system"), str, None),
        "exact_output": check.typed(c.get("exact_output"), (*path, "exact_output"), bool, True),
    }
    for key in ("input_tokens", "output_tokens"):
        if c.get(key) is not None:
            out[key] = read_length(c[key], (*path, key), check.bad)
    if out.get("output_tokens") is not None and max_tokens is not None:
        check.bad(
            (*path, "max_tokens"),
            "conflicts with output_tokens",
            "keep one: output_tokens sets max_tokens for each request",
        )
    if out.get("input_tokens") is not None:
        out.update(_synthetic(check, c, path, out["input_tokens"]))
    else:
        for key in ("prefix", "tokenizer"):
            if key in c:
                check.bad((*path, key), "needs input_tokens", "add input_tokens: 512")
    return out


def _synthetic(check: Checker, c: Mapping[str, Any], path: Path_, length: Length) -> dict[str, Any]:
    """What a synthetic prompt needs beside its length: no other prompt, a tokenizer, a prefix."""
    for key in ("prompt", "category", "conversation"):
        if c.get(key):
            check.bad(
                (*path, key),
                "conflicts with input_tokens (a synthetic prompt)",
                f"drop {key}, or drop input_tokens",
            )
    out: dict[str, Any] = {}
    tokenizer = check.typed(
        c.get("tokenizer"),
        (*path, "tokenizer"),
        str,
        None,
        "write tokenizer: path/to/tokenizer.json",
    )
    if tokenizer is not None and not check.missing_file(tokenizer, (*path, "tokenizer")):
        out["tokenizer"] = check.base_dir / tokenizer
    if c.get("prefix") is not None:
        out["prefix"] = _prefix(check, c["prefix"], (*path, "prefix"), length)
    return out


def _prefix(check: Checker, value: Any, path: Path_, length: Length) -> Prefix | None:
    p = check.mapping(value, path, ("tokens", "count", "weights"))
    tokens = check.typed(p.get("tokens"), (*path, "tokens"), int, None, "write tokens: 1000")
    count = check.typed(p.get("count"), (*path, "count"), int, 1, "write count: 8")
    if tokens is None or tokens < 1 or count < 1:
        check.bad(
            path, "needs tokens and count of at least 1", "write prefix: {tokens: 1000, count: 8}"
        )
        return None
    weights = p.get("weights")
    if weights is not None and (
        not isinstance(weights, list)
        or len(weights) != count
        or not all(
            isinstance(w, int | float) and not isinstance(w, bool) and w > 0 for w in weights
        )
    ):
        check.bad(
            (*path, "weights"),
            f"expected {count} numbers > 0, one per prefix",
            f"write weights: [{', '.join(['1'] * min(count, 4))}{', ...' if count > 4 else ''}]",
        )
        weights = None
    if length.low < tokens:
        check.bad(
            path,
            f"{tokens} tokens is longer than the shortest input ({length.low})",
            "raise input_tokens' minimum above the prefix, or shorten the prefix",
        )
    return Prefix(
        tokens=tokens,
        count=count,
        weights=None if weights is None else tuple(float(w) for w in weights),
    )


def ws(check: Checker, value: Any, path: Path_, pools: DataPools) -> WsTask:
    w = check.mapping(value, path, _WS_KEYS)
    category = _category(check, w, path, pools)
    message = _template(
        check, w, "message", path, 'write message: {type: message, content: "{{ prompt }}"}'
    )
    token_query = w.get("token_query", "token")
    return WsTask(
        category=category,
        message=message,
        token_query=None if token_query is None else str(token_query),
        **read(check, w, path, _WS),
    )


def _category(check: Checker, c: Mapping[str, Any], path: Path_, pools: DataPools) -> str | None:
    """A question pool the data file has."""
    category: str | None = check.typed(c.get("category"), (*path, "category"), str, None)
    if category is not None and category not in pools.questions:
        check.bad(
            (*path, "category"),
            f"no question pool {category!r} in {pools.source}",
            f"use one of: {', '.join(sorted(pools.questions)) or 'none'}",
        )
    return category


def _template(
    check: Checker, c: Mapping[str, Any], key: str, path: Path_, fix: str
) -> dict[str, Any] | None:
    """A JSON object template (a chat's ``body``, a WebSocket ``message``)."""
    template = c.get(key)
    if template is not None and not isinstance(template, Mapping):
        check.bad((*path, key), "expected a JSON object template", fix)
        return None
    return dict(template) if template else None
