"""Connection phases on every client (issue 21 item 4): httpx (``target.transport: httpx``,
timed through httpcore's trace hooks) and WebSocket chats record connect, TLS, send, wait and
reuse as the fast client does, checked against servers whose delays are known."""

from __future__ import annotations

import asyncio
import json
import time

from loopserver import SSE_HEAD, framed, read_request, self_signed, sse_answer
from support import chat_profile, run_async
from test_connect_phases import SseServer, StormServer, raw_rows
from websockets.asyncio.server import serve

import loadgen
from loadgen import profile_from_dict
from loadgen.core.profile.model import WsTask
from loadgen.core.sample import Sample
from loadgen.edge.wschat import WsChat

FAST = {"timing": {"ttft": "5ms", "itl": "1ms"}, "capacity": {"slots": 0}}
DELAY = 0.15  # seconds the delayed server holds each answer's first byte
CREDENTIALS = {"email": "{{ email }}", "password": "{{ password }}"}
LOGIN = {"kind": "login", "login": {"path": "/api/auth/login", "json": CREDENTIALS}}
ADMIN_VARS = {"email": "admin@example.com", "password": "admin-password"}


class DelayedServer(SseServer):
    """Holds each answer ``DELAY`` after its request is read, logging (monotonic, same
    clock as the generator's) when each request arrived and when its first byte left."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.log: list[tuple[float, float]] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await read_request(reader)
                arrival = time.monotonic()
                await asyncio.sleep(DELAY)
                sent = time.monotonic()
                writer.write(SSE_HEAD + b"".join(framed(e) for e in sse_answer()) + b"0\r\n\r\n")
                self.log.append((arrival, sent))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.transport.abort()


def httpx_profile(url: str = "builtin", **kw: object) -> dict:
    data = chat_profile(url, report={"raw": True}, **kw)  # type: ignore[arg-type]
    data["target"]["transport"] = "httpx"
    return data


def test_httpx_phases_fit_the_truth_log(tmp_path):
    """httpx against the built-in target: each user connects once (connect > 0) and then
    reuses its connection (connect 0); the request started going out before the target
    logged its arrival and its first byte came after; every phase is counted per request."""
    truth_path, out = tmp_path / "truth.jsonl", tmp_path / "out"
    data = httpx_profile(users=3, duration="1s", builtin=FAST)
    result = run_async(loadgen.run(profile_from_dict(data), out=out, truth=truth_path))
    truth = {d["id"]: d for d in map(json.loads, truth_path.read_text().splitlines())}
    rows = [r for r in raw_rows(out) if r["interrupted"] == "0"]
    assert len(rows) >= 6
    assert sum(r["reused"] == "0" for r in rows) == 3
    for r in rows:
        assert r["error"] == ""
        assert (float(r["connect_ms"]) > 0) == (r["reused"] == "0")
        assert r["tls_ms"] == ""  # no TLS
        first_byte = float(r["first_byte"])
        write_start = first_byte - (float(r["wait_ms"]) + float(r["send_ms"])) / 1000
        arrival = truth[r["request_id"]]["arrival"]
        assert write_start - 1e-5 <= arrival <= first_byte
        assert float(r["ttft_ms"]) >= float(r["connect_ms"]) + float(r["wait_ms"])
    m = result.data["scopes"]["overall"]["metrics"]
    assert m["connect"]["count"] == m["send"]["count"] == m["wait"]["count"] == len(rows)
    assert m["tls"]["count"] == 0


def test_httpx_connect_storm_shows_as_connect_time(tmp_path):
    """12 httpx users at once on a server whose backlog holds 2: the kernel drops the other
    SYNs and the client retries them ~1 s later; that second is connect time, not wait."""
    out = tmp_path / "out"
    users = 12
    with StormServer() as server:
        data = httpx_profile(server.url, users=users, duration="1s", think={"constant": "2s"})
        run_async(loadgen.run(profile_from_dict(data), out=out), timeout=60)
    rows = [r for r in raw_rows(out) if r["interrupted"] == "0"]
    assert sum(r["reused"] == "0" for r in rows) == users
    retried = [r for r in rows if float(r["connect_ms"]) >= 900]
    assert len(retried) >= users // 2
    for r in retried:
        assert r["error"] == ""
        assert float(r["ttft_ms"]) >= float(r["connect_ms"])
        assert float(r["wait_ms"]) < 500


def test_httpx_tls_and_wait_against_a_delayed_tls_server(tmp_path):
    """httpx over TLS (a CA made by trustme) to a server that holds each first byte 150 ms:
    a new connection has TCP and TLS times, a reused one 0 for both; send + wait spans the
    server's logged arrival and first byte, so it covers the hold."""
    server_ctx, bundle = self_signed(tmp_path)
    out = tmp_path / "out"
    with DelayedServer(tls=server_ctx) as server:
        data = httpx_profile(server.url, users=2, duration="0.5s")
        data["target"]["verify"] = str(bundle)
        run_async(loadgen.run(profile_from_dict(data), out=out))
        log = list(server.log)
    rows = sorted((r for r in raw_rows(out) if r["interrupted"] == "0"), key=lambda r: r["send"])
    assert len(rows) >= 4
    assert sum(r["reused"] == "0" for r in rows) == 2
    for r in rows:
        assert r["error"] == ""
        if r["reused"] == "0":
            assert float(r["connect_ms"]) > 0
            assert float(r["tls_ms"]) > 0
        else:
            assert float(r["connect_ms"]) == float(r["tls_ms"]) == 0.0
        first_byte = float(r["first_byte"])
        going = (float(r["send_ms"]) + float(r["wait_ms"])) / 1000  # write start → first byte
        # The server's (arrival, first byte sent) inside this request's send + wait: its hold
        # is in there. (``written`` is stamped once the write returned: the server may log
        # the arrival first when the generator's thread is preempted in between.)
        match = [(a, s) for a, s in log if first_byte - going - 1e-5 <= a and s <= first_byte]
        assert match, r
        arrival, sent = min(match)
        assert sent - arrival >= DELAY


