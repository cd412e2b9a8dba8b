"""Validation of an ``http:`` step (also a login, refresh or logout request) and its upload."""

from __future__ import annotations

from typing import Any

from loadgen.core import units
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.fields import Reader, names, read, text
from loadgen.core.profile.model import HttpTask, Upload
from loadgen.core.profile.source import Path_

__all__ = ["HTTP_METHODS", "http"]

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_SIZES = {"small": 4_000, "medium": 40_000, "large": 400_000}
_UPLOAD: dict[str, Reader] = {
    "filename": text("document-{{ vu }}-{{ iteration }}.txt"),
    "content_type": text("text/plain"),
    "form": names,
}


def http(check: Checker, value: Any, path: Path_) -> HttpTask:
    h = check.mapping(value, path, ("method", "path", "headers", "json", "body", "upload", "auth"))
    default_method = "POST" if ("json" in h or "body" in h or "upload" in h) else "GET"
    method = check.typed(h.get("method"), (*path, "method"), str, default_method).upper()
    if method not in HTTP_METHODS:
        check.bad(
            (*path, "method"),
            f"unknown method {method!r}",
            f"use one of {', '.join(HTTP_METHODS)}",
        )
    p = check.typed(h.get("path"), (*path, "path"), str, "/")
    if not p.startswith("/"):
        check.bad((*path, "path"), f"{p!r} does not start with /", f"write /{p}")
    if sum(k in h for k in ("json", "body", "upload")) > 1:
        check.bad(path, "give one of json, body or upload", "a request has one body")
    return HttpTask(
        method=method,
        path=p,
        headers=check.str_map(h.get("headers"), (*path, "headers")),
        json=h.get("json"),
        body=check.typed(h.get("body"), (*path, "body"), str, None),
        upload=_upload(check, h["upload"], (*path, "upload")) if "upload" in h else None,
        auth=check.typed(h.get("auth"), (*path, "auth"), bool, True),
    )


def _upload(check: Checker, value: Any, path: Path_) -> Upload:
    u = check.mapping(value, path, ("field", "size", "filename", "content_type", "form"))
    raw = u.get("size", "small")
    size = (
        _SIZES[raw]
        if isinstance(raw, str) and raw in _SIZES  # a list or mapping is no key: unit() says so
        else check.unit(raw, (*path, "size"), units.parse_size, 4000)
    )
    form_field = check.typed(u.get("field"), (*path, "field"), str, "file")
    return Upload(form_field=form_field, size=size, **read(check, u, path, _UPLOAD))
