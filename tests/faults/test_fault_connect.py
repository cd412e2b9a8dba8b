"""Connections that cannot be made: refused, DNS failure, TLS failures, WebSocket handshakes.

The healthy class keeps one keep-alive connection; the faulty class's route answers with
``Connection: close``, so it must reconnect for every request and meets the fault once the
server (or resolver) breaks, part-way through the run. That is how these faults strike real
users too: existing connections live on, new ones fail.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from faults_support import assert_isolated, pair_profile, run_timed

from loadgen.cli.commands import main
from loadgen.core.errors import StartError

CLOSE = {"chat": {"path": "/ok-close"}}


def later(seconds: float, action) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_connection_refused_mid_run_is_connect_and_spares_open_connections(raw):
    """The server stops listening after answering the reconnecting class 3 times: every later
    request of that class is ``connect``; the class on its keep-alive connection never
    notices. (The server closes its listener itself, in its own loop: a timer thread fired
    late under CI load once and the run saw no refusal.)"""
    raw.refuse_after("/ok-close", 3)
    result, elapsed = run_timed(pair_profile(raw.url, faulty=CLOSE))
    scope = assert_isolated(result, elapsed, kinds={"connect"})
    assert scope["ok"] >= 3  # the requests before the listener closed succeeded
    assert scope["errors"] >= 5
    assert any("refused" in e["example"].lower() for e in result.data["errors"])


def test_dns_failure_mid_run_is_connect(raw, monkeypatch):
    """``chatbot.test`` resolves to the raw server until 0.7 s, then the resolver fails
    (injected in the event loop's getaddrinfo): new connections are ``connect`` errors naming
    the host; the healthy class, already connected, goes on."""
    broken = threading.Event()
    real = asyncio.base_events.BaseEventLoop.getaddrinfo

    async def getaddrinfo(self, host, port, *args, **kwargs):
        if host == "chatbot.test":
            if broken.is_set():
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            host = "127.0.0.1"
        return await real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "getaddrinfo", getaddrinfo)
    url = f"http://chatbot.test:{raw.port}"
    timer = later(0.7, broken.set)
    result, elapsed = run_timed(pair_profile(url, faulty=CLOSE))
    timer.join()
    scope = assert_isolated(result, elapsed, kinds={"connect"})
    assert scope["ok"] >= 3
    assert any(
        "DNS" in e["example"] and "chatbot.test" in e["example"] for e in result.data["errors"]
    )


def test_a_name_that_does_not_resolve_stops_the_run_before_it_starts(tmp_path, capsys):
    """A DNS failure at the start is the command's mistake (exit 2) with the address and the
    fix, never a traceback and never a run of errors (.invalid never resolves, RFC 6761)."""
    with pytest.raises(StartError, match=r"cannot reach http://chatbot\.invalid:8080"):
        run_timed(pair_profile("http://chatbot.invalid:8080", faulty=CLOSE))
    profile = tmp_path / "p.yaml"
    profile.write_text(
        '{"target": {"base_url": "http://chatbot.invalid:8080"}, '
        '"users": [{"tasks": [{"chat": {}}]}], "load": {"users": 1, "duration": "1s"}}'
    )
    assert main(["run", str(profile), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach http://chatbot.invalid:8080" in err
    assert "check target.base_url" in err
    assert "Traceback" not in err


def test_connection_refused_at_start_is_exit_2(tmp_path):
    """Nothing listening at all: the run does not start (StartError, exit 2 from the CLI)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(StartError, match=rf"cannot reach http://127.0.0.1:{port}"):
            run_timed(pair_profile(f"http://127.0.0.1:{port}", faulty=CLOSE))


def test_tls_handshake_failure_mid_run_is_connect(raw_tls):
    """The server starts failing TLS handshakes at 0.7 s (handshake_failure alert): the
    reconnecting class gets ``connect`` errors, the connected class none."""
    timer = later(0.7, raw_tls.fail_tls)
    result, elapsed = run_timed(pair_profile(raw_tls.url, faulty=CLOSE, verify=False))
    timer.join()
    scope = assert_isolated(result, elapsed, kinds={"connect"})
    assert scope["ok"] >= 3


def test_self_signed_certificate_with_verify_false_works(raw_tls):
    """``verify: false`` accepts the self-signed chain: no error in either class."""
    result, elapsed = run_timed(pair_profile(raw_tls.url, faulty=CLOSE, verify=False))
    scope = assert_isolated(result, elapsed, kinds=set())
    assert scope["ok"] >= 5


def test_self_signed_certificate_with_its_ca_bundle_works(raw_tls, ca, tmp_path):
    """``verify: CA.pem`` trusts exactly that CA: the run is clean."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    result, elapsed = run_timed(pair_profile(raw_tls.url, faulty=CLOSE, verify=str(bundle)))
    assert_isolated(result, elapsed, kinds=set())


def test_self_signed_certificate_without_trust_is_connect_for_everyone(raw_tls):
    """Default verification refuses the unknown CA: every request is ``connect`` with the
    reason, the run still ends on time and nothing escapes."""
    data = pair_profile(raw_tls.url, faulty=CLOSE)
    result, elapsed = run_timed(data)
    assert result.data["run"]["internal_errors"] == []
    assert elapsed < 6
    overall = result.data["scopes"]["overall"]
    assert overall["requests"] >= 10
    assert overall["errors_by_kind"] == {"connect": overall["requests"]}
    assert all("certificate verify failed" in e["example"] for e in result.data["errors"])


def ws(path: str) -> dict:
    return {"ws": {"path": path, "prompt": "hi", "token_query": None, "reconnect_backoff": 0.3}}


def test_websocket_closed_with_an_error_code_is_stream_broken(ws_server):
    """The server closes with 1011 after three tokens: ``stream_broken`` naming the code; the
    VU reconnects and the next answer breaks the same way; the other class is clean."""
    data = pair_profile(ws_server.url, faulty=ws("/ws/close"), healthy=ws("/ws/ok"))
    result, elapsed = run_timed(data)
    scope = assert_isolated(result, elapsed, kinds={"stream_broken"})
    assert scope["requests"] >= 3
    assert any("code 1011" in e["example"] for e in result.data["errors"])
    assert result.data["custom"]["counters"]["ws_drops"] == scope["requests"]


def test_websocket_handshake_never_answered_is_connect_after_connect_timeout(ws_server):
    """The server accepts TCP but never answers the upgrade: each attempt gives up after
    target.connect_timeout (1 s) as ``connect``; the run still ends on time."""
    data = pair_profile(ws_server.url, faulty=ws("/ws/silent"), healthy=ws("/ws/ok"))
    result, elapsed = run_timed(data)
    assert_isolated(result, elapsed, kinds={"connect"})
    connects = result.scope("name", "ws.connect")
    assert connects["errors_by_kind"] == {"connect": connects["errors"]}
    assert 1 <= connects["errors"] <= 3
    assert any("handshake timed out" in e["example"] for e in result.data["errors"])
