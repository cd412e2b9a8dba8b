"""Validation of a chat step: ``chat:`` over HTTP (OpenAI, SSE, text, JSON, Bedrock) and
``ws:`` over a WebSocket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from loadgen.core.cancel import Cancel
from loadgen.core.lengths import Length, read_length
from loadgen.core.profile.cancelspec import cancel
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.datasetspec import dataset
from loadgen.core.profile.fields import Reader, duration, flag, names, read, text
from loadgen.core.profile.model import ChatTask, DataPools, Prefix, UserClass, WsTask
from loadgen.core.profile.source import Path_
from loadgen.core.slo import Slo
from loadgen.core.thresholds import Threshold

__all__ = ["chat", "streamless_limits", "ws"]

# The first is the default; the model-server APIs take the workload keys (params, lengths...).
_APIS = ("openai", "sse", "text", "json", "bedrock", "completions", "responses", "embeddings")
_MODEL_APIS = ("openai", "completions", "responses", "embeddings")
_PATHS = {
    "openai": "/v1/chat/completions",
    "completions": "/v1/completions",
    "responses": "/v1/responses",
    "embeddings": "/v1/embeddings",
}
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
    "dataset",
    "batch",
    "cancel",
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
    api = check.one_of(c.get("api"), (*path, "api"), _APIS, "api", f"use {', '.join(_APIS)}")
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
    if body is not None and api in _MODEL_APIS:
        check.bad(
            (*path, "body"),
            f"is not sent with api: {api} (loadgen builds the request body itself)",
            "put request parameters under params: (e.g. params: {temperature: 0, "
            "ignore_eos: true}), a system prompt under system:",
        )
    workload = _workload(check, c, path, api, max_tokens)
    return ChatTask(
        api=cast(Any, api),  # one of _APIS
        path=check.typed(c.get("path"), (*path, "path"), str, _PATHS.get(api, "/api/chat")),
        max_tokens=max_tokens,
        category=category,
        conversation=conversation,
        body=body,
        cancel=_cancel(check, c, path, api),
        **read(check, c, path, _CHAT),
        **workload,
    )


def _cancel(check: Checker, c: Mapping[str, Any], path: Path_, api: str) -> Cancel | None:
    """``cancel:``: for the HTTP chat APIs, whose stream the VU can close."""
    spec = cancel(check, c.get("cancel"), (*path, "cancel"))
    if spec is not None and api in ("bedrock", "embeddings"):
        check.bad((*path, "cancel"), f"api: {api} cannot be cancelled part-way", "drop cancel")
        return None
    return spec


_SYNTHETIC = ("params", "system", "input_tokens", "output_tokens", "exact_output", "prefix")
_WORKLOAD = (*_SYNTHETIC, "tokenizer", "dataset", "batch")


def _workload(
    check: Checker, c: Mapping[str, Any], path: Path_, api: str, max_tokens: int | None
) -> dict[str, Any]:
    """The model-server keys: passthrough ``params``, ``system``, token lengths, prefixes."""
    given = [k for k in _WORKLOAD if k in c]
    if given and api not in _MODEL_APIS:
        check.bad(
            (*path, given[0]),
            f"needs api: openai, completions, responses or embeddings (this chat is api: {api})",
            "drop it, or use api: openai",
        )
        return {}
    _api_fits(check, c, path, api)
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
    if type(c.get("batch")) is int and c["batch"] >= 1:
        out["batch"] = c["batch"]
    for key in ("input_tokens", "output_tokens"):
        if c.get(key) is not None:
            out[key] = read_length(c[key], (*path, key), check.bad)
    if out.get("output_tokens") is not None and max_tokens is not None:
        check.bad(
            (*path, "max_tokens"),
            "conflicts with output_tokens",
            "keep one: output_tokens sets max_tokens for each request",
        )
    if c.get("dataset") is not None:
        out.update(_from_dataset(check, c, path))
    elif out.get("input_tokens") is not None:
        out.update(_synthetic(check, c, path, out["input_tokens"]))
    else:
        for key in ("prefix", "tokenizer"):
            if key in c:
                check.bad((*path, key), "needs input_tokens", "add input_tokens: 512")
    return out


def _api_fits(check: Checker, c: Mapping[str, Any], path: Path_, api: str) -> None:
    """What the other endpoints cannot do: an embedding has no output (nor a conversation),
    and completions and responses are read as streams."""
    if api == "embeddings":
        for key in ("output_tokens", "max_tokens", "exact_output", "conversation"):
            if c.get(key) is not None and c.get(key) is not False:
                check.bad((*path, key), "an embedding has no output", f"drop {key}")
    elif "batch" in c:
        check.bad((*path, "batch"), "is for api: embeddings (inputs per request)", "drop it")
    if api in ("completions", "responses") and c.get("stream") is False:
        check.bad((*path, "stream"), f"api: {api} is read as a stream", "drop stream: false")
    batch = c.get("batch")
    if batch is not None and (type(batch) is not int or batch < 1):
        check.bad((*path, "batch"), "expected a whole number >= 1", "write batch: 16")


def _from_dataset(check: Checker, c: Mapping[str, Any], path: Path_) -> dict[str, Any]:
    """Prompts from a file: no other prompt source; the tokenizer counts its lengths."""
    for key in ("prompt", "category", "conversation", "input_tokens", "prefix"):
        if c.get(key):
            check.bad(
                (*path, key),
                "conflicts with dataset (the prompts come from the file)",
                f"drop {key}, or drop dataset",
            )
    out: dict[str, Any] = {"dataset": dataset(check, c["dataset"], (*path, "dataset"))}
    tokenizer = check.typed(c.get("tokenizer"), (*path, "tokenizer"), str, None)
    if tokenizer is not None and not check.missing_file(tokenizer, (*path, "tokenizer")):
        out["tokenizer"] = check.base_dir / tokenizer
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


# What only a streamed answer yields: no embedding has a first token or output tokens.
_STREAMED = frozenset(
    {"ttft", "itl", "tpot", "ttfo", "output_tokens", "output_tps", "request_tps"}
    | {"reasoning_time", "reasoning_tokens"}
)


def streamless_limits(
    check: Checker, users: tuple[UserClass, ...], thresholds: tuple[Threshold, ...], slo: Slo
) -> None:
    """A limit on TTFT (or any streamed-answer metric) in a profile whose every chat is
    ``api: embeddings`` would be judged on no data: a profile error instead."""
    tasks = [task for cls in users for task in cls.every_task()]
    chats = [task.chat for task in tasks if task.chat is not None]
    if not chats or any(c.api != "embeddings" for c in chats) or any(t.ws for t in tasks):
        return
    why = "has no data: every chat is api: embeddings, which has no streamed answer"
    fix = "limit e2e (an embedding's latency), input_tokens or errors instead"
    for t in thresholds:
        if t.metric in _STREAMED:
            check.bad(("thresholds",), f"{t.expr.strip()}: {t.metric} {why}", fix)
    for name in slo.declared:
        if name.split("_")[0] in _STREAMED:
            check.bad(("slo", name), f"{name.split('_')[0]} {why}", fix)
