"""Validation of the ``target:`` section: the server, its timeouts and limits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from loadgen.core import units
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.model import Correlation, TargetSpec
from loadgen.core.profile.scrapespec import metrics
from loadgen.core.profile.source import Path_

__all__ = ["target"]

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 field-name


_TARGET_KEYS = (
    "base_url",
    "timeout",
    "connect_timeout",
    "verify",
    "headers",
    "tokenizer",
    "transport",
    "builtin",
    "retry_after",
    "max_retry_after",
    "max_response_size",
    "max_line",
    "metrics",
    "request_id_header",
    "affinity_header",
    "server_request_id",
)


def target(check: Checker, value: Any, path: Path_) -> TargetSpec | None:
    if value is None:
        check.bad(path, "missing 'target'", "add target: {base_url: builtin} or your server's URL")
        return None
    t = check.mapping(value, path, _TARGET_KEYS)
    transport = _transport(check, t, path)
    base_url = _base_url(check, t, path)
    verify = _verify(check, t, path)
    headers = check.str_map(t.get("headers"), (*path, "headers"))
    builtin = _builtin(check, t, path)
    scrape = metrics(check, t.get("metrics"), (*path, "metrics"))
    return TargetSpec(
        base_url=base_url.rstrip("/"),
        timeout=_timeout(check, t, path, "timeout", 60.0),
        connect_timeout=_timeout(check, t, path, "connect_timeout", 10.0),
        verify=verify if isinstance(verify, bool) else str(check.base_dir / verify),
        headers=headers,
        tokenizer=check.typed(t.get("tokenizer"), (*path, "tokenizer"), str, None),
        builtin=builtin,
        transport=transport,
        honor_retry_after=_retry_after(check, t.get("retry_after"), (*path, "retry_after")),
        max_retry_after=check.unit(
            t.get("max_retry_after"), (*path, "max_retry_after"), units.parse_duration, 60.0
        ),
        max_response_size=_size(check, t, path, "max_response_size", 64 << 20),
        max_line=_size(check, t, path, "max_line", 1 << 20),
        metrics=scrape,
        correlation=Correlation(
            request_id_header=_header_name(check, t, path, "request_id_header", "x-request-id"),
            affinity_header=_header_name(check, t, path, "affinity_header", None),
            server_request_id=_header_name(check, t, path, "server_request_id", None),
        ),
    )


def _header_name(
    check: Checker, t: Mapping[str, Any], path: Path_, key: str, default: str | None
) -> str | None:
    """A header name (lower-cased), or false for none."""
    value = t.get(key)
    if value is None:
        return default
    if value is False:
        return None
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        check.bad((*path, key), f"{value!r} is not a header name", f"write {key}: x-request-id")
        return default
    return value.lower()


def _transport(check: Checker, t: Mapping[str, Any], path: Path_) -> Literal["fast", "httpx"]:
    transport = check.one_of(
        t.get("transport"),
        (*path, "transport"),
        ("fast", "httpx"),
        "transport",
        "use fast (the lean HTTP/1.1 client) or httpx (proxies, HTTP/2)",
    )
    return "httpx" if transport == "httpx" else "fast"


def _base_url(check: Checker, t: Mapping[str, Any], path: Path_) -> str:
    """``builtin`` or an http(s) URL."""
    base_url = check.typed(t.get("base_url"), (*path, "base_url"), str, "")
    if not base_url:
        check.bad(
            (*path, "base_url"),
            "missing base_url",
            "write base_url: builtin, or http(s)://host:port of your chatbot",
        )
    elif base_url != "builtin" and not base_url.startswith(("http://", "https://")):
        check.bad(
            (*path, "base_url"),
            f"{base_url!r} is not an http(s) URL",
            "write http://host:port or https://host, or builtin",
        )
    return str(base_url)


def _verify(check: Checker, t: Mapping[str, Any], path: Path_) -> bool | str:
    """TLS verification: on, off, or a CA bundle file (which must exist)."""
    verify = t.get("verify", True)
    if not isinstance(verify, bool | str):
        check.bad((*path, "verify"), "expected true, false or a CA bundle path")
        verify = True
    if isinstance(verify, str):
        check.missing_file(verify, (*path, "verify"))
        return str(verify)
    return bool(verify)


def _builtin(check: Checker, t: Mapping[str, Any], path: Path_) -> dict[str, Any]:
    """The built-in target's own settings, read by loadgen.target."""
    builtin = t.get("builtin") or {}
    if not isinstance(builtin, Mapping):
        check.bad(
            (*path, "builtin"),
            "expected a mapping of built-in target settings",
            "see docs/target.md for its keys",
        )
        builtin = {}
    return dict(builtin)


def _size(check: Checker, t: Mapping[str, Any], path: Path_, key: str, default: int) -> int:
    """A byte limit (``max_response_size``, ``max_line``): a size of at least 1 KiB."""
    size = check.unit(t.get(key), (*path, key), units.parse_size, default)
    if size < 1024:
        check.bad((*path, key), f"{size} bytes is too small", "write at least 1KiB, e.g. 1MiB")
        return default
    return size


def _timeout(check: Checker, t: Mapping[str, Any], path: Path_, key: str, default: float) -> float:
    """A timeout of zero would fail every request before it is sent: refuse it."""
    seconds = check.unit(t.get(key), (*path, key), units.parse_duration, default)
    if seconds <= 0:
        check.bad((*path, key), f"{key} must be > 0", f"write a duration such as {default:g}s")
        return default
    return seconds


def _retry_after(check: Checker, value: Any, path: Path_) -> bool:
    if value is None or value == "honor":
        return True
    if value == "ignore":
        return False
    check.bad(
        path,
        f"expected honor or ignore, got {value!r}",
        "honor waits what a 429's Retry-After says before the VU's next request",
    )
    return True
