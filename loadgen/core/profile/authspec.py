"""Validation of ``auth:`` sections (profile-wide or per user class)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from loadgen.core import units
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.httpspec import http
from loadgen.core.profile.model import AuthSpec, HttpTask
from loadgen.core.profile.source import Path_

__all__ = ["AUTH_KINDS", "auth_spec"]

AUTH_KINDS = ("none", "bearer", "api_key", "login", "cognito", "sigv4")
_COMMON = ("kind",)
_KEYS = {
    "none": (),
    "bearer": ("token", "header", "scheme"),
    "api_key": ("token", "header", "query"),
    "login": (
        "login",
        "token_path",
        "refresh_token_path",
        "expires_in_path",
        "refresh",
        "logout",
        "refresh_before",
        "backoff",
        "header",
        "scheme",
    ),
}


def auth_spec(check: Checker, value: Any, path: Path_) -> AuthSpec | None:
    if value is None:
        return AuthSpec()
    if not isinstance(value, Mapping) or "kind" not in value:
        check.bad(path, "expected a mapping with kind", f"kinds: {', '.join(AUTH_KINDS)}")
        return None
    kind = str(value["kind"])
    if kind not in AUTH_KINDS:
        check.bad(
            (*path, "kind"),
            f"unknown auth kind {kind!r}",
            f"use one of {', '.join(AUTH_KINDS)}",
        )
        return None
    if kind in ("cognito", "sigv4"):
        extra = {k: v for k, v in value.items() if k != "kind"}
        _aws(check, kind, extra, path)
        return AuthSpec(kind=cast(Any, kind), extra=extra)
    a = check.mapping(value, path, (*_COMMON, *_KEYS[kind]))
    if kind in ("bearer", "api_key"):
        return _token(check, kind, a, path)
    if kind == "none":
        return AuthSpec()
    return _login(check, a, path)


def _token(check: Checker, kind: str, a: Mapping[str, Any], path: Path_) -> AuthSpec:
    """``bearer`` and ``api_key``: a fixed token in a header (or an API key's query)."""
    token = check.typed(a.get("token"), (*path, "token"), str, "")
    if not token:
        check.bad(
            (*path, "token"), "missing token", "write token: ${API_TOKEN} and export API_TOKEN"
        )
    header = a.get("header", "authorization" if kind == "bearer" else "x-api-key")
    query = check.typed(a.get("query"), (*path, "query"), str, None)
    return AuthSpec(
        kind=cast(Any, kind),
        token=token,
        header=str(header).lower(),
        scheme=check.typed(
            a.get("scheme"), (*path, "scheme"), str, "Bearer" if kind == "bearer" else ""
        ),
        query=query,
    )


def _login(check: Checker, a: Mapping[str, Any], path: Path_) -> AuthSpec | None:
    """``login``: a request whose response holds the token, with optional refresh and logout."""
    if "login" not in a:
        check.bad(
            path,
            "missing login request",
            'write login: {path: /api/auth/login, json: {email: "{{ email }}", '
            'password: "{{ password }}"}}',
        )
        return None

    def text(key: str, default: str) -> Any:
        return check.typed(a.get(key), (*path, key), str, default)

    def request(key: str) -> HttpTask | None:
        return _request(check, a[key], (*path, key)) if key in a else None

    def seconds(key: str, default: float) -> float:
        return check.unit(a.get(key), (*path, key), units.parse_duration, default)

    return AuthSpec(
        kind="login",
        login=request("login"),
        token_path=text("token_path", "access_token"),
        refresh_token_path=text("refresh_token_path", "refresh_token"),
        expires_in_path=text("expires_in_path", "expires_in"),
        refresh=request("refresh"),
        logout=request("logout"),
        refresh_before=seconds("refresh_before", 30.0),
        backoff=seconds("backoff", 1.0),
        header=str(a.get("header", "authorization")).lower(),
        scheme=text("scheme", "Bearer"),
    )


def _request(check: Checker, value: Any, path: Path_) -> HttpTask:
    """A login, refresh or logout request: POST unless it says otherwise, never authorised
    with the token it fetches."""
    task = http(check, value, path)
    method = task.method if isinstance(value, Mapping) and "method" in value else "POST"
    return replace(task, method=method, auth=False)


def _aws(check: Checker, kind: str, extra: dict[str, Any], path: Path_) -> None:
    """Cognito and SigV4 sections are validated by loadgen.core.aws.config (pure, no boto)."""
    from loadgen.core.aws.config import parse_cognito, parse_sigv4

    def problem(suffix: tuple[str | int, ...], what: str, fix: str = "") -> None:
        check.bad((*path, *suffix), what, fix)

    (parse_cognito if kind == "cognito" else parse_sigv4)(extra, problem)
