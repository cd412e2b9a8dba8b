"""A virtual user: a coroutine that picks tasks by weight, sends them, thinks, and repeats.

Latency starts at the intended start ``t0``: the end of the previous request plus the think
time drawn, not the moment the event loop got round to waking the VU. The difference is the
schedule lag, recorded on every sample.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic

from loadgen.exchange import chat_body, run_chat, run_http
from loadgen.profile.model import DataPools, Task, UserClass
from loadgen.sample import Sample
from loadgen.shapes import WeightedChoice, draw_think
from loadgen.transport import VUClient

__all__ = ["VU", "VUContext"]


@dataclass(frozen=True, slots=True)
class VUContext:
    """What every VU of a run shares."""

    pools: DataPools
    record: Callable[[Sample], None]
    new_client: Callable[[], VUClient]
    timeout: float
    run_tag: str
    count_tokens: Callable[[str], int] | None = None  # a tokenizer, when the profile names one


class VU:
    def __init__(
        self, vu_id: int, user_class: UserClass, ctx: VUContext, rng: random.Random
    ) -> None:
        self.id = vu_id
        self.user_class = user_class
        self.ctx = ctx
        self.rng = rng
        self.stopping = False
        self._seq = 0
        self._failed = False
        self._wake: asyncio.Future[None] | None = None
        self._choice = (
            WeightedChoice([t.weight for t in user_class.tasks]) if user_class.tasks else None
        )

    def stop(self) -> None:
        """Finish the current request (if any), run on_stop, and exit."""
        self.stopping = True
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def run(self) -> None:
        client = self.ctx.new_client()
        try:
            for step in self.user_class.on_start:
                await self.do_task(client, step, monotonic())
            t0 = monotonic()
            while not self.stopping and self._choice is not None:
                task = self.user_class.tasks[self._choice.pick(self.rng)]
                t0 = await self.do_task(client, task, t0)
                t0 = await self._think(t0)
            for step in self.user_class.on_stop:
                await self.do_task(client, step, monotonic())
        finally:
            await client.aclose()

    async def _think(self, end: float) -> float:
        """Sleep the think time; return the next intended start (end + think)."""
        delay = draw_think(self.user_class.think_time, self.rng)
        t0 = end + delay
        if delay <= 0:
            if self._failed:
                # A request can fail without ever suspending (a refused or broken connection
                # found at once): yield so a failing target cannot starve the event loop.
                await asyncio.sleep(0)
        elif not self.stopping:
            loop = asyncio.get_running_loop()
            self._wake = wake = loop.create_future()
            handle = loop.call_at(t0, _resolve, wake)
            try:
                await wake
            finally:
                handle.cancel()
                self._wake = None
        return t0

    async def do_task(self, client: VUClient, task: Task, t0: float) -> float:
        """Run one task (a conversation runs all its turns); return when the last one ended."""
        if task.chat is not None and task.chat.conversation:
            turns = self.rng.choice(self.ctx.pools.conversations)
            messages: list[dict[str, str]] = []
            for i, turn in enumerate(turns):
                if self.stopping and i:
                    break
                messages.append({"role": "user", "content": turn})
                end, answer = await self._request(client, task, t0, messages, keep_text=True)
                messages.append({"role": "assistant", "content": answer})
                if i < len(turns) - 1:
                    t0 = await self._think(end)
            return end
        prompt = self._prompt(task)
        end, _ = await self._request(client, task, t0, [{"role": "user", "content": prompt}])
        return end

    def _prompt(self, task: Task) -> str:
        chat = task.chat
        if chat is None:
            return ""
        if chat.prompt is not None:
            return chat.prompt
        pools = self.ctx.pools.questions
        category = chat.category or ("simple" if "simple" in pools else next(iter(pools), None))
        if category is None:
            return "Hello"
        return self.rng.choice(pools[category])

    async def _request(
        self,
        client: VUClient,
        task: Task,
        t0: float,
        messages: list[dict[str, str]],
        *,
        keep_text: bool = False,
    ) -> tuple[float, str]:
        self._seq += 1
        sample = Sample(
            name=task.name,
            user_class=self.user_class.name,
            t0=t0,
            send=monotonic(),
            category=task.chat.category if task.chat else None,
            request_id=f"{self.ctx.run_tag}-{self.id}-{self._seq}",
        )
        answer = ""
        try:
            if task.chat is not None:
                body = chat_body(task.chat, messages, {})
                count = self.ctx.count_tokens
                answer = await run_chat(
                    client,
                    task.chat,
                    body,
                    sample,
                    timeout=self.ctx.timeout,
                    keep_text=keep_text or count is not None,
                )
                if count is not None and sample.usage_tokens is None and sample.error is None:
                    sample.tokenizer_tokens = count(answer)
            elif task.http is not None:
                await run_http(client, task.http, sample, timeout=self.ctx.timeout)
        finally:
            self._failed = sample.error is not None
            self.ctx.record(sample)
        return (sample.end or monotonic()), answer


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
