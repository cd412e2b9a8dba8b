"""What may go into a request head: no CR, LF or NUL in a header or the request target.

A header value can come from a server (a login's token, a value a check extracted) or from a
data file; one holding CR or LF would end its line and inject a header of its own, or a whole
second request (request smuggling), and a NUL is refused by every server. Such a request is
refused before a byte is sent, and the message names the header, never its value (a secret).
Pure: values in, a message or ``None`` out.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["UnsafeRequest", "unsafe_request"]


class UnsafeRequest(ValueError):
    """A header or the request target holds CR, LF or NUL: refused before sending."""


def _bad(text: str) -> bool:
    return "\r" in text or "\n" in text or "\0" in text


def unsafe_request(target: str, headers: Mapping[str, str]) -> str:
    """Why the request cannot be sent as it is (``""`` when it can).

    The names and the values are each scanned as one joined string: this runs for every
    request sent, and a request carries a handful of headers.
    """
    names = "".join(headers)
    if not (_bad(target) or _bad("".join(headers.values())) or _bad(names) or ":" in names):
        return ""
    if _bad(target):
        return "the request path holds CR, LF or NUL: refused before sending"
    for name, value in headers.items():
        if _bad(name) or ":" in name:
            return f"a header name ({name[:40]!r}) is not a token: refused before sending"
        if _bad(value):
            return (
                f"header {name!r} holds CR, LF or NUL (it would inject a header or a second "
                "request): refused before sending"
            )
    return ""
