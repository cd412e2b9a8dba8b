"""Why a connection failed, in words: the OS's reason for a refused, unresolved or unreachable
address, found however deeply a library wrapped it.

``os.strerror`` knows nothing of resolver codes (``socket.gaierror``'s -2 is "Unknown error
-2"), and libraries wrap the OSError in their own exceptions (asyncio's "Connect call failed",
aiohttp's connector errors inside botocore's ``EndpointConnectionError``). Pure: values in, a
phrase out.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl

__all__ = ["local_limit", "network_cause"]

# Resolver codes (<netdb.h>); those a platform lacks are skipped.
_GAI_WORDS = {
    getattr(socket, name): words
    for name, words in (
        ("EAI_NONAME", "name not resolved"),
        ("EAI_NODATA", "name not resolved (it has no address)"),
        ("EAI_ADDRFAMILY", "name not resolved (no address of this family)"),
        ("EAI_AGAIN", "name not resolved: the DNS server did not answer (try again)"),
        ("EAI_FAIL", "name not resolved: the DNS server failed"),
        ("EAI_SERVICE", "unknown port or service"),
    )
    if hasattr(socket, name)
}
_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ETIMEDOUT: "timed out",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.EADDRNOTAVAIL: "address not available",
}


# The generator's own limits: raised by the local kernel, never by the target.
_LOCAL_LIMITS = {
    errno.EMFILE: "too many open files: the generator's open-file limit (ulimit -n)",
    errno.ENFILE: "too many open files in the system: the machine's file table is full",
    errno.ENOBUFS: "no buffer space: the generator's machine is out of socket buffers",
    errno.ENOMEM: "out of memory on the generator's machine",
    errno.EADDRNOTAVAIL: "no free local port on the generator's machine (ephemeral ports used up)",
}


def local_limit(exc: BaseException) -> str:
    """What limit of the generator's own machine ``exc`` hit (``""`` when none): these fail a
    request without the target having any part in it."""
    current: BaseException | None = exc
    for _ in range(16):  # a chain of causes, however a library wrapped it
        if current is None:
            break
        if isinstance(current, MemoryError):
            return "out of memory in the generator"
        current = current.__cause__ or current.__context__
    inner = _innermost_os_error(exc)
    if inner is None or isinstance(inner, socket.gaierror):
        return ""
    return _LOCAL_LIMITS.get(inner.errno or 0, "")


def network_cause(exc: BaseException) -> str:
    """The innermost OS-level reason in ``exc``'s chain, or ``exc``'s own first line."""
    inner = _innermost_os_error(exc)
    if inner is None:
        return _first_line(exc)
    if isinstance(inner, socket.gaierror):
        code = inner.errno
        return _GAI_WORDS.get(code, f"name not resolved ({inner.strerror or code})")
    if isinstance(inner, ssl.SSLError):
        return f"TLS: {getattr(inner, 'reason', None) or _first_line(inner)}"
    if isinstance(inner, TimeoutError) and not inner.errno:
        return "timed out"
    if inner.errno in _ERRNO_WORDS:
        return _ERRNO_WORDS[inner.errno]
    if inner.errno and inner.errno > 0:
        return os.strerror(inner.errno).lower()
    return _first_line(inner)


def _innermost_os_error(exc: BaseException) -> OSError | None:
    """Follow causes, contexts, ``os_error`` (aiohttp) and ``kwargs['error']`` (botocore);
    the deepest OSError that carries a reason wins."""
    found: OSError | None = None
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and (
            current.errno is not None or isinstance(current, ssl.SSLError | TimeoutError)
        ):
            found = current
        kwargs = getattr(current, "kwargs", None)
        nested = [
            getattr(current, "os_error", None),
            kwargs.get("error") if isinstance(kwargs, dict) else None,
            current.__context__,
            current.__cause__,
        ]
        stack.extend(e for e in nested if isinstance(e, BaseException))
    return found


def _first_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
