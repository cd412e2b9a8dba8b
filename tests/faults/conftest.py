"""Servers for the fault matrix: one built-in target per session, raw servers per test.

The built-in target is fast (20 ms to the first token, 5 ms between 8 tokens) and faults are
forced per request with the ``x-loadgen-fault`` header, so one target serves every test. Raw
servers change state (stop listening, fail TLS), so each test gets its own.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
import trustme
from rawserver import RawServer, WsServer

from loadgen.target import BuiltinTarget, TargetConfig

FAST = {
    "timing": {"ttft": "20ms", "itl": "5ms", "output_tokens": 8},
    "capacity": {"slots": 0},
    "faults": {
        "stall": {"rate": 0, "duration": "4s"},
        "http_429": {"rate": 0, "retry_after": "1s"},
    },
}


@pytest.fixture(scope="session")
def builtin() -> Iterator[BuiltinTarget]:
    with BuiltinTarget(TargetConfig.from_mapping(FAST)) as target:
        yield target


@pytest.fixture
def raw() -> Iterator[RawServer]:
    with RawServer() as server:
        yield server


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def raw_tls(ca: trustme.CA) -> Iterator[RawServer]:
    """An HTTPS raw server whose certificate only ``ca`` vouches for (self-signed chain)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    with RawServer(tls=ctx) as server:
        yield server


@pytest.fixture
def ws_server() -> Iterator[WsServer]:
    with WsServer() as server:
        yield server
