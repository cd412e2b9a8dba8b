"""``loadgen check PROFILE``: is my setup right? — before a long run.

Resolves the profile's variables, reaches the target (starting the built-in one if asked),
logs in once, runs every task of every user class once (journeys in order) and returns one
row per request: what was sent, what came back, and for each failure the likely fix. Think
times are skipped (the endurance profile's between-turn pauses made a check last over a minute):
the check asks whether each request works, not how users pace them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from time import monotonic
from typing import Any

from loadgen.core.checks import ResponseView
from loadgen.core.errors import ErrorKind
from loadgen.core.profile.model import Task, ThinkTime, UserClass
from loadgen.core.sample import Sample
from loadgen.engine.run import Engine
from loadgen.engine.vu import VU
from loadgen.report.console import columns

__all__ = ["HEADER", "WIDTH", "CheckRow", "fix_for", "fixes", "preflight", "table"]

WIDTH = 100  # the check's output fits a terminal this wide
HEADER = ["class", "task", "status", "ttft ms", "answer (first bytes)", "problem"]


@dataclass(slots=True)
class CheckRow:
    user_class: str
    name: str
    status: int | None
    ttft_ms: float | None
    e2e_ms: float | None
    answer: str
    problem: str
    fix: str

    @property
    def ok(self) -> bool:
        return not self.problem


def fix_for(sample: Sample) -> str:
    """The likely fix for a failed request, in the words of the person who must make it."""
    kind, status, message = sample.error, sample.status, sample.message.lower()
    if kind is ErrorKind.CONNECT:
        if "tls" in message or "certificate" in message or "ssl" in message:
            return (
                "TLS failed: use https only if the server speaks it; for a self-signed "
                "certificate set target.verify to its CA bundle (or false)"
            )
        if "dns" in message or "resolve" in message:
            return "the host name does not resolve: check target.base_url (or CHATBOT_URL)"
        return "cannot connect: check target.base_url (or CHATBOT_URL) and that the server is up"
    if kind is ErrorKind.TIMEOUT:
        return "no answer in time: raise target.timeout, or check the server is not stuck"
    if status in (401, 403):
        return (
            "the server refused the credentials: check the auth section and its "
            "variables (token, email, password)"
        )
    if status == 404:
        return "wrong path: check this task's path against the server's API"
    if status in (400, 405, 415, 422):
        return "the server rejected the request body or method: check json/body/method"
    if status == 429:
        return "rate-limited already: lower the load or ask for a higher quota"
    if kind is ErrorKind.HTTP_5XX:
        return "the server failed: look at its logs"
    if kind in (ErrorKind.PROTOCOL, ErrorKind.STREAM_BROKEN):
        return (
            "the answer is not in the expected format: check chat.api (openai, sse, "
            "text, json) and, for sse, content_event/content_field/done_event"
        )
    if kind is ErrorKind.CHECK:
        return "a declared check failed: see the message, then the checks of this step"
    if kind is ErrorKind.AUTH:
        return "authentication failed: check the auth section and credentials"
    return ""


async def preflight(engine: Engine) -> list[CheckRow]:
    """Run every task once per user class; the engine must be entered (target reachable)."""
    rows: list[CheckRow] = []
    answers: dict[int, str] = {}

    def record(sample: Sample) -> None:
        problem = "" if sample.error is None else f"{sample.error.value}: {sample.message}"
        if sample.interrupted:
            problem = "interrupted"
        rows.append(
            CheckRow(
                user_class=sample.user_class,
                name=sample.name,
                status=sample.status,
                ttft_ms=None if (ttft := sample.ttft) is None else ttft * 1000,
                e2e_ms=None if (e2e := sample.e2e) is None else e2e * 1000,
                answer=answers.pop(id(sample), ""),
                problem=problem,
                fix=fix_for(sample) if sample.error is not None else "",
            )
        )

    def on_response(sample: Sample, view: ResponseView) -> None:
        text = view.answer if view.answer is not None else (view.body or "")
        answers[id(sample)] = engine.secrets.text(" ".join(text[:4096].split()))[:60]

    ctx = engine.vu_context(record, on_response=on_response)

    async def walk(index: int, cls: UserClass) -> None:
        """One VU of ``cls`` runs each of its tasks once, in order, without thinking."""
        vu = VU(index, replace(cls, think_time=ThinkTime()), ctx, random.Random(engine.seed))
        client = ctx.new_client()
        try:
            await vu.start_auth(client)
            steps: list[Task] = [*cls.on_start, *cls.journey]
            for task in cls.tasks:
                steps.extend(task.group or (task,))
            for step in steps:
                for task in step.group or (step,):
                    await vu.do_task(client, task, monotonic())
            for step in cls.on_stop:
                await vu.do_task(client, step, monotonic())
            if vu.auth is not None:
                await vu.auth.stop()
        finally:
            await client.aclose()
            await vu.close_ws()

    # The classes are independent users: walked at once, a check takes its longest class's
    # time instead of the sum; the rows are then put back in the profile's class order.
    classes = engine.profile.users
    async with asyncio.TaskGroup() as group:
        for i, cls in enumerate(classes, start=1):
            group.create_task(walk(i, cls))
    order = {cls.name: i for i, cls in enumerate(classes)}
    rows.sort(key=lambda r: order.get(r.user_class, len(order)))
    # Redacted last, with every token the logins learned (a server may echo any of them).
    text = engine.secrets.text
    return [replace(r, answer=text(r.answer), problem=text(r.problem)) for r in rows]


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` terminal columns, ending in … when cut."""
    if columns(text) <= width:
        return text
    while text and columns(text) > width - 1:
        text = text[:-1]
    return text + "…"


def table(rows: Sequence[CheckRow], width: int = WIDTH) -> list[list[str]]:
    """The header and one row per request, the answer and problem cut to fit ``width``.

    Separators are two spaces (``console.text_table``); the problem keeps what it needs
    first (its fix is printed in full below), the answer takes the rest, at least its header.
    """
    body: list[list[Any]] = [
        [
            r.user_class,
            r.name,
            str(r.status or "-"),
            f"{r.ttft_ms:.0f}" if r.ttft_ms is not None else "-",
            r.answer or "-",
            r.problem or "ok",
        ]
        for r in rows
    ]
    cells = [HEADER, *body]
    need = [max(columns(row[i]) for row in cells) for i in range(len(HEADER))]
    room = width - sum(need[:4]) - 2 * (len(HEADER) - 1)
    if need[4] + need[5] > room:
        answer = min(need[4], max(len(HEADER[4]), room - need[5]))
        problem = max(len(HEADER[5]), room - answer)
        body = [[*row[:4], _cut(row[4], answer), _cut(row[5], problem)] for row in body]
    return [HEADER, *body]


def fixes(rows: Sequence[CheckRow]) -> list[str]:
    """Each distinct fix once, after the names of the requests that need it."""
    names: dict[str, list[str]] = {}
    for r in rows:
        if not r.ok and r.fix and r.name not in names.setdefault(r.fix, []):
            names[r.fix].append(r.name)
    return [f"fix {', '.join(who)}: {fix}" for fix, who in names.items()]
