"""One timer for the request deadlines of many connections (``fasthttp``)."""

from __future__ import annotations

import asyncio
from typing import Protocol

__all__ = ["Deadlines", "Expiring"]


class Expiring(Protocol):
    """What a deadline expires: a connection whose request then fails with ``TimeoutError``."""

    def expire(self) -> None: ...


class Deadlines:
    """Request deadlines of many connections, checked by one timer every ``tick`` seconds.

    A timer per request (``loop.call_at`` or ``asyncio.timeout``) cost ~12 µs of a ~90 µs
    request with 1,000 connections open on uvloop (measured: 9,237 -> 10,404 requests per
    CPU-second without it). Here a request joins the bucket of its deadline rounded up to a
    tick and leaves it when done; a sweep expires whole buckets whose time has come. A
    request times out at most ``tick`` late: ``ClientFactory`` picks ``tick`` from the
    profile's timeout (1/50 of it, 1 to 50 ms).
    """

    def __init__(self, tick: float = 0.05) -> None:
        if tick <= 0:
            raise ValueError("tick must be positive")
        self.tick = tick
        self._buckets: dict[int, dict[Expiring, None]] = {}
        self._swept = -1  # buckets up to this one are done
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, conn: Expiring, deadline: float) -> int:
        """Expire ``conn``'s request at ``deadline`` (``loop.time()``); returns its bucket."""
        if self._handle is None or self._loop is not asyncio.get_running_loop():
            self._start()
        bucket = -int(-deadline // self.tick)  # rounded up
        if bucket <= self._swept:
            bucket = self._swept + 1  # not into a bucket already swept
        members = self._buckets.get(bucket)
        if members is None:
            members = self._buckets[bucket] = {}
        members[conn] = None
        return bucket

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (a later run): nothing carries over
            self._buckets.clear()
            self._swept = -1
            self._loop = loop
        self._swept = max(self._swept, int(loop.time() // self.tick) - 1)
        self._handle = loop.call_at(loop.time() + self.tick, self._sweep, loop)

    def discard(self, conn: Expiring, bucket: int) -> None:
        members = self._buckets.get(bucket)
        if members is not None:
            members.pop(conn, None)
            if not members:
                del self._buckets[bucket]

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        due = int(now // self.tick)
        if due - self._swept > len(self._buckets):  # a long pause: look only at what exists
            expired = sorted(b for b in self._buckets if b <= due)
        else:
            expired = [b for b in range(self._swept + 1, due + 1) if b in self._buckets]
        self._swept = due
        for bucket in expired:
            for conn in self._buckets.pop(bucket):
                conn.expire()
        self._handle = loop.call_at(now + self.tick, self._sweep, loop) if self._buckets else None
