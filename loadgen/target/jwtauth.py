"""Bearer JWTs verified against a JWKS (Cognito user pools, or any RS256 issuer).

With ``auth.jwks_url`` set, the target accepts a signed JWT wherever it accepts its own
access tokens: the signature is checked with the issuer's published keys (pyjwt), then the
issuer, expiry, and audience (``aud`` of an ID token or ``client_id`` of an access token).
The JWKS is fetched once at start-up, before the server listens (blocking there is harmless),
and again at most every ``refetch_every`` seconds when a token names an unknown key, so a
flood of bad tokens cannot turn into a flood of fetches.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from loadgen.target.auth import AuthError, looks_like_jwt
from loadgen.target.config import AuthConfig

__all__ = ["JwtVerifier", "jwt_verifier", "looks_like_jwt"]

Fetch = Callable[[str], bytes]


def jwt_verifier(config: AuthConfig) -> JwtVerifier | None:
    """The verifier the target's ``auth`` section asks for (None without ``jwks_url``)."""
    if not config.jwks_url:
        return None
    return JwtVerifier(jwks_url=config.jwks_url, issuer=config.issuer, audience=config.audience)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


class JwtVerifier:
    """Checks RS256 JWTs; ``verify`` returns the claims or raises ``AuthError(401)``."""

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str | None = None,
        audience: Iterable[str] = (),
        fetch: Fetch = _fetch,
        clock: Callable[[], float] = time.monotonic,
        refetch_every: float = 30.0,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = frozenset(audience)
        self._fetch = fetch
        self._clock = clock
        self._refetch_every = refetch_every
        self._keys: dict[str, Any] = {}
        self._fetched_at = -float("inf")
        self._load()

    def _load(self) -> None:
        import jwt

        self._fetched_at = self._clock()
        document = json.loads(self._fetch(self.jwks_url))
        keys = jwt.PyJWKSet.from_dict(document).keys
        self._keys = {key.key_id or "": key for key in keys}

    def _key(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is None and self._clock() - self._fetched_at >= self._refetch_every:
            try:
                self._load()
            except (OSError, ValueError):
                return None
            key = self._keys.get(kid)
        return key

    def verify(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError(401, "invalid token", "invalid_token") from None
        key = self._key(str(header.get("kid", "")))
        if key is None:
            raise AuthError(401, "token signed with an unknown key", "invalid_token")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"verify_aud": False, "require": ["exp", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "token expired", "token_expired") from None
        except jwt.PyJWTError:
            raise AuthError(401, "invalid token", "invalid_token") from None
        if self.audience:
            audience = claims.get("aud") or claims.get("client_id")
            names = {audience} if isinstance(audience, str) else set(audience or ())
            if not names & self.audience:
                raise AuthError(401, "token for another audience", "invalid_token")
        return claims
