"""The fast client's deadlines and headers. Deadlines: one sweep for all connections, never
early, at most a tick (plus scheduling) late, and a finished request's deadline never touches
the next one. Headers: kept raw, decoded when a check or extraction asks.

A real HTTP/1.1 server on 127.0.0.1 answers ``/wait/<ms>`` after that many milliseconds.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from loadgen.edge.fasthttp import Deadlines, FastClient

TICK = 0.02
SLACK = 0.25  # scheduling on a busy 2-core CI machine; the bound is checked, not timed tightly


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            await asyncio.sleep(int(path.rsplit("/", 1)[1]) / 1000)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Trace: a\xe9\r\n"
                b"x-trace: last\r\nRetry-After: 3\r\n\r\nok"
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _with_server(body):  # type: ignore[no-untyped-def]
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        return await body(f"http://127.0.0.1:{port}")
    finally:
        server.close()
        await server.wait_closed()


def _client(url: str, deadlines: Deadlines) -> FastClient:
    return FastClient(url, ssl_context=None, connect_timeout=2.0, deadlines=deadlines)


def test_requests_time_out_at_their_own_deadline_not_before() -> None:
    """Eight requests with deadlines 100..800 ms on servers that never answer in time:
    each fails with TimeoutError no earlier than its deadline and within a tick after."""
    deadlines = Deadlines(tick=TICK)

    async def one(url: str, limit: float) -> float:
        client = _client(url, deadlines)
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            with pytest.raises(TimeoutError):
                await client.request("GET", "/wait/5000", {}, None, None, start + limit)
            return loop.time() - start
        finally:
            await client.aclose()

    async def body(url: str) -> list[float]:
        return await asyncio.gather(*(one(url, 0.1 * i) for i in range(1, 9)))

    took = asyncio.run(_with_server(body))
    for i, elapsed in enumerate(took, start=1):
        # loop.time() has millisecond resolution on uvloop and asyncio alike
        assert 0.1 * i - 0.002 <= elapsed <= 0.1 * i + TICK + SLACK, (i, elapsed)


def test_a_finished_request_leaves_no_deadline_behind() -> None:
    """A request that finishes before its deadline is not expired later: the next request on
    the same keep-alive connection, with a far deadline, outlives the first one's."""
    deadlines = Deadlines(tick=TICK)

    async def body(url: str) -> tuple[int, int]:
        client = _client(url, deadlines)
        loop = asyncio.get_running_loop()
        try:
            first = await client.request("GET", "/wait/10", {}, None, None, loop.time() + 0.15)
            second = await client.request("GET", "/wait/300", {}, None, None, loop.time() + 5)
            return first.status, second.status
        finally:
            await client.aclose()

    assert asyncio.run(_with_server(body)) == (200, 200)


def test_one_deadlines_object_serves_a_second_event_loop() -> None:
    """A factory's Deadlines outlives a run: on a new loop its sweep starts again."""
    deadlines = Deadlines(tick=TICK)

    async def body(url: str) -> float:
        client = _client(url, deadlines)
        start = time.monotonic()
        try:
            deadline = asyncio.get_running_loop().time() + 0.2
            with pytest.raises(TimeoutError):
                await client.request("GET", "/wait/3000", {}, None, None, deadline)
        finally:
            await client.aclose()
        return time.monotonic() - start

    for _ in range(2):
        elapsed = asyncio.run(_with_server(body))
        assert 0.19 <= elapsed <= 0.2 + TICK + SLACK


def test_a_deadline_shorter_than_connecting_is_a_timeout() -> None:
    """The request's deadline also bounds connecting; past it the error is a timeout."""
    deadlines = Deadlines(tick=TICK)

    async def body() -> None:
        # A deadline already past leaves connecting no time (a slow connect, on loopback).
        client = FastClient(
            "http://127.0.0.1:9", ssl_context=None, connect_timeout=2.0, deadlines=deadlines
        )
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            await client.request("GET", "/", {}, None, None, loop.time() - 1)

    asyncio.run(body())


def test_tick_must_be_positive() -> None:
    with pytest.raises(ValueError, match="tick"):
        Deadlines(tick=0)


def test_response_headers_are_lower_cased_and_decoded_when_asked() -> None:
    async def body(url: str) -> dict[str, str]:
        client = _client(url, Deadlines(tick=TICK))
        try:
            response = await client.request("GET", "/wait/0", {}, None, None, None)
            assert response.headers.raw[0] == (b"Content-Length", b"2")  # as received
            return dict(response.headers)
        finally:
            await client.aclose()

    assert asyncio.run(_with_server(body)) == {
        "content-length": "2",
        "x-trace": "last",  # a repeated header keeps its last value
        "retry-after": "3",
    }
