"""One request of one protocol, behind one interface: a VU picks the ``Requester`` for a task
once (``requester_for``) and then only calls ``send``.

``ChatRequester`` (HTTP chat APIs: openai, sse, text, json, over fasthttp or httpx),
``BedrockRequester`` (Bedrock's Converse stream), ``WsRequester`` (chat over one WebSocket
per VU) and ``HttpRequester`` (plain ``http:`` tasks). Each fills the sample and returns
what the response offers for checks and extraction; none raises for what a target does.
"""

from __future__ import annotations

import json
import random
from time import monotonic
from typing import TYPE_CHECKING, Protocol

from loadgen.core.checks import ResponseView
from loadgen.core.llmapis import PATHS, api_body
from loadgen.core.profile.model import HttpTask, Task
from loadgen.core.redact import is_secret_key
from loadgen.core.sample import Sample
from loadgen.core.template import render, render_value
from loadgen.edge.exchange import chat_body, run_chat, run_http
from loadgen.edge.transport import VUClient
from loadgen.edge.wschat import WsChat
from loadgen.engine import inputcount

if TYPE_CHECKING:
    from loadgen.engine.vu import VU

__all__ = [
    "BedrockRequester",
    "ChatRequester",
    "HttpRequester",
    "Requester",
    "WsRequester",
    "requester_kind",
    "send_http",
]

Messages = list[dict[str, str]]

_WORDS = [
    "policy",
    "invoice",
    "customer",
    "refund",
    "shipping",
    "account",
    "support",
    "contract",
    "service",
    "report",
    "quarter",
    "clinic",
    "patient",
    "schedule",
]


class Requester(Protocol):
    def __init__(self, vu: VU) -> None: ...

    async def send(
        self, client: VUClient, task: Task, sample: Sample, messages: Messages, keep_text: bool
    ) -> ResponseView:
        """Send ``task``'s request (``messages``: the conversation so far) into ``sample``;
        ``keep_text``: return the answer's text too."""

    async def close(self) -> None:
        """Release what the requester holds open (its WebSocket); the VU is done with it."""


def requester_kind(task: Task) -> type[Requester]:
    """The requester class of ``task``'s protocol. A VU keeps one of each kind it uses: its
    WebSocket tasks share its one connection."""
    if task.chat is not None:
        return BedrockRequester if task.chat.api == "bedrock" else ChatRequester
    if task.ws is not None:
        return WsRequester
    return HttpRequester


class ChatRequester:
    """A chat request over the VU's HTTP client, its answer read by the format's reader."""

    def __init__(self, vu: VU) -> None:
        self.vu = vu

    async def send(
        self, client: VUClient, task: Task, sample: Sample, messages: Messages, keep_text: bool
    ) -> ResponseView:
        vu, chat = self.vu, task.chat
        assert chat is not None
        count = vu.ctx.count_tokens
        if chat.api in PATHS:  # completions, responses, embeddings
            body = api_body(chat, messages, sample.requested_output)
        else:
            body = chat_body(chat, messages, vu.vars, sample.requested_output)
        ctx, ids = vu.ctx, vu.ctx.correlation
        affinity = {ids.affinity_header: vu.session_id} if ids.affinity_header else {}
        path, headers = await vu.prepare("POST", render(chat.path, vu.vars), affinity, body)
        view = await run_chat(
            client,
            chat,
            path,
            headers,
            body,
            sample,
            timeout=ctx.timeout,
            keep_text=keep_text or count is not None,
            cancel=chat.cancel if chat.cancel is not None and chat.cancel.draw(vu.rng) else None,
            id_header=ids.request_id_header,
        )
        if ids.server_request_id is not None:
            sample.server_id = view.header(ids.server_request_id) or ""
        if count is not None and sample.usage_tokens is None and sample.error is None:
            sample.tokenizer_tokens = count(view.answer or "")
        inputcount.fill(chat, messages, sample)  # the prompt's tokens, when no usage came
        return view

    async def close(self) -> None:
        pass


