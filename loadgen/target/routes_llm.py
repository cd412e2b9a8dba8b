"""Model-server routes beyond chat: ``/v1/completions``, ``/v1/responses``, ``/v1/embeddings``.

Each goes the way chat does: fault first (the RNG order is fixed), then length, TTFT
(with the prompt's prefill), token offset, a tool-call draw where tools are offered; the
answer is a :class:`Generation`, so capacity slots, faults and the truth log apply alike.
Prompts are counted with the default tokenizer, as chat's are. Embeddings generate no
tokens: their latency is the prompt's prefill alone, in a slot.
"""

from __future__ import annotations

import base64
import json
import random
import struct
import time
import zlib
from collections.abc import Callable
from functools import cache
from typing import Any

from loadgen.target.app import App
from loadgen.target.faults import answers_before_body
from loadgen.target.generation import Format, Generation, Sink
from loadgen.target.http import HttpConnection, Request
from loadgen.target.llmformats import CompletionsFormat
from loadgen.target.llmplan import (
    PromptCost,
    message_texts,
    pick_tool,
    prompt_cost,
    reasoning_count,
    reasoning_share,
    truth_fields,
    usage,
)
from loadgen.target.responsesfmt import ResponseAnswer, ResponsesFormat
from loadgen.target.routes_chat import (
    _bad,
    _body,
    _length_options,
    _refused_openai_auth,
    _request_id,
)
from loadgen.target.sinks import HttpSink, JsonSink

__all__ = ["register"]

COMPLETIONS = "/v1/completions"
RESPONSES = "/v1/responses"
EMBEDDINGS = "/v1/embeddings"
_MAX_DIMENSIONS = 65536

Prompt = list[str | tuple[int, ...]]


def _prompts(value: Any) -> Prompt | None:
    """A prompt or embeddings input as texts or token-id tuples: a string, a list of strings,
    a list of token ids, or a list of those lists; None when it is none of them."""
    if isinstance(value, str):
        return [value] if value else None
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [tuple(value)]
    out: Prompt = []
    for item in value:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, list) and all(isinstance(v, int) for v in item):
            out.append(tuple(item))
        else:
            return None
    return out


_PROMPT = (
    lambda v: _prompts(v) is not None,
    "prompt must be a string, a list of strings, or token ids",
)
_INPUT = (
    lambda v: (isinstance(v, str) and bool(v)) or (isinstance(v, list) and bool(v)),
    "input must be a non-empty string or list",
)
_EMBED = (
    lambda v: _prompts(v) is not None,
    "input must be a string, a list of strings, or token ids",
)


def _start(
    app: App,
    conn: HttpConnection,
    req: Request,
    route: str,
    field: str,
    check: tuple[Callable[[Any], bool], str],
) -> tuple[str | None, str | None, dict[str, Any], int | None] | None:
    """Method, auth, body and before-body faults: (rid, fault, payload, max tokens), or
    None when the request was answered already."""
    if req.method != b"POST":
        _bad(app, conn, req, route, 405, "use POST", True)
        return None
    rid = req.header(b"x-request-id")
    refused = _refused_openai_auth(app, req)
    if refused is not None:
        _bad(app, conn, req, route, 401, refused, True)
        return None
    try:
        fault, payload, max_tokens = _body(app, req, field, check)
        if route == RESPONSES:
            max_tokens = _positive(payload, "max_output_tokens")
    except ValueError as exc:
        _bad(app, conn, req, route, 400, str(exc), True)
        return None
    if fault is not None and answers_before_body(fault):
        app.fault_answer(conn, req, route, fault, True, rid or app.next_id())
        return None
    return rid, fault, payload, max_tokens


def _positive(payload: dict[str, Any], key: str) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key} must be a positive integer")
    return value


def _sink(
    conn: HttpConnection,
    req: Request,
    rid: str | None,
    fault: str | None,
    stream: bool,
    body: Callable[[], bytes],
) -> Sink:
    extra = _request_id(rid)
    if stream:
        return HttpSink(conn, req, openai=True, extra=extra)
    return JsonSink(conn, req, body, openai=True, fault=fault, extra=extra)


def _include_usage(payload: dict[str, Any]) -> bool:
    options = payload.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def completions(app: App, conn: HttpConnection, req: Request) -> None:
    started = _start(app, conn, req, COMPLETIONS, "prompt", _PROMPT)
    if started is None:
        return
    rid, fault, payload, max_tokens = started
    n, capped = app.sample_tokens(max_tokens, *_length_options(payload))
    cost = prompt_cost(app, _prompts(payload["prompt"]) or [], template=False)
    ttft = app.sample_ttft(cost.tokens - cost.cached)
    offset = app.enc.offset(app.rng)
    app.ids += 1
    cid, created, model = b"cmpl-%x" % app.ids, int(time.time()), app.config.chat.model
    finish = "length" if capped else "stop"
    counts = usage(cost, n, 0, False)
    stream = payload.get("stream") is True
    fmt = CompletionsFormat(
        app.enc,
        offset,
        n,
        cid=cid,
        created=created,
        model=model.encode(),
        finish=finish.encode(),
        usage=json.dumps(counts).encode() if stream and _include_usage(payload) else None,
    )
    text = "".join(app.enc.pick(app.enc.words, offset, n))
    choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
    whole = {
        "id": cid.decode(),
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": counts,
    }
    sink = _sink(conn, req, rid, fault, stream, lambda: json.dumps(whole).encode())
    _generate(app, conn, req, sink, fmt, n, ttft, COMPLETIONS, rid, fault, cost)