def test_websocket_phases_fit_the_truth_log(tmp_path):
    """WS chats: the question that opened the VU's socket carries its TCP connect (one per
    VU), later ones reuse it (connect 0); the question went out before the target logged it,
    so send + wait holds the target's TTFT (60 ms) as its truth log measured it."""
    timing = {"ttft": "60ms", "itl": "2ms", "output_tokens": 4}
    builtin = {"timing": timing, "capacity": {"slots": 0}}
    user = {"name": "ws", "vars": ADMIN_VARS, "tasks": [{"ws": {"category": "simple"}}]}
    data = chat_profile(users=3, duration="1s", builtin=builtin, report={"raw": True}, auth=LOGIN)
    data["users"] = [user]
    truth_path, out = tmp_path / "truth.jsonl", tmp_path / "out"
    result = run_async(loadgen.run(profile_from_dict(data), out=out, truth=truth_path))
    truth = {d["id"]: d for d in map(json.loads, truth_path.read_text().splitlines())}
    rows = [r for r in raw_rows(out) if r["name"] == "ws.chat.simple" and r["interrupted"] == "0"]
    assert len(rows) >= 6
    connects = result.data["custom"]["counters"]["ws_connects"]
    assert sum(r["reused"] == "0" for r in rows) == 3 == connects
    for r in rows:
        assert r["error"] == ""
        assert (float(r["connect_ms"]) > 0) == (r["reused"] == "0")
        assert r["tls_ms"] == ""
        t = truth[r["request_id"]]
        first_byte = float(r["first_byte"])
        write_start = first_byte - (float(r["wait_ms"]) + float(r["send_ms"])) / 1000
        assert write_start - 1e-5 <= t["arrival"] <= first_byte
        assert first_byte >= t["first_token"]  # so send + wait holds the target's TTFT
        assert first_byte - write_start >= t["first_token"] - t["arrival"] >= 0.059


def test_websocket_tls_is_timed_apart_from_tcp(tmp_path, monkeypatch):
    """wss:// to a loopback server with a certificate from a CA made in the test (trusted
    through SSL_CERT_FILE, which the default SSL context reads): the question that opened the
    socket has a TCP connect and a TLS handshake, the next one reuses it (0 for both), and
    each send + wait covers the server's 100 ms hold, from its own log."""
    server_ctx, bundle = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    hold, arrivals = 0.1, []

    async def answer(ws) -> None:
        async for _ in ws:
            arrivals.append(time.monotonic())
            await asyncio.sleep(hold)
            await ws.send(json.dumps({"type": "token", "content": "hi"}))
            await ws.send(json.dumps({"type": "end", "usage": {"completion_tokens": 1}}))

    async def go() -> list[Sample]:
        samples, records = [], []
        async with serve(answer, "127.0.0.1", 0, ssl=server_ctx) as server:
            port = server.sockets[0].getsockname()[1]
            chat = WsChat(
                f"wss://127.0.0.1:{port}",
                record=records.append,
                count=lambda name: None,
                user_class="u",
                connect_timeout=5,
            )
            for _ in range(2):
                t0 = time.monotonic()
                sample = Sample(name="ws", user_class="u", t0=t0, send=t0)
                message = {"type": "message", "content": "q"}
                spec = WsTask(path="/", token_query=None)
                await chat.ask(
                    spec, message, sample, token=None, headers={}, timeout=5, keep_text=False
                )
                samples.append(sample)
            await chat.close()
        assert [r.name for r in records] == ["ws.connect"]
        return samples

    first, second = run_async(go())
    assert (first.reused, second.reused) == (False, True)
    assert first.connect is not None
    assert first.tls is not None
    assert first.connect > 0
    assert first.tls > 0
    assert second.connect == second.tls == 0.0
    for sample, arrival in zip((first, second), arrivals, strict=True):
        assert sample.ok
        assert sample.write_start is not None
        assert sample.first_byte is not None
        assert sample.write_start <= arrival + 1e-5
        assert arrival + hold <= sample.first_byte
        assert sample.written is not None
        assert sample.write_start <= sample.written <= sample.first_byte
        assert sample.first_byte - sample.write_start >= hold
