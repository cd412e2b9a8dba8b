"""Chatbot API routes other than chat: auth, health, metrics and the admin pages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from loadgen.target.app import App
from loadgen.target.auth import AuthError
from loadgen.target.http import HttpConnection, Request
from loadgen.target.multipart import boundary_of, parse_multipart

__all__ = ["register"]


def _body(app: App, conn: HttpConnection, req: Request, route: str) -> dict[str, Any] | None:
    try:
        payload = req.json()
    except ValueError as exc:
        app.answer(conn, req, route, 422, {"detail": str(exc), "code": "invalid_request"})
        return None
    if not isinstance(payload, dict):
        app.answer(
            conn,
            req,
            route,
            422,
            {"detail": "the body must be a JSON object", "code": "invalid_request"},
        )
        return None
    return payload


def _method(app: App, conn: HttpConnection, req: Request, route: str, *allowed: bytes) -> bool:
    if req.method in allowed:
        return True
    app.answer(
        conn,
        req,
        route,
        405,
        {"detail": f"use {' or '.join(m.decode() for m in allowed)}", "code": "method_not_allowed"},
    )
    return False


def _admin(app: App, conn: HttpConnection, req: Request, route: str, *allowed: bytes) -> bool:
    """True when the method is one of ``allowed`` (any, when none is named) and the caller
    is an admin; otherwise the 405, 401 or 403 is answered and the handler must return."""
    if allowed and not _method(app, conn, req, route, *allowed):
        return False
    return app.authenticate(conn, req, route, admin=True) is not None


def _auth_post(
    app: App,
    conn: HttpConnection,
    req: Request,
    route: str,
    status: int,
    action: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    """A POST whose JSON body goes to the auth store; its AuthError becomes the answer."""
    if not _method(app, conn, req, route, b"POST"):
        return
    body = _body(app, conn, req, route)
    if body is None:
        return
    try:
        answer = action(body)
    except AuthError as exc:
        app.answer(conn, req, route, exc.status, {"detail": exc.detail, "code": exc.code})
        return
    app.answer(conn, req, route, status, answer)


def register_user(app: App, conn: HttpConnection, req: Request) -> None:
    _auth_post(
        app,
        conn,
        req,
        "/api/auth/register",
        201,
        lambda body: app.auth.register(
            body.get("email"), body.get("password"), body.get("name")
        ).public(),
    )


def login(app: App, conn: HttpConnection, req: Request) -> None:
    _auth_post(
        app,
        conn,
        req,
        "/api/auth/login",
        200,
        lambda body: app.auth.login(body.get("email"), body.get("password")).body(),
    )


def refresh(app: App, conn: HttpConnection, req: Request) -> None:
    _auth_post(
        app,
        conn,
        req,
        "/api/auth/refresh",
        200,
        lambda body: app.auth.refresh(body.get("refresh_token")).body(),
    )


def logout(app: App, conn: HttpConnection, req: Request) -> None:
    route = "/api/auth/logout"
    if not _method(app, conn, req, route, b"POST"):
        return
    if app.authenticate(conn, req, route) is None:
        return
    try:
        body = req.json()
    except ValueError:
        body = {}
    refresh_token = body.get("refresh_token") if isinstance(body, dict) else None
    app.auth.logout(req.bearer() or "", refresh_token)
    app.answer(conn, req, route, 200, {"detail": "logged out"})


def me(app: App, conn: HttpConnection, req: Request) -> None:
    route = "/api/auth/me"
    user = app.authenticate(conn, req, route)
    if user is not None:
        app.answer(conn, req, route, 200, user.public())


def health(app: App, conn: HttpConnection, req: Request) -> None:
    app.answer(conn, req, "/health", 200, {"status": "ok"})


def health_detailed(app: App, conn: HttpConnection, req: Request) -> None:
    ok = {"status": "ok"}
    app.answer(
        conn,
        req,
        "/health/detailed",
        200,
        {
            "status": "ok",
            "uptime_seconds": time.monotonic() - app.started,
            "components": {"database": ok, "cache": ok, "vector_store": ok, "llm": ok},
            "active_streams": app.slots.active,
            "queue_depth": len(app.slots.queue),
            "slots": app.slots.slots,
            "connections": len(app.connections),
        },
    )


def metrics(app: App, conn: HttpConnection, req: Request) -> None:
    slots = app.slots
    text = app.metrics.render(app.gauges()) + app.vllm.render(
        slots.active, len(slots.queue), slots.slots
    )
    app.answer(
        conn,
        req,
        "/metrics",
        200,
        None,
        body=text.encode(),
        content_type=b"text/plain; version=0.0.4; charset=utf-8",
    )


def documents(app: App, conn: HttpConnection, req: Request) -> None:
    route = "/api/admin/kb/documents"
    if not _admin(app, conn, req, route, b"GET", b"POST"):
        return
    if req.method == b"GET":
        items = [d.public() for d in app.documents.items.values()]
        app.answer(conn, req, route, 200, {"documents": items, "total": len(items)})
        return
    try:
        parts = parse_multipart(req.body, boundary_of(req.header(b"content-type") or ""))
        upload = next(p for p in parts if p.name == "file")
    except StopIteration:
        app.answer(
            conn,
            req,
            route,
            422,
            {"detail": "no 'file' field in the upload", "code": "invalid_request"},
        )
        return
    except ValueError as exc:
        app.answer(conn, req, route, 422, {"detail": str(exc), "code": "invalid_request"})
        return
    fields = {p.name: p.data.decode("utf-8", "replace") for p in parts if p.filename is None}
    filename = upload.filename or "upload.bin"
    doc = app.documents.add(
        filename, fields.get("title") or filename, upload.content_type, upload.data
    )
    app.answer(conn, req, route, 201, doc.public())


def document(app: App, conn: HttpConnection, req: Request) -> None:
    route = "/api/admin/kb/documents/{id}"
    if not _admin(app, conn, req, route, b"GET", b"DELETE"):
        return
    doc_id = req.path.rsplit(b"/", 1)[1].decode("utf-8", "replace")
    doc = app.documents.items.get(doc_id)
    if doc is None:
        app.answer(conn, req, route, 404, {"detail": "document not found", "code": "not_found"})
    elif req.method == b"GET":
        app.answer(conn, req, route, 200, doc.public())
    else:
        del app.documents.items[doc_id]
        app.answer(conn, req, route, 200, {"id": doc_id, "deleted": True})


def dashboard(app: App, conn: HttpConnection, req: Request) -> None:
    route = "/api/admin/dashboard"
    if not _admin(app, conn, req, route):
        return
    requests = sum(app.metrics.requests.values())
    app.answer(
        conn,
        req,
        route,
        200,
        {
            "users": len(app.auth.users),
            "conversations": len(app.conversations.items),
            "documents": len(app.documents.items),
            "requests": requests,
            "tokens": app.metrics.tokens,
            "active_streams": app.slots.active,
            "queue_depth": len(app.slots.queue),
            "faults": dict(app.metrics.faults),
        },
    )


def cache_stats(app: App, conn: HttpConnection, req: Request) -> None:
    route = "/api/admin/cache/stats"
    if _admin(app, conn, req, route):
        app.answer(conn, req, route, 200, app.cache.stats())


def cache_clear(app: App, conn: HttpConnection, req: Request) -> None:
    route = "/api/admin/cache/clear"
    if _admin(app, conn, req, route, b"POST", b"DELETE"):
        app.answer(conn, req, route, 200, {"cleared": app.cache.clear()})


def feature_flags(app: App, conn: HttpConnection, req: Request) -> None:
    route = "/api/admin/feature-flags"
    if not _admin(app, conn, req, route, b"GET", b"POST"):
        return
    if req.method == b"GET":
        flags = list(app.flags.items.values())
        app.answer(conn, req, route, 200, {"flags": flags, "total": len(flags)})
        return
    body = _body(app, conn, req, route)
    if body is None:
        return
    name = body.get("name") or body.get("id")
    if not isinstance(name, str) or not name:
        app.answer(conn, req, route, 422, {"detail": "name is required", "code": "invalid_request"})
        return
    flag = {
        "id": name,
        "name": name,
        "enabled": bool(body.get("enabled", False)),
        "description": str(body.get("description", "")),
    }
    app.flags.items[name] = flag
    app.answer(conn, req, route, 201, flag)


def feature_flag(app: App, conn: HttpConnection, req: Request) -> None:
    route = "/api/admin/feature-flags/{id}"
    if not _admin(app, conn, req, route, b"GET", b"PUT", b"PATCH", b"DELETE"):
        return
    flag_id = req.path.rsplit(b"/", 1)[1].decode("utf-8", "replace")
    if flag_id not in app.flags.items:
        app.answer(conn, req, route, 404, {"detail": "flag not found", "code": "not_found"})
        return
    if req.method == b"GET":
        app.answer(conn, req, route, 200, app.flags.items[flag_id])
    elif req.method == b"DELETE":
        del app.flags.items[flag_id]
        app.answer(conn, req, route, 200, {"id": flag_id, "deleted": True})
    else:
        body = _body(app, conn, req, route)
        if body is not None:
            app.answer(conn, req, route, 200, app.flags.update(flag_id, body))


def register(app: App) -> None:
    for path, handler in (
        ("/api/auth/register", register_user),
        ("/api/auth/login", login),
        ("/api/auth/refresh", refresh),
        ("/api/auth/logout", logout),
        ("/api/auth/me", me),
        ("/health", health),
        ("/health/detailed", health_detailed),
        ("/metrics", metrics),
        ("/api/admin/kb/documents", documents),
        ("/api/admin/kb/documents/{id}", document),
        ("/api/admin/dashboard", dashboard),
        ("/api/admin/cache/stats", cache_stats),
        ("/api/admin/cache/clear", cache_clear),
        ("/api/admin/feature-flags", feature_flags),
        ("/api/admin/feature-flags/{id}", feature_flag),
    ):
        app.route(path, handler)
