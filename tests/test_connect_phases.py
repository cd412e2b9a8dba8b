"""Where the time went before the first byte (issue 21 item 4): a connect storm shows as
connect time, reused connections connect in 0, the send and the wait fit between the
target's truth-log arrival and the first byte, and TLS is timed apart from TCP."""

from __future__ import annotations

import asyncio
import csv
import json
import select
import socket
from pathlib import Path

from loopserver import SSE_HEAD, TOKENS, LoopServer, framed, read_request, self_signed, sse_answer
from support import chat_profile, run_async

import loadgen
from loadgen import profile_from_dict
from loadgen.report.console import summary

FAST = {"timing": {"ttft": "5ms", "itl": "1ms"}, "capacity": {"slots": 0}}
HOLD = 0.6  # seconds the storm server leaves its tiny backlog unaccepted
USERS = 1000


def raw_rows(out: Path) -> list[dict[str, str]]:
    with (out / "requests.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


class SseServer(LoopServer):
    """Answers every request with a streamed answer of ``TOKENS`` events, keep-alive."""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await read_request(reader)
                body = b"".join(framed(e) for e in sse_answer())
                writer.write(SSE_HEAD + body + b"0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.transport.abort()


class StormServer(SseServer):
    """Listens with a backlog of 1 and accepts nothing until ``HOLD`` after the first
    connection is pending, then serves with a large backlog: SYNs that found the accept
    queue full were dropped by the kernel and come back with the SYN retry (~1 s)."""

    async def _start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._task = asyncio.get_running_loop().create_task(self._later(sock))

    async def _later(self, sock: socket.socket) -> None:
        await asyncio.to_thread(select.select, [sock], [], [], 30)
        await asyncio.sleep(HOLD)
        # start_server listens again with its backlog: the kernel takes the new length.
        self._server = await asyncio.start_server(self._serve, sock=sock, backlog=1024)


def test_a_connect_storm_shows_as_connect_time_not_only_ttft(tmp_path):
    """1,000 users start at once on a server whose backlog holds 2 connections for its first
    0.6 s: the SYNs sent meanwhile are dropped and retried ~1 s later. Each first request's
    TTFT holds its connect time, the connect tail is most of the TTFT tail, and the console
    warns so; later requests reuse their connection (connect 0)."""
    out = tmp_path / "out"
    with StormServer() as server:
        data = chat_profile(
            server.url, users=USERS, duration="3s", think={"constant": "1s"}, report={"raw": True}
        )
        result = run_async(loadgen.run(profile_from_dict(data), out=out), timeout=60)
    rows = [r for r in raw_rows(out) if r["interrupted"] == "0"]
    new = [r for r in rows if r["reused"] == "0"]
    assert len(new) == USERS  # one connection per user, kept alive
    assert len(rows) - len(new) >= USERS // 2  # second requests, on the kept connection
    for r in rows:
        assert r["error"] == ""
        assert float(r["ttft_ms"]) >= float(r["connect_ms"])  # ttft still from t0
        if r["reused"] == "1":
            assert float(r["connect_ms"]) == 0.0
    retried = [r for r in new if float(r["connect_ms"]) >= 900]  # a SYN retry: ~1 s
    assert len(retried) >= USERS // 2
    for r in retried:  # the time past connecting is small beside the retry
        assert float(r["ttft_ms"]) - float(r["connect_ms"]) < 500
    m = result.data["scopes"]["overall"]["metrics"]
    assert m["connect"]["count"] == len(rows)
    assert m["connect"]["p99"] > 0.8 * m["ttft"]["p99"]
    text = summary(result.data)
    assert "warning: connecting made up most of the TTFT tail" in text


def test_reused_connections_connect_in_zero_and_phases_fit_the_truth_log(tmp_path):
    """Against the built-in target: each user opens one connection (connect > 0, once) and
    reuses it (connect 0); the request started going out before the target logged its
    arrival and the first byte came after it: send + wait span the server's part."""
    truth_path, out = tmp_path / "truth.jsonl", tmp_path / "out"
    data = chat_profile(users=3, duration="1s", builtin=FAST, report={"raw": True})
    result = run_async(loadgen.run(profile_from_dict(data), out=out, truth=truth_path))
    truth = {d["id"]: d for d in map(json.loads, truth_path.read_text().splitlines())}
    rows = [r for r in raw_rows(out) if r["interrupted"] == "0"]
    assert len(rows) >= 6
    assert sum(r["reused"] == "0" for r in rows) == 3
    for r in rows:
        connect = float(r["connect_ms"])
        assert (connect > 0) == (r["reused"] == "0")
        assert r["tls_ms"] == ""  # no TLS
        first_byte = float(r["first_byte"])
        assert float(r["send_ms"]) >= 0
        # The request started going out before the target logged it, and its answer's
        # first byte came after (``written`` is stamped once write() returned: the target
        # may read the bytes first when the generator's thread is preempted in between).
        write_start = first_byte - (float(r["wait_ms"]) + float(r["send_ms"])) / 1000
        arrival = truth[r["request_id"]]["arrival"]
        assert write_start - 1e-5 <= arrival <= first_byte
        assert float(r["wait_ms"]) <= float(r["ttfb_ms"])
    m = result.data["scopes"]["overall"]["metrics"]
    assert m["connect"]["count"] == m["wait"]["count"] == m["send"]["count"] == len(rows)
    assert m["tls"]["count"] == 0
    assert "warning: connecting" not in summary(result.data)
    assert "before the first byte: connect p50" in summary(result.data)


def test_tls_is_timed_apart_from_tcp(tmp_path):
    """Over TLS (a CA made in the test by trustme): a new connection has both a TCP
    connect and a TLS handshake time, a reused one 0 for both, and every answer is whole."""
    server_ctx, bundle = self_signed(tmp_path)
    out = tmp_path / "out"
    with SseServer(tls=server_ctx) as server:
        data = chat_profile(server.url, users=2, duration="0.5s", report={"raw": True})
        data["target"]["verify"] = str(bundle)
        result = run_async(loadgen.run(profile_from_dict(data), out=out))
    rows = [r for r in raw_rows(out) if r["interrupted"] == "0"]
    assert len(rows) >= 4
    for r in rows:
        assert r["error"] == ""
        assert int(r["content_events"]) == TOKENS
        if r["reused"] == "0":
            assert float(r["connect_ms"]) > 0
            assert float(r["tls_ms"]) > 0
        else:
            assert float(r["connect_ms"]) == float(r["tls_ms"]) == 0.0
    assert sum(r["reused"] == "0" for r in rows) == 2
    tls = result.data["scopes"]["overall"]["metrics"]["tls"]
    assert tls["count"] == len(rows)
    assert tls["max"] > 0