def _generate(
    app: App,
    conn: HttpConnection,
    req: Request,
    sink: Sink,
    fmt: Format,
    n: int,
    ttft: float,
    route: str,
    rid: str | None,
    fault: str | None,
    cost: PromptCost,
    llm: dict[str, Any] | None = None,
) -> None:
    gen = Generation(
        app,
        sink,
        fmt,
        n=n,
        ttft=ttft,
        route=route,
        rid=rid,
        req=req,
        fault=fault,
        prompt_tokens=cost.tokens,
        llm=(llm or truth_fields(cost)) if app.truth is not None else None,
    )
    gen.schedule(conn)


def _input_texts(payload: dict[str, Any]) -> list[str]:
    """The Responses input as message texts: ``instructions`` first (a system message)."""
    value = payload["input"]
    texts = message_texts(value) if isinstance(value, list) else [value]
    instructions = payload.get("instructions")
    return [instructions, *texts] if isinstance(instructions, str) and instructions else texts


def responses(app: App, conn: HttpConnection, req: Request) -> None:
    started = _start(app, conn, req, RESPONSES, "input", _INPUT)
    if started is None:
        return
    rid, fault, payload, max_tokens = started
    try:
        share = reasoning_share(app, payload)
    except ValueError as exc:
        _bad(app, conn, req, RESPONSES, 400, str(exc), True)
        return
    n, capped = app.sample_tokens(max_tokens, *_length_options(payload))
    cost = prompt_cost(app, _input_texts(payload))
    ttft = app.sample_ttft(cost.tokens - cost.cached)
    offset = app.enc.offset(app.rng)
    app.ids += 1
    tool = pick_tool(app, payload)
    thinking = reasoning_count(share, n)
    if thinking >= n:
        tool = None  # all of it reasoned: no token left to call with
    counts = {
        "input_tokens": cost.tokens,
        "input_tokens_details": {"cached_tokens": cost.cached},
        "output_tokens": n,
        "output_tokens_details": {"reasoning_tokens": thinking},
        "total_tokens": cost.tokens + n,
    }
    answer = ResponseAnswer(
        rid=f"{app.ids:x}",
        created=int(time.time()),
        model=app.config.chat.model,
        words=app.enc.pick(app.enc.words, offset, n),
        reasoning=thinking,
        tool=tool,
        capped=capped,
        usage=counts,
    )
    stream = payload.get("stream") is True
    sink = _sink(conn, req, rid, fault, stream, answer.body)
    llm = truth_fields(cost, thinking, tool) if app.truth is not None else None
    _generate(
        app, conn, req, sink, ResponsesFormat(answer), n, ttft, RESPONSES, rid, fault, cost, llm
    )


class _NoTokens:
    """The format of an answer without tokens (embeddings): only its JSON body is written."""

    def opening(self) -> list[bytes]:
        return []

    def tokens(self, start: int, stop: int) -> list[bytes]:
        return []

    def closing(self) -> list[bytes]:
        return []

    def malformed(self) -> bytes:
        return b""

    def events(self) -> list[bytes]:
        return []

    def whole(self) -> bytes:
        return b""


@cache
def _basis(seed: int) -> tuple[float, ...]:
    """Seeded values every vector is a window of (a vector costs a slice, not draws)."""
    rng = random.Random(f"embeddings:{seed}")
    return tuple(round(rng.uniform(-1, 1), 6) for _ in range(8192))


def _vector(app: App, item: str | tuple[int, ...], dims: int) -> list[float]:
    """The same input gets the same vector: a window of the basis chosen by its hash."""
    key = item.encode() if isinstance(item, str) else repr(item).encode()
    basis = _basis(app.config.seed)
    size = len(basis)
    at = zlib.crc32(key) % size
    return [basis[(at + i) % size] for i in range(dims)]


def embeddings(app: App, conn: HttpConnection, req: Request) -> None:
    started = _start(app, conn, req, EMBEDDINGS, "input", _EMBED)
    if started is None:
        return
    rid, fault, payload, _ = started
    try:
        dims = _positive(payload, "dimensions") or app.config.embeddings.dimensions
        if dims > _MAX_DIMENSIONS:
            raise ValueError(f"dimensions must be at most {_MAX_DIMENSIONS}")
    except ValueError as exc:
        _bad(app, conn, req, EMBEDDINGS, 400, str(exc), True)
        return
    inputs = _prompts(payload["input"]) or []
    cost = prompt_cost(app, inputs, template=False, cache=False)
    as_base64 = payload.get("encoding_format") == "base64"

    def body() -> bytes:
        data = []
        for i, item in enumerate(inputs):
            vector: list[float] | str = _vector(app, item, dims)
            if as_base64:
                vector = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": vector})
        counts = {"prompt_tokens": cost.tokens, "total_tokens": cost.tokens}
        whole = {"object": "list", "data": data, "model": app.config.chat.model, "usage": counts}
        return json.dumps(whole, separators=(",", ":")).encode()

    sink = _sink(conn, req, rid, fault, False, body)
    _generate(app, conn, req, sink, _NoTokens(), 0, cost.prefill, EMBEDDINGS, rid, fault, cost)


def register(app: App) -> None:
    app.route(COMPLETIONS, completions)
    app.route(RESPONSES, responses)
    app.route(EMBEDDINGS, embeddings)
