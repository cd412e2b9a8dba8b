"""Chat routes: OpenAI ``/v1/chat/completions`` and ``/v1/models``, and ``POST /api/chat``.

Each handler validates the request, draws (in this order) fault, length, TTFT, token
offset and citations (or, for a request offering tools, whether it calls one) from the
seeded RNG, answers error-status faults at once, and hands everything else to a
:class:`Generation`. Prompt costs, reasoning and tool calls come from ``llmplan``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from loadgen.target.app import App
from loadgen.target.encode import ApiChatFormat, Encoded, OpenAIFormat
from loadgen.target.faults import answers_before_body
from loadgen.target.generation import Generation, Sink
from loadgen.target.http import HttpConnection, Request
from loadgen.target.llmformats import ChatLLMFormat, ToolCall, chat_message
from loadgen.target.llmplan import (
    PromptCost,
    effort_of,
    message_texts,
    pick_tool,
    prompt_cost,
    reasoning_count,
    reasoning_share,
    truth_fields,
    usage,
)
from loadgen.target.prefill import MESSAGE_TOKENS
from loadgen.target.sinks import HttpSink, JsonSink, error_body

__all__ = ["register"]

OPENAI = "/v1/chat/completions"
API_CHAT = "/api/chat"


def _bad(
    app: App,
    conn: HttpConnection,
    req: Request,
    route: str,
    status: int,
    message: str,
    openai: bool,
) -> None:
    code = {
        400: "invalid_request",
        401: "not_authenticated",
        405: "method_not_allowed",
        422: "invalid_request",
    }.get(status, "error")
    app.answer(conn, req, route, status, None, body=error_body(openai, status, code, message))


def _max_tokens(payload: dict[str, Any]) -> int | None:
    value = payload.get("max_completion_tokens", payload.get("max_tokens"))
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("max_tokens must be a positive integer")
    return value


def _length_options(payload: dict[str, Any]) -> tuple[int | None, bool]:
    """``min_tokens`` (a positive integer, else ignored) and ``ignore_eos`` (true only)."""
    low = payload.get("min_tokens")
    valid = isinstance(low, int) and not isinstance(low, bool) and low > 0
    return (low if valid else None), payload.get("ignore_eos") is True


def chat_completions(app: App, conn: HttpConnection, req: Request) -> None:
    route = OPENAI
    if req.method != b"POST":
        _bad(app, conn, req, route, 405, "use POST", True)
        return
    rid = req.header(b"x-request-id")
    refused = _refused_openai_auth(app, req)
    if refused is not None:
        _bad(app, conn, req, route, 401, refused, True)
        return
    try:
        fault, payload, max_tokens = _body(app, req, "messages", _MESSAGES)
        share = reasoning_share(app, payload)
    except ValueError as exc:
        _bad(app, conn, req, route, 400, str(exc), True)
        return
    if fault is not None and answers_before_body(fault):
        app.fault_answer(conn, req, route, fault, True, rid or app.next_id())
        return
    n, capped = app.sample_tokens(max_tokens, *_length_options(payload))
    cost = prompt_cost(app, message_texts(payload["messages"]))
    ttft = app.sample_ttft(cost.tokens - cost.cached)
    offset = app.enc.offset(app.rng)
    answer = _answer(app, payload, share, n, capped, cost, offset)
    stream = payload.get("stream") is True
    options = payload.get("stream_options")
    include_usage = stream and isinstance(options, dict) and options.get("include_usage") is True
    fmt = answer.chunks(app.enc, include_usage)
    extra = _request_id(rid)
    sink: Sink
    if stream:
        sink = HttpSink(conn, req, openai=True, extra=extra)
    else:
        body = partial(answer.body, app.enc)
        sink = JsonSink(conn, req, body, openai=True, fault=fault, extra=extra)
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
        llm=truth_fields(cost, answer.reasoning, answer.tool) if app.truth is not None else None,
    )
    gen.schedule(conn)


def _answer(
    app: App,
    payload: dict[str, Any],
    share: float,
    n: int,
    capped: bool,
    cost: PromptCost,
    offset: int,
) -> _Completion:
    """The chat answer's shape: reasoning tokens first, then text or a tool call."""
    app.ids += 1
    tool = pick_tool(app, payload)
    thinking = reasoning_count(share, n)
    if thinking >= n:
        tool = None  # all of it reasoned: no token left to call with
    details = share > 0 or effort_of(payload) is not None
    return _Completion(
        b"chatcmpl-%x" % app.ids,
        int(time.time()),
        app.config.chat.model,
        b"length" if capped else b"tool_calls" if tool is not None else b"stop",
        offset,
        n,
        usage(cost, n, thinking, details),
        thinking,
        app.config.reasoning.field,
        tool,
    )


def _refused_openai_auth(app: App, req: Request) -> str | None:
    """Why the request's bearer token is refused, when the OpenAI route requires one: it is
    neither an API key nor a token the auth service accepts. None when it may go on."""
    if not app.config.auth.require_auth_openai:
        return None
    token = req.bearer()
    if app.auth.is_api_key(token):
        return None
    try:
        app.auth.authenticate(token)
    except Exception as exc:
        return str(exc)
    return None


#: The field a route's body must hold: its check, and what to say when it fails.
_MESSAGES = (lambda v: isinstance(v, list) and bool(v), "messages must be a non-empty list")
_MESSAGE = (lambda v: isinstance(v, str) and bool(v.strip()), "message must be a non-empty string")


