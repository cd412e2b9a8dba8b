"""Abandon an answer part-way, as a user pressing "stop" would (a chat's ``cancel:``).

An HTTP/1.1 stream can only be stopped by closing its connection: the sink raises
``UserCancelled`` once the answer reached the point the profile names (the fast client then
aborts the connection; httpx closes a response left unread), and a time limit cancels the
request's await. The VU's next request opens a new connection. ``exchange`` marks the sample
``cancelled``: its own outcome, neither an error nor ``interrupted``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from loadgen.core.cancel import Cancel
from loadgen.core.readers import Reader

__all__ = ["UserCancelled", "cancelling_sink", "within"]

T = TypeVar("T")
Sink = Callable[[bytes, float], bool]


class UserCancelled(Exception):
    """The VU abandoned the answer as its profile asked: not an error."""


def cancelling_sink(sink: Sink, reader: Reader, cancel: Cancel) -> Sink:
    """``sink``, raising ``UserCancelled`` where ``cancel`` says: on the response's first
    body bytes (before they are read), or once ``tokens`` content events were read (unless
    the same read completed the answer). A ``time`` cancel leaves the sink as it is."""
    if cancel.before_first_token:

        def first(chunk: bytes, now: float) -> bool:
            raise UserCancelled("cancelled before the first token")

        return first
    limit = cancel.tokens
    if limit is None:
        return sink
    times = reader.token_times

    def counted(chunk: bytes, now: float) -> bool:
        done = sink(chunk, now)
        if not done and len(times) >= limit:
            raise UserCancelled(f"cancelled after {len(times)} content events")
        return done

    return counted


async def within(request: Awaitable[T], cancel: Cancel | None) -> T:
    """Await ``request``; past ``cancel.time`` seconds it is cancelled (its connection
    dropped) and ``UserCancelled`` raised instead."""
    if cancel is None or cancel.time is None:
        return await request
    try:
        async with asyncio.timeout(cancel.time) as timer:
            return await request
    except TimeoutError as exc:
        if timer.expired():
            raise UserCancelled(f"cancelled after {cancel.time:g}s") from exc
        raise
