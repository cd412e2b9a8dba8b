"""The live page's server over real loopback sockets: the page and its headers, the checks
that keep other sites out (Host, Origin, token), and control requests refused or applied."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from support import run_async
from websockets.exceptions import InvalidStatus

from loadgen.engine.uiserver import UIServer, is_loopback


async def _get(port: int, path: str, host: str) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


class Steered:
    def __init__(self) -> None:
        self.asked: list[tuple[str, Any]] = []

    def __call__(self, action: str, value: Any) -> dict[str, Any]:
        if action == "hold" and not isinstance(value, int):
            raise ValueError("hold needs a number of users")
        self.asked.append((action, value))
        return {"t": 1.0, "action": action, "value": value}


def test_page_headers_host_origin_and_token():
    """GET / is the page (token inside, a strict CSP); a foreign Host is refused (DNS
    rebinding), as are a foreign Origin and a wrong token on /ws; other paths are 404."""
    steered = Steered()

    async def main() -> dict[str, Any]:
        server = UIServer(lambda: {"type": "init"}, port=0, steer=steered, title="t<x>")
        url = await server.start()
        port = server.port
        try:
            got: dict[str, Any] = {}
            got["page"] = await _get(port, "/", f"127.0.0.1:{port}")
            got["localhost"] = (await _get(port, "/", f"localhost:{port}"))[0]
            got["rebound"] = (await _get(port, "/", f"evil.example:{port}"))[0]
            got["missing"] = (await _get(port, "/secret", f"127.0.0.1:{port}"))[0]
            ws = url.replace("http", "ws") + "ws?token="
            for name, origin, token in (
                ("foreign", "http://evil.example", server.token),
                ("no_token", url.rstrip("/"), "x"),
            ):
                with pytest.raises(InvalidStatus) as caught:
                    await websockets.connect(ws + token, origin=origin, open_timeout=5)  # type: ignore[arg-type]
                got[name] = caught.value.response.status_code
            async with websockets.connect(ws + server.token, origin=url.rstrip("/")) as conn:  # type: ignore[arg-type]
                got["init"] = json.loads(await conn.recv())
                replies = []
                for request in (
                    '{"action": "hold", "value": 3}',
                    '{"action": "hold", "value": "x"}',
                    "[1]",
                ):
                    await conn.send(request)
                    replies.append(json.loads(await conn.recv()))
                got["replies"] = replies
            got["token"] = server.token
            return got
        finally:
            await server.aclose()

    got = run_async(main(), timeout=30)
    status, headers, body = got["page"]
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "connect-src 'self'" in headers["content-security-policy"]
    assert got["token"].encode() in body
    assert b"<title>t&lt;x&gt;</title>" in body  # the profile's name is escaped
    assert b"<script src" not in body
    assert (got["localhost"], got["rebound"], got["missing"]) == (200, 403, 404)
    assert (got["foreign"], got["no_token"]) == (403, 403)
    assert got["init"] == {"type": "init"}
    assert got["replies"] == [
        {"type": "done", "event": {"t": 1.0, "action": "hold", "value": 3}},
        {"type": "refused", "message": "hold needs a number of users"},
        {"type": "refused", "message": "send a JSON object"},
    ]
    assert steered.asked == [("hold", 3)]


def test_without_control_every_request_is_refused():
    """``loadgen ui`` and a lingering page: control is off; nothing is applied."""

    async def main() -> dict[str, Any]:
        server = UIServer(lambda: {"type": "init"}, port=0, steer=None)
        url = await server.start()
        try:
            ws = url.replace("http", "ws") + "ws?token=" + server.token
            async with websockets.connect(ws, origin=url.rstrip("/")) as conn:  # type: ignore[arg-type]
                await conn.recv()
                await conn.send('{"action": "stop"}')
                reply: dict[str, Any] = json.loads(await conn.recv())
                return reply
        finally:
            await server.aclose()

    assert run_async(main(), timeout=30) == {
        "type": "refused",
        "message": "control is off for this page",
    }


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
    ],
)
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_ui_names_a_wrong_result_file_and_the_fix(tmp_path, capsys):
    from loadgen.cli import main

    missing = tmp_path / "nope.json"
    (tmp_path / "other.json").write_text('{"schema": "x"}')
    assert main(["ui", str(missing)]) == 2
    assert main(["ui", str(tmp_path / "other.json")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"error: {missing}: No such file or directory — give a result.json a run wrote",
        f"error: {tmp_path / 'other.json'}: not a loadgen result (schema 'loadgen.result/1' "
        "expected) — give a result.json a run wrote",
    ]


def test_a_busy_port_is_a_start_error_naming_it(tmp_path, capsys):
    """--ui on a port already taken: exit 2 and the fix, no traceback."""
    import socket

    from loadgen.cli import main

    profile = tmp_path / "p.json"
    profile.write_text(
        json.dumps(
            {
                "name": "busy",
                "target": {"base_url": "builtin"},
                "users": [{"tasks": [{"chat": {"category": "simple"}}]}],
                "load": {"users": 1, "duration": "1s"},
            }
        )
    )
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        code = main(["run", str(profile), "--ui", str(port), "-q", "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"error: --ui: cannot listen on 127.0.0.1:{port}" in err
    assert "--ui 0 picks a free one" in err
    assert "Traceback" not in err
