"""Where the time went before the first byte: the fast client's connection phases, onto the
request's ``Sample`` (connect, TLS, send, reuse; ``wait`` follows from ``written``)."""

from __future__ import annotations

from loadgen.core.sample import Sample
from loadgen.edge.fasthttp import FastClient

__all__ = ["stamp"]


def stamp(sample: Sample, client: FastClient) -> None:
    """Copy the latest request's phases from ``client`` (also when the request failed)."""
    sample.connect, sample.tls, sample.reused = client.connect_s, client.tls_s, client.reused
    sample.write_start = client.write_start
    partial = client.partial
    sample.written = partial.written if partial is not None else None
