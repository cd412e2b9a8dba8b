"""Where the time went before the first byte: each client's connection phases onto the
request's ``Sample`` (connect, TLS, send, reuse; ``wait`` follows from ``written``).

The fast client times its own phases (``stamp`` copies them); httpx is timed through
httpcore's ``trace`` request extension (``HttpxPhases``), which reports each step of a
request as ``<module>.<step>.started|complete|failed``.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from loadgen.core.sample import Sample
from loadgen.edge.fasthttp import FastClient

__all__ = ["HttpxPhases", "stamp"]


def stamp(sample: Sample, client: FastClient) -> None:
    """Copy the latest request's phases from ``client`` (also when the request failed)."""
    sample.connect, sample.tls, sample.reused = client.connect_s, client.tls_s, client.reused
    sample.write_start = client.write_start
    partial = client.partial
    sample.written = partial.written if partial is not None else None


class HttpxPhases:
    """httpcore's ``trace`` callback for one request (``extensions={"trace": ...}``).

    A request that writes its head without a ``connect_tcp`` before it went out on a kept
    connection (``reused``, connect and TLS 0). A connect or handshake that failed leaves its
    phase None, as the fast client does. Event names are httpcore 1.0's (HTTP/1.1 only: loadgen
    never asks httpx for HTTP/2)."""

    __slots__ = ("_at", "_sample", "_tls")

    def __init__(self, sample: Sample, *, tls: bool) -> None:
        self._sample = sample
        self._tls = tls
        self._at = 0.0

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        now = monotonic()
        sample = self._sample
        if name == "http11.send_request_headers.started":
            if sample.reused is None:
                sample.reused, sample.connect = True, 0.0
                sample.tls = 0.0 if self._tls else None
            sample.write_start = now
        elif name == "http11.send_request_body.complete":
            sample.written = now
        elif name == "connection.connect_tcp.started":
            self._at = now
            sample.reused, sample.connect, sample.tls = False, None, None
        elif name == "connection.start_tls.started":
            self._at = now
        elif name == "connection.connect_tcp.complete":
            sample.connect = now - self._at
        elif name == "connection.start_tls.complete":
            sample.tls = now - self._at
