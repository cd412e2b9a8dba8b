"""The export's network side on loopback: the /metrics endpoint answers what ``render()``
says at that moment and nothing else; the remote write client names a receiver's refusal."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from support import run_async

from loadgen.core.promwire import CONTENT_TYPE_TEXT
from loadgen.edge.promhttp import MetricsServer, RemoteWriter


def test_metrics_endpoint_serves_the_current_text_and_404s_the_rest():
    """Each scrape calls render() anew and is timed; other paths are 404; HEAD has no body."""
    calls = []

    def render() -> str:
        calls.append(1)
        return f'loadgen_users{{scope="overall"}} {len(calls)}\n'

    async def main() -> None:
        server = MetricsServer(render, "127.0.0.1", 0)
        await server.start()
        base = f"http://127.0.0.1:{server.port}"
        try:
            async with httpx.AsyncClient() as client:
                first = await client.get(f"{base}/metrics")
                second = await client.get(f"{base}/metrics?x=1")
                missing = await client.get(f"{base}/other")
                head = await client.head(f"{base}/metrics")
        finally:
            await server.aclose()
        assert first.text == 'loadgen_users{scope="overall"} 1\n'
        assert second.text.endswith(" 2\n")
        assert first.headers["content-type"] == CONTENT_TYPE_TEXT
        assert missing.status_code == 404
        assert (head.status_code, head.content) == (200, b"")
        assert len(server.scrapes) == 3
        assert server.period() is not None

    run_async(main(), timeout=30)


def test_a_receiver_s_refusal_is_named_with_its_status_and_first_line():
    """A 400 from the receiver (what Prometheus answers to a bad body) becomes a
    RuntimeError naming the status and the receiver's own words."""

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )  # fmt: skip
        await reader.readexactly(length)
        body = b"out of order sample\nmore\n"
        writer.write(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(refuse, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        writer = RemoteWriter(f"http://127.0.0.1:{port}/api/v1/write")
        try:
            with pytest.raises(RuntimeError, match=r"^HTTP 400: out of order sample$"):
                await writer.push(b"\x00body")
        finally:
            await writer.aclose()
            server.close()
            await server.wait_closed()

    run_async(main(), timeout=30)
