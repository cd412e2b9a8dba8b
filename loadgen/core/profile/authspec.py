"""Validation of ``auth:`` sections (profile-wide or per user class)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from loadgen.core import units
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.model import AuthSpec, HttpTask
from loadgen.core.profile.source import Path_

__all__ = ["AUTH_KINDS", "AuthSection"]

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


class AuthSection:
    """``auth:`` sections, read into ``check``; ``request`` reads a login or logout request
    (the task sections' HTTP task reader)."""

    def __init__(self, check: Checker, request: Callable[[Any, Path_], HttpTask]) -> None:
        self.check = check
        self.http = request

    def auth_spec(self, value: Any, path: Path_) -> AuthSpec | None:
        if value is None:
            return AuthSpec()
        if not isinstance(value, Mapping) or "kind" not in value:
            self.check.bad(path, "expected a mapping with kind", f"kinds: {', '.join(AUTH_KINDS)}")
            return None
        kind = str(value["kind"])
        if kind not in AUTH_KINDS:
            self.check.bad(
                (*path, "kind"),
                f"unknown auth kind {kind!r}",
                f"use one of {', '.join(AUTH_KINDS)}",
            )
            return None
        if kind in ("cognito", "sigv4"):
            extra = {k: v for k, v in value.items() if k != "kind"}
            self._aws(kind, extra, path)
            return AuthSpec(kind=cast(Any, kind), extra=extra)
        a = self.check.mapping(value, path, (*_COMMON, *_KEYS[kind]))
        if kind in ("bearer", "api_key"):
            token = self.check.typed(a.get("token"), (*path, "token"), str, "")
            if not token:
                self.check.bad(
                    (*path, "token"),
                    "missing token",
                    "write token: ${API_TOKEN} and export API_TOKEN",
                )
            header = a.get("header", "authorization" if kind == "bearer" else "x-api-key")
            query = self.check.typed(a.get("query"), (*path, "query"), str, None)
            return AuthSpec(
                kind=cast(Any, kind),
                token=token,
                header=str(header).lower(),
                scheme=self.check.typed(
                    a.get("scheme"), (*path, "scheme"), str, "Bearer" if kind == "bearer" else ""
                ),
                query=query,
            )
        if kind == "none":
            return AuthSpec()
        if "login" not in a:
            self.check.bad(
                path,
                "missing login request",
                'write login: {path: /api/auth/login, json: {email: "{{ email }}", '
                'password: "{{ password }}"}}',
            )
            return None
        return AuthSpec(
            kind="login",
            login=self._request(a["login"], (*path, "login")),
            token_path=self.check.typed(
                a.get("token_path"), (*path, "token_path"), str, "access_token"
            ),
            refresh_token_path=self.check.typed(
                a.get("refresh_token_path"), (*path, "refresh_token_path"), str, "refresh_token"
            ),
            expires_in_path=self.check.typed(
                a.get("expires_in_path"), (*path, "expires_in_path"), str, "expires_in"
            ),
            refresh=self._request(a["refresh"], (*path, "refresh")) if "refresh" in a else None,
            logout=self._request(a["logout"], (*path, "logout")) if "logout" in a else None,
            refresh_before=self.check.unit(
                a.get("refresh_before"), (*path, "refresh_before"), units.parse_duration, 30.0
            ),
            backoff=self.check.unit(
                a.get("backoff"), (*path, "backoff"), units.parse_duration, 1.0
            ),
            header=str(a.get("header", "authorization")).lower(),
            scheme=self.check.typed(a.get("scheme"), (*path, "scheme"), str, "Bearer"),
        )

    def _request(self, value: Any, path: Path_) -> HttpTask:
        task = self.http(value, path)
        method = task.method if isinstance(value, Mapping) and "method" in value else "POST"
        from dataclasses import replace

        return replace(task, method=method, auth=False)

    def _aws(self, kind: str, extra: dict[str, Any], path: Path_) -> None:
        """Cognito and SigV4 sections are validated by loadgen.core.aws.config (pure, no boto)."""
        from loadgen.core.aws.config import parse_cognito, parse_sigv4

        def problem(suffix: tuple[str | int, ...], what: str, fix: str = "") -> None:
            self.check.bad((*path, *suffix), what, fix)

        (parse_cognito if kind == "cognito" else parse_sigv4)(extra, problem)