class BedrockRequester:
    """A Converse stream on the run's shared bedrock-runtime client (loadgen.edge.aws)."""

    def __init__(self, vu: VU) -> None:
        self.vu = vu

    async def send(
        self, client: VUClient, task: Task, sample: Sample, messages: Messages, keep_text: bool
    ) -> ResponseView:
        from loadgen.edge.aws.bedrock import run_converse_stream

        ctx, chat = self.vu.ctx, task.chat
        assert ctx.bedrock is not None
        assert chat is not None
        bedrock = await ctx.bedrock()
        sample.send = monotonic()
        answer = await run_converse_stream(
            bedrock,
            model_id=chat.model,
            messages=messages,
            sample=sample,
            timeout=ctx.timeout,
            max_tokens=chat.max_tokens,
            keep_text=keep_text,
        )
        return ResponseView(status=sample.status, answer=answer if keep_text else None)

    async def close(self) -> None:
        pass


class WsRequester:
    """A question over the VU's WebSocket (opened on first use, reopened after drops)."""

    def __init__(self, vu: VU) -> None:
        self.vu = vu
        ctx = vu.ctx
        self._ws = WsChat(
            ctx.base_url,
            record=ctx.record,
            count=lambda name: ctx.count(name, 1),
            user_class=vu.user_class.name,
            connect_timeout=ctx.connect_timeout,
        )

    async def send(
        self, client: VUClient, task: Task, sample: Sample, messages: Messages, keep_text: bool
    ) -> ResponseView:
        vu, ws = self.vu, task.ws
        assert ws is not None
        template = ws.message or {
            "type": "message",
            "content": "{{ prompt }}",
            "id": "{{ request_id }}",
        }
        message = render_value(
            template,
            {**vu.vars, "prompt": messages[-1]["content"], "request_id": sample.request_id},
        )
        if ws.conversation and vu.vars.get("conversation_id"):
            message.setdefault("conversation_id", vu.vars["conversation_id"])
        _, headers = await vu.prepare("GET", ws.path, {}, None)
        token = vu.vars.get("token") or getattr(vu.auth, "token", None)
        if ws.token_query:
            headers.pop("authorization", None)
        return await self._ws.ask(
            ws,
            message,
            sample,
            token=token,
            headers=headers,
            timeout=vu.ctx.timeout,
            keep_text=keep_text,
        )

    async def close(self) -> None:
        await self._ws.close()


class HttpRequester:
    """A plain ``http:`` task over httpx."""

    def __init__(self, vu: VU) -> None:
        self.vu = vu

    async def send(
        self, client: VUClient, task: Task, sample: Sample, messages: Messages, keep_text: bool
    ) -> ResponseView:
        assert task.http is not None
        return await send_http(self.vu, client, task.http, sample)

    async def close(self) -> None:
        pass


async def send_http(
    vu: VU,
    client: VUClient,
    http: HttpTask,
    sample: Sample,
    extra_headers: dict[str, str] | None = None,
) -> ResponseView:
    """An ``http:`` request rendered with ``vu``'s variables (tasks, and auth's logins)."""
    headers = {k: render(v, vu.vars) for k, v in http.headers.items()}
    for name, value in headers.items():
        if is_secret_key(name):
            vu.ctx.learn(value)
    headers.update(extra_headers or {})
    content: bytes | None = None
    files = data = None
    if http.json is not None:
        content = json.dumps(render_value(http.json, vu.vars)).encode()
        headers.setdefault("content-type", "application/json")
    elif http.body is not None:
        content = render(http.body, vu.vars).encode()
    elif http.upload is not None:
        up = http.upload
        name = render(up.filename, vu.vars)
        document = _filler(up.size, vu.id * 7919 + vu.seq)
        files = {up.form_field: (name, document, up.content_type)}
        data = {k: render(v, vu.vars) for k, v in up.form.items()}
    path = render(http.path, vu.vars)
    if http.auth:
        url, headers = await vu.prepare(http.method, path, headers, content, absolute=True)
    else:
        url = vu.ctx.base_url + path
    return await run_http(
        client,
        http.method,
        url,
        headers,
        sample,
        timeout=vu.ctx.timeout,
        content=content,
        files=files,
        data=data,
        id_header=vu.ctx.correlation.request_id_header,
    )


def _filler(size: int, seed: int) -> bytes:
    """A readable generated document of ``size`` bytes (uploads: small, medium, large)."""
    rng = random.Random(seed)
    out: list[str] = []
    n = 0
    while n < size:
        line = " ".join(rng.choice(_WORDS) for _ in range(12)) + ".\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()[:size]
