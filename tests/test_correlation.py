"""Correlation (issue 21 item 5): every request carries a unique id header (renamed or
turned off by the profile), a per-user affinity header when asked, and the server's own
request id lands in requests.csv, so loadgen's rows join with a server's log by id."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import pytest
from loopserver import SSE_HEAD, LoopServer, framed, read_request, sse_answer
from support import chat_profile, run_async

import loadgen
from loadgen import profile_from_dict
from loadgen.core.errors import ProfileError

FAST = {"timing": {"ttft": "5ms", "itl": "1ms"}, "capacity": {"slots": 0}}


def raw_rows(out: Path) -> list[dict[str, str]]:
    with (out / "requests.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


class LoggingServer(LoopServer):
    """Logs each request's headers and answers with its own id in ``x-server-id``."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[dict[str, str]] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                _, headers, _ = await read_request(reader)
                own = f"srv-{len(self.log)}"
                self.log.append({**headers, "server-id": own})
                head = SSE_HEAD.replace(b"\r\n\r\n", b"\r\nx-server-id: %b\r\n\r\n" % own.encode())
                body = b"".join(framed(e) for e in sse_answer())
                writer.write(head + body + b"0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.transport.abort()


def run_against(server: LoggingServer, tmp_path: Path, **target: object) -> list[dict]:
    out = tmp_path / "out"
    data = chat_profile(server.url, users=3, duration="0.5s", report={"raw": True})
    data["users"][0]["think_time"] = {"constant": "50ms"}
    data["target"].update(target)
    run_async(loadgen.run(profile_from_dict(data), out=out))
    return [r for r in raw_rows(out) if r["interrupted"] == "0"]


def test_rows_join_the_servers_log_by_id_both_ways(tmp_path):
    """Each request's x-request-id is unique and is its row's request_id; the server's own
    id (x-server-id) is kept in that row: joined on either id, the row and the server's
    log line are the same request. The affinity header is one value per user."""
    with LoggingServer() as server:
        rows = run_against(
            server, tmp_path, server_request_id="x-server-id", affinity_header="x-session"
        )
    log = [h for h in server.log if "x-request-id" in h]  # the start-up probe has none
    assert len(rows) >= 6
    by_id = {h["x-request-id"]: h for h in log}
    assert len(by_id) == len(log)  # unique per request
    for r in rows:
        line = by_id[r["request_id"]]
        assert r["server_request_id"] == line["server-id"]
    sessions: dict[str, set[str]] = {}
    for h in log:
        user = h["x-request-id"].rsplit("-", 1)[0]  # RUN-VU-SEQ
        sessions.setdefault(h["x-session"], set()).add(user)
    assert len(sessions) == 3
    assert all(len(users) == 1 for users in sessions.values())


@pytest.mark.parametrize(
    ("setting", "header"),
    [
        pytest.param("X-Correlation-ID", "x-correlation-id", id="renamed"),
        pytest.param(False, None, id="turned off"),
    ],
)
def test_the_id_header_can_be_renamed_or_turned_off(tmp_path, setting, header):
    """``request_id_header: NAME`` sends the id under NAME (and not as x-request-id);
    ``false`` sends no id header at all."""
    with LoggingServer() as server:
        rows = run_against(server, tmp_path, request_id_header=setting)
    ids = {r["request_id"] for r in rows}
    sent = [h for h in server.log if h.get("user-agent") == "loadgen" and "content-type" in h]
    assert len(sent) >= len(rows) >= 3
    for h in sent:
        assert "x-request-id" not in h
        if header is not None:
            assert h[header] in ids
    if header is not None:
        assert {h[header] for h in sent} >= ids


def test_the_builtin_targets_truth_log_joins_by_the_id(tmp_path):
    """The built-in target logs each request under the id loadgen sent and echoes it:
    with server_request_id: x-request-id, every row's server id is its own id, and the rows
    and the truth log hold the same requests."""
    truth_path, out = tmp_path / "truth.jsonl", tmp_path / "out"
    data = chat_profile(users=2, duration="0.5s", builtin=FAST, report={"raw": True})
    data["target"]["server_request_id"] = "x-request-id"
    run_async(loadgen.run(profile_from_dict(data), out=out, truth=truth_path))
    truth = {d["id"]: d for d in map(json.loads, truth_path.read_text().splitlines())}
    rows = raw_rows(out)
    assert len(rows) >= 4
    assert {r["request_id"] for r in rows} == set(truth)
    for r in rows:
        assert r["server_request_id"] == r["request_id"]
        assert truth[r["request_id"]]["completion_tokens"] == int(r["content_events"])


def test_a_bad_header_name_is_refused():
    data = chat_profile(users=1, duration="1s")
    data["target"]["affinity_header"] = "x session"
    with pytest.raises(ProfileError, match=r"target\.affinity_header.*not a header name"):
        profile_from_dict(data)
