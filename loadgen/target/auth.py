"""Accounts and tokens of the chatbot API, in memory, with an injected clock.

Pure: ``clock`` is passed in (the server gives ``time.monotonic``; tests a fake), so
expiry is tested without sleeping. Tokens are opaque random strings; an access token
lives ``token_ttl`` seconds, a refresh token ``refresh_ttl`` and is rotated on use.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loadgen.target.jwtauth import JwtVerifier


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("ey")


__all__ = ["AuthError", "AuthStore", "TokenPair", "User"]


class AuthError(Exception):
    """A refusal with the HTTP status to answer (401, 403, 409, 422) and a detail."""

    def __init__(self, status: int, detail: str, code: str = "") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or detail.replace(" ", "_")


@dataclass(slots=True)
class User:
    id: str
    email: str
    name: str
    role: str
    password_hash: bytes

    def public(self) -> dict[str, str]:
        return {"id": self.id, "email": self.email, "name": self.name, "role": self.role}


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: float

    def body(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
        }


def _hash(password: str) -> bytes:
    return hashlib.sha256(b"loadgen-target:" + password.encode()).digest()


class AuthStore:
    """Users, access tokens and refresh tokens."""

    _SWEEP_EVERY = 10_000

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        token_ttl: float,
        refresh_ttl: float,
        admin_email: str,
        admin_password: str,
        api_keys: Iterable[str] = (),
        jwt: JwtVerifier | None = None,
    ) -> None:
        self.clock = clock
        self.token_ttl = token_ttl
        self.refresh_ttl = refresh_ttl
        self.api_keys = frozenset(api_keys)
        self.users: dict[str, User] = {}
        self.by_id: dict[str, User] = {}
        self.access: dict[str, tuple[str, float]] = {}
        self.refresh_tokens: dict[str, tuple[str, float]] = {}
        self._issued = 0
        self.jwt = jwt
        self.jwt_users: dict[str, User] = {}
        self._add(admin_email, admin_password, "Admin", "admin")

    def _add(self, email: str, password: str, name: str, role: str) -> User:
        user = User(f"u{len(self.users) + 1}", email, name, role, _hash(password))
        self.users[email.lower()] = user
        self.by_id[user.id] = user
        return user

    def register(self, email: object, password: object, name: object = None) -> User:
        if not isinstance(email, str) or "@" not in email:
            raise AuthError(422, "email must be an address such as user@example.com")
        if not isinstance(password, str) or len(password) < 8:
            raise AuthError(422, "password must be a string of at least 8 characters")
        if email.lower() in self.users:
            raise AuthError(409, "email already registered")
        shown = name if isinstance(name, str) and name else email.split("@")[0]
        return self._add(email, password, shown, "user")

    def login(self, email: object, password: object) -> TokenPair:
        user = self.users.get(email.lower()) if isinstance(email, str) else None
        if user is None or not isinstance(password, str) or _hash(password) != user.password_hash:
            raise AuthError(401, "invalid email or password", "invalid_credentials")
        return self._issue(user)

    def _issue(self, user: User) -> TokenPair:
        self._issued += 1
        if self._issued % self._SWEEP_EVERY == 0:
            self.sweep()
        now = self.clock()
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(32)
        self.access[access] = (user.id, now + self.token_ttl)
        self.refresh_tokens[refresh] = (user.id, now + self.refresh_ttl)
        return TokenPair(access, refresh, self.token_ttl)

    def refresh(self, refresh_token: object) -> TokenPair:
        entry = (
            self.refresh_tokens.pop(refresh_token, None) if isinstance(refresh_token, str) else None
        )
        if entry is None or entry[1] <= self.clock():
            raise AuthError(401, "invalid or expired refresh token", "invalid_refresh_token")
        return self._issue(self.by_id[entry[0]])

    def authenticate(self, token: str | None) -> User:
        """The user of a valid access token; AuthError 401 if missing, unknown or expired."""
        if not token:
            raise AuthError(401, "missing bearer token", "not_authenticated")
        entry = self.access.get(token)
        if entry is None and self.jwt is not None and looks_like_jwt(token):
            return self._jwt_user(self.jwt.verify(token))
        if entry is None:
            raise AuthError(401, "invalid token", "invalid_token")
        if entry[1] <= self.clock():
            raise AuthError(401, "token expired", "token_expired")
        return self.by_id[entry[0]]

    def _jwt_user(self, claims: dict[str, object]) -> User:
        """A regular user per JWT subject, created on first sight (conversations need one)."""
        subject = str(claims.get("sub", ""))
        user = self.jwt_users.get(subject)
        if user is None:
            name = claims.get("cognito:username", claims.get("username", subject))
            user = self._add(f"{subject}@jwt.invalid", secrets.token_urlsafe(), str(name), "user")
            self.jwt_users[subject] = user
        return user

    def is_api_key(self, token: str | None) -> bool:
        return token is not None and token in self.api_keys

    def expire(self, token: str | None) -> None:
        """Make a token expire now (the ``expire_token`` fault)."""
        if token and token in self.access:
            self.access[token] = (self.access[token][0], self.clock())
        elif token and self.jwt is not None and looks_like_jwt(token):
            try:
                user = self.authenticate(token)
            except AuthError:
                return
            self.access[token] = (user.id, self.clock())  # now found, and expired

    def logout(self, token: str, refresh_token: object = None) -> None:
        self.access.pop(token, None)
        if isinstance(refresh_token, str):
            self.refresh_tokens.pop(refresh_token, None)

    def sweep(self) -> None:
        """Forget expired tokens so long runs do not grow memory without bound."""
        now = self.clock()
        self.access = {k: v for k, v in self.access.items() if v[1] > now}
        self.refresh_tokens = {k: v for k, v in self.refresh_tokens.items() if v[1] > now}
