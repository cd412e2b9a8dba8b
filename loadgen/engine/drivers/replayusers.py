"""Who sends a replayed trace's rows: one runner VU over a pool of clients, and the sessions.

Each row is one chat request of the profile's chat task: its prompt from the row (the
trace's text, a fresh prompt of its length, or its Mooncake blocks; loadgen.core.traces),
``max_tokens`` its output length (with the task's ``exact_output``: ``min_tokens`` and
``ignore_eos`` too), ``model`` its own when the trace names one. Rows that share a session
id are one conversation: each turn carries the earlier turns and the server's answers to
them. With ``sessions: timestamps`` a turn goes at its own time with the answers that are
in by then; with ``after_previous`` it waits for the previous answer, then the trace's gap
between the two turns (scaled), and its latency counts from that intended start.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from loadgen.core.profile.model import ReplaySpec, Task, UserClass
from loadgen.core.prompts import PromptBuilder
from loadgen.core.traces import BlockPrompts, TraceRequest
from loadgen.edge.transport import VUClient
from loadgen.engine.control import RunControl
from loadgen.engine.vu import VU, VUContext

__all__ = ["ReplayUsers", "Session"]

_SESSIONS = 10_000  # conversations remembered (least recently used go first)
_MODELS = 64  # tasks kept, one per model name the trace asks for


class Sent(Protocol):
    def add_sent(self) -> None: ...


@dataclass(slots=True)
class Session:
    """One conversation of the trace: what its next turn carries."""

    messages: list[dict[str, str]] = field(default_factory=list)
    tokens: int | None = 0  # the history's tokens, None once one is unknown
    offset: float = 0.0  # the previous turn's due time (after_previous: the gap's start)
    last: asyncio.Future[float] | None = None  # the previous turn's end, once it answered


class ReplayUsers:
    """Serves the rows the driver hands out; ``pending`` counts turns still waiting for the
    answer before them (``after_previous``)."""

    def __init__(
        self,
        user_class: UserClass,
        task: Task,
        ctx: VUContext,
        spec: ReplaySpec,
        builder: PromptBuilder,
        *,
        seed: int,
        tag: str,
        control: RunControl,
        tally: Sent,
    ) -> None:
        self.ctx = ctx
        self.task = task
        self.spec = spec
        self.control = control
        self.tally = tally
        self.runner = VU(0, user_class, ctx, random.Random(seed), tag=tag)
        self.prompts = BlockPrompts(builder, block_tokens=spec.block_tokens, seed=seed)
        self.count = builder.tokenizer.count
        self.clients: list[VUClient] = []
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self._tasks: dict[str, Task] = {}
        self.pending = 0

    def arrival(
        self, row: TraceRequest, t0: float, offset: float
    ) -> tuple[Coroutine[Any, Any, None], bool]:
        """The coroutine that sends ``row`` (due at ``t0``; ``offset``: its due time in the
        run), and whether it goes at ``t0`` (False: an ``after_previous`` turn, which waits
        for the answer before it). Call in row order: a session's turns are chained here."""
        if row.session is None:
            return self._serve(row, t0, None), True
        session = self.sessions.get(row.session)
        if session is None:
            session = self.sessions[row.session] = Session()
            if len(self.sessions) > _SESSIONS:
                self.sessions.popitem(last=False)
        else:
            self.sessions.move_to_end(row.session)
        previous, gap = session.last, offset - session.offset
        session.offset = offset
        mine = session.last = asyncio.get_running_loop().create_future()
        if previous is None or self.spec.sessions == "timestamps":
            return self._serve(row, t0, session, mine), True
        self.pending += 1
        return self._after(row, session, (previous, mine), gap), False

    async def _after(
        self,
        row: TraceRequest,
        session: Session,
        turns: tuple[asyncio.Future[float], asyncio.Future[float]],
        gap: float,
    ) -> None:
        """``after_previous``: the previous answer's end plus the trace's gap is ``t0``."""
        previous, mine = turns
        sent = False
        try:
            end = await asyncio.shield(previous)
            t0 = end + gap
            if await self.control.wait(t0):
                return
            sent = True
            self.pending -= 1
            self.tally.add_sent()
            await self._serve(row, t0, session, mine)
        finally:
            if not sent:
                self.pending -= 1
                _settle(mine, self.control.run_clock.now())

    async def _serve(
        self,
        row: TraceRequest,
        t0: float,
        session: Session | None,
        done: asyncio.Future[float] | None = None,
    ) -> None:
        client = self.clients.pop() if self.clients else self.ctx.new_client()
        end = t0
        try:
            await self.runner.start_auth(client)
            text, tokens = self.prompts.prompt(row)
            messages = [{"role": "user", "content": text}]
            asked = tokens
            if session is not None:
                messages = [*session.messages, *messages]
                asked = (
                    None if tokens is None or session.tokens is None else session.tokens + tokens
                )
            end, answer = await self.runner.send_turn(
                client,
                self._task(row.model),
                t0,
                messages,
                asked,
                row.output_tokens,
                session is not None,
            )
            if session is not None and answer is not None:  # no answer: not history
                session.messages.extend([messages[-1], {"role": "assistant", "content": answer}])
                if session.tokens is not None:
                    session.tokens = (
                        None if tokens is None else session.tokens + tokens + self.count(answer)
                    )
        finally:
            self.clients.append(client)
            _settle(done, end)

    def _task(self, model: str | None) -> Task:
        """The chat task, asking for the row's model when the trace names one."""
        chat = self.task.chat
        if model is None or chat is None or model == chat.model:
            return self.task
        found = self._tasks.get(model)
        if found is None:
            if len(self._tasks) >= _MODELS:
                self._tasks.clear()
            found = self._tasks[model] = replace(self.task, chat=replace(chat, model=model))
        return found

    async def aclose(self) -> None:
        """Close the pooled clients (after the drain)."""
        for client in self.clients:
            await client.aclose()
        self.clients.clear()


def _settle(last: asyncio.Future[float] | None, end: float) -> None:
    if last is not None and not last.done():
        last.set_result(end)
