"""The built-in target's JWT check (loadgen.target.jwtauth) with a key made in the test."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from loadgen.target.auth import AuthError, AuthStore
from loadgen.target.jwtauth import JwtVerifier

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test"


def jwks(kid: str = "k1") -> bytes:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    return json.dumps({"keys": [{**public, "kid": kid, "alg": "RS256", "use": "sig"}]}).encode()


def token(key: Any = KEY, kid: str = "k1", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "abc", "aud": "client-1", "token_use": "id", "iat": now,
            "exp": now + 3600, "cognito:username": "lt-1", **claims}  # fmt: skip
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


class Fetcher:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, url: str) -> bytes:
        self.calls += 1
        return jwks()


def verifier(fetch: Fetcher | None = None, clock: Any = time.monotonic) -> JwtVerifier:
    return JwtVerifier(
        jwks_url="http://127.0.0.1:1/jwks.json",
        issuer=ISSUER,
        audience=("client-1",),
        fetch=fetch or Fetcher(),
        clock=clock,
    )


@pytest.mark.parametrize(
    ("make", "code"),
    [
        pytest.param(lambda: token(exp=int(time.time()) - 10), "token_expired", id="expired"),
        pytest.param(lambda: token(iss="https://evil"), "invalid_token", id="another issuer"),
        pytest.param(lambda: token(aud="client-2"), "invalid_token", id="another audience"),
        pytest.param(lambda: token(key=OTHER), "invalid_token", id="signed by another key"),
        pytest.param(lambda: "ey.not.jwt", "invalid_token", id="garbage"),
    ],
)
def test_bad_tokens_are_401(make: Any, code: str) -> None:
    """Each way a token can be wrong gives 401 with the target's usual codes."""
    with pytest.raises(AuthError) as info:
        verifier().verify(make())
    assert (info.value.status, info.value.code) == (401, code)


def test_id_and_access_tokens_are_accepted() -> None:
    """An ID token's aud or an access token's client_id must name the app client."""
    check = verifier()
    assert check.verify(token())["sub"] == "abc"
    access = token(aud=None, client_id="client-1", token_use="access")
    assert check.verify(access)["token_use"] == "access"


def test_unknown_kids_refetch_at_most_every_30_seconds() -> None:
    """A flood of tokens with unknown keys costs one JWKS fetch per 30 s, not one each."""
    now = [0.0]
    fetch = Fetcher()
    check = verifier(fetch, clock=lambda: now[0])
    now[0] = 31.0
    for _ in range(5):
        with pytest.raises(AuthError):
            check.verify(token(kid="rotated"))
    assert fetch.calls == 2  # start-up + one refetch


def test_auth_store_maps_a_jwt_subject_to_one_regular_user_and_can_expire_it() -> None:
    """The store accepts the JWT, keeps one user per sub, and the expire fault still works."""
    clock = [100.0]
    store = AuthStore(
        lambda: clock[0],
        token_ttl=900,
        refresh_ttl=3600,
        admin_email="a@example.com",
        admin_password="admin-password",
        jwt=verifier(),
    )
    good = token()
    first, again = store.authenticate(good), store.authenticate(token())
    assert first is again
    assert first.role == "user"
    assert first.name == "lt-1"
    store.expire(good)
    with pytest.raises(AuthError, match="expired"):
        store.authenticate(good)
