"""What a VU does with a response once it is in: counters, status and content checks,
extraction into its variables, custom observations, and the server's Retry-After.

Kept apart from the VU's loop so the loop reads as send, settle, think; a task with none of
these (a benchmark's bare chat) returns after two comparisons.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from loadgen.core.checks import ResponseView, extract, holds
from loadgen.core.errors import ErrorKind
from loadgen.core.profile.model import Condition, Extract, Task
from loadgen.core.sample import Sample
from loadgen.core.template import render

if TYPE_CHECKING:
    from loadgen.engine.vu import VUContext

__all__ = ["settle"]

_STATUS_KINDS = frozenset(
    (ErrorKind.HTTP_4XX, ErrorKind.HTTP_429, ErrorKind.HTTP_5XX, ErrorKind.AUTH)
)


def settle(
    ctx: VUContext, variables: dict[str, Any], task: Task, sample: Sample, view: ResponseView
) -> float | None:
    """Judge ``sample`` by ``task``'s checks and feed its counters, extractions (into
    ``variables``) and observations; return how long a 429's Retry-After asks to wait."""
    wait = None
    if sample.status == 429 and ctx.honor_retry_after:
        retry = _retry_after(view.header("retry-after"))
        if retry is not None:
            wait = min(retry, ctx.max_retry_after)
    if sample.interrupted or not (task.count or task.checks or task.extract or task.observe):
        return wait
    for cond in task.count:
        if holds(_rendered(cond, variables), view):
            ctx.count(cond.name, 1)
    _check(ctx, variables, task, sample, view)
    for rule in task.extract:
        value = extract(rule, view)
        if value is not None:
            variables[rule.name] = value
    if sample.error is None:
        for rule in task.observe:
            number = _observed(rule, view, sample)
            if number is not None:
                ctx.observe(rule.name, number)
    return wait


def _check(
    ctx: VUContext, variables: dict[str, Any], task: Task, sample: Sample, view: ResponseView
) -> None:
    """Judge ``sample`` by ``task``'s checks: a status a check lists is not an error; a
    check that fails makes the request a ``check`` error."""
    if sample.error in _STATUS_KINDS and _status_declared(task, sample.status):
        sample.error, sample.message = None, ""  # a status check lists it: expected
    if sample.error is None:
        failed = []
        for cond in task.checks:
            ok = holds(_rendered(cond, variables), view)
            ctx.check(cond.name, ok)
            if not ok:
                failed.append(cond.name)
        if failed:
            sample.error = ErrorKind.CHECK
            sample.message = "check failed: " + ", ".join(failed)
    else:
        for cond in task.checks:  # a failed request fails its checks (it keeps its kind)
            ctx.check(cond.name, False)


def _status_declared(task: Task, status: int | None) -> bool:
    """Does one of the task's status checks list this status (``status: [201, 409]``)?"""
    return status is not None and any(
        c.kind == "status" and status in c.values for c in task.checks
    )


def _rendered(cond: Condition, variables: dict[str, Any]) -> Condition:
    """A condition whose expected value or text holds ``{{ variables }}``, rendered."""
    if isinstance(cond.equals, str) and "{{" in cond.equals:
        return replace(cond, equals=render(cond.equals, variables))
    if "{{" in cond.text:
        return replace(cond, text=render(cond.text, variables))
    return cond


def _observed(rule: Extract, view: ResponseView, sample: Sample) -> float | None:
    """The number a custom histogram records from one response, if it has one."""
    if rule.source == "answer_length":
        return float(len(view.answer)) if view.answer is not None else None
    if rule.source == "output_tokens":
        return float(sample.output_tokens[0])
    if rule.source == "body_size":
        return float(len(view.body)) if view.body is not None else None
    raw = extract(rule, view)
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare for APIs; ignored rather than guessed
