"""Validation of a chat step: ``chat:`` over HTTP (OpenAI, SSE, text, JSON, Bedrock) and
``ws:`` over a WebSocket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from loadgen.core.profile.checker import Checker
from loadgen.core.profile.fields import Reader, duration, flag, names, read, text
from loadgen.core.profile.model import ChatTask, DataPools, WsTask
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
    default_path = "/v1/chat/completions" if api == "openai" else "/api/chat"
    return ChatTask(
        api=cast(Any, api),  # one of _APIS
        path=check.typed(c.get("path"), (*path, "path"), str, default_path),
        max_tokens=max_tokens,
        category=category,
        conversation=conversation,
        body=body,
        **read(check, c, path, _CHAT),
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
