"""The fast client's errors: each maps to one error kind (``transport.classify``)."""

from __future__ import annotations

__all__ = [
    "ConnectFailed",
    "FastHTTPError",
    "LocalLimit",
    "ProtocolFailed",
    "StreamBroken",
    "UnsafeHeaders",
]


class FastHTTPError(Exception):
    """Base of the fast client's errors; each maps to one error kind."""


class ConnectFailed(FastHTTPError):
    """No connection, or the server hung up before answering (``connect``)."""


class StreamBroken(FastHTTPError):
    """The connection ended after the response had started (``stream_broken``)."""


class ProtocolFailed(FastHTTPError):
    """The response was not valid HTTP/1.1 (``protocol``)."""


class LocalLimit(FastHTTPError):
    """The generator ran out of its own resources: open files, local ports (``generator``)."""


class UnsafeHeaders(FastHTTPError):
    """A header or the path holds CR, LF or NUL: refused before sending (``protocol``)."""
