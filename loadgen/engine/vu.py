"""A virtual user: runs its class's journey (or picks tasks by weight), sends, thinks, repeats.

Latency starts at the intended start ``t0``: the end of the previous request plus the think
time drawn, not the moment the event loop got round to waking the VU. The difference is the
schedule lag, recorded on every sample. A VU owns its connections, its variables (``vu``,
``iteration``, data rows, ``vars:``, extracted values, ``token``) and its auth state.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from time import monotonic
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from loadgen.core.checks import ResponseView
from loadgen.core.profile.model import (
    Correlation,
    DataPools,
    HttpTask,
    Task,
    ThinkTime,
    UserClass,
)
from loadgen.core.redact import is_secret_key
from loadgen.core.sample import Sample
from loadgen.core.shapes import WeightedChoice, draw_think
from loadgen.core.template import render
from loadgen.edge.auth.base import NoAuth, OutgoingRequest, VUAuth
from loadgen.edge.transport import VUClient
from loadgen.engine.alarms import alarms
from loadgen.engine.prompting import Plan, Prompts, plan
from loadgen.engine.requesters import Requester, requester_kind, send_http
from loadgen.engine.settle import settle

__all__ = ["VU", "VUContext"]

# Headers a signer adds that carry no secret (masking every date would garble messages).
_NOT_CREDENTIALS = frozenset({"x-amz-date", "x-amz-content-sha256", "content-type"})


@dataclass(frozen=True, slots=True)
class VUContext:
    """What every VU of a run shares."""

    pools: DataPools
    record: Callable[[Sample], None]
    new_client: Callable[[], VUClient]
    timeout: float
    run_tag: str
    base_url: str = ""
    count_tokens: Callable[[str], int] | None = None  # a tokenizer, when the profile names one
    prompts: Prompts | None = None  # synthetic prompts, when a chat task has input_tokens
    count: Callable[[str, int], None] = lambda name, n: None
    check: Callable[[str, bool], None] = lambda name, ok: None
    observe: Callable[[str, float], None] = lambda name, value: None
    bedrock: Callable[[], Awaitable[Any]] | None = None  # the shared bedrock-runtime client
    make_auth: Callable[[VU], VUAuth] | None = None
    connect_timeout: float = 10.0
    honor_retry_after: bool = True
    max_retry_after: float = 60.0
    correlation: Correlation = field(default_factory=Correlation)  # target.request_id_header…
    # Remember a value as secret for the run's redactor (rendered secret vars, credentials
    # auth puts on a request): every output is redacted with what VUs learn this way.
    learn: Callable[[str], None] = lambda value: None
    # `loadgen check`: see every response (and keep answer text) to show what came back
    on_response: Callable[[Sample, ResponseView], None] | None = None


class VU:
    def __init__(
        self,
        vu_id: int,
        user_class: UserClass,
        ctx: VUContext,
        rng: random.Random,
        *,
        tag: str | None = None,
    ) -> None:
        self.id = vu_id
        self.tag = tag or str(vu_id)  # in request ids RUN-TAG-SEQ, unique within the run
        self.session_id = f"{ctx.run_tag}-{self.tag}"  # target.affinity_header's value
        self.user_class = user_class
        self.ctx = ctx
        self.rng = rng
        self.stopping = False
        self.in_request = False  # for the stop notice: how many requests a stop waits for
        self._seq = 0
        self._failed = False
        # (synthetic input tokens, output tokens asked for) of the request being sent
        self._lengths: tuple[int | None, int | None] = (None, None)
        self._wake: asyncio.Future[None] | None = None
        self._not_before = 0.0  # Retry-After: no request before this time
        self._choice = (
            WeightedChoice([t.weight for t in user_class.tasks]) if user_class.tasks else None
        )
        self._group_choice: dict[int, WeightedChoice] = {}
        rows = ctx.pools.rows
        self.vars: dict[str, Any] = {
            "vu": vu_id,
            "iteration": 0,
            "run": ctx.run_tag,
            "user_class": user_class.name,
            **(rows[(vu_id - 1) % len(rows)] if rows else {}),
        }
        for key, template in user_class.vars.items():
            self.vars[key] = render(template, self.vars)
        secret_names = user_class.secret_vars | ctx.pools.secret_columns
        for key, value in self.vars.items():
            if isinstance(value, str) and (key in secret_names or is_secret_key(key)):
                ctx.learn(value)
        self.auth: VUAuth | None = None
        # The requester of each task, chosen on its first request (one per protocol).
        self._requesters: dict[type[Requester], Requester] = {}
        self._by_task: dict[int, Requester] = {}
        self._fixed: dict[int, Plan] = {}  # the plan of each task that sends the same each time

    def stop(self) -> None:
        """Finish the current request (if any), run on_stop, and exit."""
        self.stopping = True
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def run(self) -> None:
        client = self.ctx.new_client()
        try:
            await self.start_auth(client)
            for step in self.user_class.on_start:
                await self.run_step(client, step, monotonic())
            t0 = monotonic()
            cls = self.user_class
            while not self.stopping and (cls.journey or self._choice is not None):
                self.vars["iteration"] += 1
                if cls.journey:
                    for step in cls.journey:
                        t0 = await self.run_step(client, step, t0)
                        if self.stopping:
                            break
                else:
                    assert self._choice is not None
                    t0 = await self.run_step(client, cls.tasks[self._choice.pick(self.rng)], t0)
            for step in cls.on_stop:
                await self.run_step(client, step, monotonic())
            if self.auth is not None:
                await self.auth.stop()
        finally:
            await client.aclose()
            await self.close_ws()

    @property
    def seq(self) -> int:
        """Requests this VU has sent (the last request id's number)."""
        return self._seq

    async def close_ws(self) -> None:
        """Close what the VU's requesters hold open (its WebSocket)."""
        for requester in self._requesters.values():
            await requester.close()

    def _requester(self, task: Task) -> Requester:
        requester = self._by_task.get(id(task))
        if requester is None:
            kind = requester_kind(task)
            requester = self._requesters.get(kind)
            if requester is None:
                requester = self._requesters[kind] = kind(self)
            self._by_task[id(task)] = requester
        return requester

    async def start_auth(self, client: VUClient) -> None:
        """Set up the VU's auth; logging in waits for the first request that needs it, so
        on_start steps (registering the user) can run first."""
        if self.auth is None and self.ctx.make_auth is not None:
            self.auth = self.ctx.make_auth(self)
            self._auth_client = client

    async def run_step(self, client: VUClient, step: Task, t0: float) -> float:
        """Run a step ``repeat`` times (a group picks a task each time), thinking after each;
        return the next intended start."""
        for i in range(step.repeat):
            if self.stopping and i:
                break
            task = step
            if step.group:
                choice = self._group_choice.get(id(step))
                if choice is None:
                    choice = self._group_choice[id(step)] = WeightedChoice(
                        [t.weight for t in step.group]
                    )
                task = step.group[choice.pick(self.rng)]
                if task.repeat > 1 or task.group:
                    t0 = await self.run_step(client, task, t0)
                    continue
            end = await self.do_task(client, task, t0)
            t0 = await self._think(end, step.think_time)
        return t0

    async def _think(self, end: float, think: ThinkTime | None = None) -> float:
        """Sleep the think time (and any Retry-After); return the next intended start."""
        delay = draw_think(think or self.user_class.think_time, self.rng)
        t0 = max(end + delay, self._not_before)
        if t0 <= end:
            if self._failed:
                # A request can fail without ever suspending (a refused or broken connection
                # found at once): yield so a failing target cannot starve the event loop.
                await asyncio.sleep(0)
        elif not self.stopping:
            self._wake = wake = asyncio.get_running_loop().create_future()
            handle = alarms().call_at(t0, _resolve, wake)  # on time: see engine/alarms.py
            try:
                await wake
            finally:
                handle.cancel()
                self._wake = None
        return t0

    async def do_task(self, client: VUClient, task: Task, t0: float) -> float:
        """Run one task (a conversation runs all its turns); return when the last one ended."""
        todo = self._fixed.get(id(task))
        if todo is None:
            todo = plan(task, self.ctx.prompts, self.ctx.pools, self.vars, self.rng)
            if todo.fixed:  # the same every time: planned once (a benchmark's bare chat)
                self._fixed[id(task)] = todo
        try:
            if todo.conversation:
                return await self._conversation(client, task, t0, todo)
            turns = todo.turns
            if len(turns) == 1:
                self._lengths = (turns[0].input_tokens, turns[0].output_tokens)
                messages = [{"role": "user", "content": turns[0].text}]
            else:  # an embeddings batch
                inputs = [turn.input_tokens for turn in turns]
                known = None if None in inputs else sum(i or 0 for i in inputs)
                self._lengths = (known, turns[0].output_tokens)
                messages = [{"role": "user", "content": turn.text} for turn in turns]
            if todo.system is not None:
                messages.insert(0, {"role": "system", "content": todo.system})
            end, _ = await self._request(client, task, t0, messages)
            return end
        finally:
            self._lengths = (None, None)

    async def send_turn(
        self, client: VUClient, task: Task, t0: float, messages: list[dict[str, str]], *lengths: Any
    ) -> tuple[float, str | None]:
        """One request of a replayed trace row (issue 21): ``lengths`` = (input, output,
        keep the answer's text); return its end and that text."""
        self._lengths = lengths[:2]
        try:
            end, view = await self._request(client, task, t0, messages, keep_text=lengths[2])
        finally:
            self._lengths = (None, None)
        return end, view.answer

    async def _conversation(self, client: VUClient, task: Task, t0: float, todo: Plan) -> float:
        """Each turn carries the earlier ones and the server's own answers to them; a
        dataset's turns also carry their running token count (answers counted here)."""
        messages = [] if todo.system is None else [{"role": "system", "content": todo.system}]
        sent, end, turns = 0, t0, todo.turns
        for i, turn in enumerate(turns):
            if self.stopping and i:
                break
            if turn.input_tokens is not None:
                sent += turn.input_tokens
            self._lengths = (sent if turn.input_tokens is not None else None, turn.output_tokens)
            messages.append({"role": "user", "content": turn.text})
            end, view = await self._request(client, task, t0, messages, keep_text=True)
            answer = view.answer or ""
            messages.append({"role": "assistant", "content": answer})
            if turn.input_tokens is not None and task.chat is not None and self.ctx.prompts:
                sent += self.ctx.prompts.count(task.chat, answer)
            if i < len(turns) - 1:
                t0 = await self._think(end)
        return end

    def _new_sample(self, task: Task, t0: float) -> Sample:
        self._seq += 1
        spec = task.chat or task.ws
        return Sample(
            name=task.name,
            user_class=self.user_class.name,
            t0=t0,
            send=monotonic(),
            category=spec.category if spec is not None else None,
            request_id=f"{self.ctx.run_tag}-{self.tag}-{self._seq}",
            requested_input=self._lengths[0],
            requested_output=self._lengths[1],
        )

    async def _request(
        self,
        client: VUClient,
        task: Task,
        t0: float,
        messages: list[dict[str, str]],
        *,
        keep_text: bool = False,
    ) -> tuple[float, ResponseView]:
        """Send one request (and, after a 401 that auth can mend, one retry)."""
        needs_text = (
            keep_text
            or self.ctx.on_response is not None
            or bool(task.checks or task.count or task.extract or task.observe)
        )
        for attempt in (1, 2):
            sample = self._new_sample(task, t0 if attempt == 1 else monotonic())
            self.in_request = True
            try:
                view = await self._requester(task).send(client, task, sample, messages, needs_text)
                wait = settle(self.ctx, self.vars, task, sample, view)
                if wait is not None:
                    self._not_before = monotonic() + wait
                if self.ctx.on_response is not None:
                    self.ctx.on_response(sample, view)
            finally:
                self.in_request = False
                self._failed = sample.error is not None
                self.ctx.record(sample)
            if (
                sample.status == 401
                and attempt == 1
                and self.auth is not None
                and await self.auth.unauthorized()
            ):
                continue
            break
        return (sample.end or monotonic()), view

    async def send_auth_request(
        self, http: HttpTask, sample: Sample, headers: dict[str, str]
    ) -> ResponseView:
        """For auth kinds: send a login/refresh/logout request with this VU's variables."""
        return await send_http(self, self._auth_client, http, sample, headers)

    async def prepare(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        *,
        absolute: bool = False,
    ) -> tuple[str, dict[str, str]]:
        """Let the auth kind add credentials (or sign); return the path (or URL) and headers."""
        if self.auth is None or type(self.auth) is NoAuth:  # nothing to add: no request object
            return (self.ctx.base_url + path if absolute else path), headers
        request = OutgoingRequest(
            method=method, url=self.ctx.base_url + path, headers=headers, body=body
        )
        before = dict(headers)
        await self.auth.prepare(request)
        self._learn_credentials(before, request, self.ctx.base_url + path)
        if absolute:
            return request.url, request.headers
        return request.url[len(self.ctx.base_url) :] or "/", request.headers

    def _learn_credentials(
        self, before: dict[str, str], request: OutgoingRequest, url: str
    ) -> None:
        """What auth added to a request is a credential (a login's token, an AWS session
        token, a static key): the run's redactor must know it before a server echoes it."""
        for name, value in request.headers.items():
            if before.get(name) != value and name.lower() not in _NOT_CREDENTIALS:
                self.ctx.learn(value)
        if request.url != url:
            old = set(parse_qsl(urlsplit(url).query))
            for pair in parse_qsl(urlsplit(request.url).query):
                if pair not in old:
                    self.ctx.learn(pair[1])


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
