"""Network failures in words, over real exception objects (no DNS query leaves the machine)."""

from __future__ import annotations

import asyncio
import errno
import socket

import pytest

from loadgen.core.errors import StartError
from loadgen.core.netcause import network_cause
from loadgen.edge.startup import reach


def real_gaierror() -> socket.gaierror:
    """The resolver's own failure for a name, made locally: AI_NUMERICHOST never asks DNS."""
    try:
        socket.getaddrinfo("chatbot.example", 80, flags=socket.AI_NUMERICHOST)
    except socket.gaierror as exc:
        return exc
    raise AssertionError("a non-numeric host must not resolve with AI_NUMERICHOST")


def refused() -> OSError:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, never listening
        port = s.getsockname()[1]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        except OSError as exc:
            return exc
    raise AssertionError("a port nobody listens on must refuse")


def chained(inner: BaseException) -> Exception:
    """Wrapped twice, as asyncio and an HTTP library do."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise OSError("Connect call failed") from exc
    except OSError as outer:
        try:
            raise RuntimeError("ConnectError: [Errno -2] whatever the library says") from outer
        except RuntimeError as top:
            return top


@pytest.mark.parametrize(
    ("make", "words"),
    [
        pytest.param(real_gaierror, "name not resolved", id="the resolver's EAI_NONAME"),
        pytest.param(
            lambda: socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
            "name not resolved: the DNS server did not answer (try again)",
            id="EAI_AGAIN: no DNS server",
        ),
        pytest.param(
            lambda: socket.gaierror(-12345, "odd"), "name not resolved (odd)", id="unknown code"
        ),
        pytest.param(refused, "connection refused", id="a refused connect"),
        pytest.param(lambda: chained(real_gaierror()), "name not resolved", id="wrapped twice"),
        pytest.param(
            lambda: OSError(errno.ENETUNREACH, "x"), "network unreachable", id="unreachable"
        ),
        pytest.param(lambda: TimeoutError(), "timed out", id="a timeout"),
        pytest.param(lambda: ValueError("one\ntwo"), "one", id="no OSError: the first line"),
    ],
)
def test_each_failure_reads_as_words(make, words):
    """Resolver codes and errnos become phrases, never "Unknown error -2" or an errno."""
    assert network_cause(make()) == words


def test_a_name_that_fails_at_start_says_name_not_resolved(monkeypatch):
    """``reach`` names the address and says "name not resolved". The resolver call is the
    real one with AI_NUMERICHOST forced, so it fails locally instead of asking DNS."""
    real = socket.getaddrinfo

    def numeric_only(host, port, family=0, type=0, proto=0, flags=0):
        return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

    monkeypatch.setattr(socket, "getaddrinfo", numeric_only)
    with pytest.raises(StartError) as info:
        asyncio.run(reach("http://chatbot.example:8080", 5))
    assert str(info.value).startswith("cannot reach http://chatbot.example:8080: name not resolved")
    assert "Unknown error" not in str(info.value)