def _body(
    app: App, req: Request, field: str, check: tuple[Callable[[Any], bool], str]
) -> tuple[str | None, dict[str, Any], int | None]:
    """The fault the request asks for (drawn first: the RNG order is fixed), its JSON object
    body, which must hold a valid ``field``, and its max tokens; ``ValueError`` says why not."""
    fault = app.pick_fault(req.header(b"x-loadgen-fault"))
    payload = req.json()
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    valid, problem = check
    if not valid(payload.get(field)):
        raise ValueError(problem)
    return fault, payload, _max_tokens(payload)


def _request_id(rid: str | None) -> bytes:
    """The response header echoing the request's ``x-request-id``, if it had one."""
    return b"x-request-id: %b\r\n" % rid.encode() if rid else b""


@dataclass(frozen=True, slots=True)
class _Completion:
    """What one chat completion answers, as streamed chunks or one JSON body."""

    cid: bytes
    created: int
    model: str
    finish: bytes
    offset: int
    n: int
    usage: dict[str, Any]
    reasoning: int = 0
    field: str = "reasoning_content"
    tool: ToolCall | None = None

    def chunks(self, enc: Encoded, include_usage: bool) -> OpenAIFormat:
        common: dict[str, Any] = {
            "cid": self.cid,
            "created": self.created,
            "model": self.model.encode(),
            "finish": self.finish,
            "usage": json.dumps(self.usage).encode() if include_usage else None,
        }
        if self.reasoning == 0 and self.tool is None:
            return OpenAIFormat(enc, self.offset, self.n, **common)
        return ChatLLMFormat(
            enc,
            self.offset,
            self.n,
            **common,
            reasoning=self.reasoning,
            field=self.field,
            tool=self.tool,
        )

    def _message(self, enc: Encoded) -> dict[str, Any]:
        if self.reasoning == 0 and self.tool is None:
            return {"role": "assistant", "content": enc.text(self.offset, self.n)}
        return chat_message(enc, self.offset, self.n, self.reasoning, self.tool)

    def body(self, enc: Encoded) -> bytes:
        """The non-streamed answer (``chat.completion``), built when it is written."""
        return json.dumps(
            {
                "id": self.cid.decode(),
                "object": "chat.completion",
                "created": self.created,
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": self.finish.decode(),
                        "message": self._message(enc),
                    }
                ],
                "usage": self.usage,
            }
        ).encode()


def api_chat(app: App, conn: HttpConnection, req: Request) -> None:
    route = API_CHAT
    if req.method != b"POST":
        _bad(app, conn, req, route, 405, "use POST", False)
        return
    user = app.authenticate(conn, req, route)
    if user is None:
        return
    rid = req.header(b"x-request-id")
    try:
        fault, payload, max_tokens = _body(app, req, "message", _MESSAGE)
    except ValueError as exc:
        _bad(app, conn, req, route, 422, str(exc), False)
        return
    message = payload["message"]
    conv = app.conversations.get_or_create(payload.get("conversation_id"), user.id)
    if conv is None:
        app.answer(
            conn,
            req,
            route,
            403,
            {"detail": "conversation belongs to another user", "code": "forbidden"},
        )
        return
    if fault is not None and answers_before_body(fault):
        app.fault_answer(conn, req, route, fault, False, rid or app.next_id())
        return
    prepared = prepare_answer(app, conv, message, max_tokens)
    done = prepared["done"]
    extra = _request_id(rid)
    sink: Sink
    if payload.get("stream", True) is not False:
        sink = HttpSink(conn, req, openai=False, extra=extra)
    else:
        body = {**done, "content": app.enc.text(prepared["offset"], prepared["n"])}
        sink = JsonSink(
            conn, req, lambda: json.dumps(body).encode(), openai=False, fault=fault, extra=extra
        )
    fmt = ApiChatFormat(app.enc, prepared["offset"], prepared["n"], done, done["citations"])
    gen = Generation(
        app,
        sink,
        fmt,
        n=prepared["n"],
        ttft=prepared["ttft"],
        route=route,
        rid=rid,
        req=req,
        fault=fault,
        prompt_tokens=done["usage"]["prompt_tokens"],
        llm=prepared["llm"],
    )
    gen.schedule(conn)


def prepare_answer(app: App, conv: Any, message: str, max_tokens: int | None) -> dict[str, Any]:
    """Draw an answer for a chatbot turn (shared by ``/api/chat`` and the WebSocket)."""
    prompt = conv.context_tokens + app.prompts.count(message) + MESSAGE_TOKENS
    n, _ = app.sample_tokens(max_tokens)
    ttft = app.sample_ttft(prompt)
    offset = app.enc.offset(app.rng)
    citations: list[dict[str, Any]] = []
    if app.rng.random() < app.config.chat.citation_rate:
        citations = app.documents.citations(1 + app.rng.randrange(3), app.rng.randrange(1000))
    app.cache.lookup(message)
    conv.turns += 1
    conv.context_tokens = prompt + n
    app.ids += 1
    done = {
        "conversation_id": conv.id,
        "message_id": f"msg-{app.ids}",
        "citations": citations,
        "usage": {"prompt_tokens": prompt, "completion_tokens": n},
        "created": time.time(),
    }
    llm = None
    if app.truth is not None:
        cost = PromptCost(prompt, 0, app.config.timing.prefill_per_token * prompt, None)
        llm = truth_fields(cost)
    return {"n": n, "ttft": ttft, "offset": offset, "done": done, "llm": llm}


def models(app: App, conn: HttpConnection, req: Request) -> None:
    model = app.config.chat.model
    app.answer(
        conn,
        req,
        "/v1/models",
        200,
        {
            "object": "list",
            "data": [{"id": model, "object": "model", "created": 0, "owned_by": "loadgen"}],
        },
    )


def register(app: App) -> None:
    app.route(OPENAI, chat_completions)
    app.route("/v1/models", models)
    app.route(API_CHAT, api_chat)
