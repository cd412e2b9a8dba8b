"""Cognito logins against moto's server, and the built-in target verifying the tokens."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import jwt
import pytest
from aws_helpers import PASSWORD, REGION, make_pool, run

from loadgen.core.aws.config import CognitoConfig, CognitoUser
from loadgen.core.errors import ErrorKind
from loadgen.core.sample import Sample
from loadgen.edge.auth.base import OutgoingRequest
from loadgen.edge.aws.cognito import CognitoAuthFactory, secret_hash
from loadgen.target import BuiltinTarget, TargetConfig


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def config(url: str, pool: str, client: str, **changes: object) -> CognitoConfig:
    users = tuple(CognitoUser(f"lt-{n}", PASSWORD) for n in (1, 2))
    base = CognitoConfig(
        region=REGION, user_pool_id=pool, client_id=client, users=users, endpoint_url=url
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def request() -> OutgoingRequest:
    return OutgoingRequest("GET", "http://127.0.0.1:1/api/auth/me?x=1")


def test_password_login_places_the_id_token_and_records_the_login(moto: str) -> None:
    """USER_PASSWORD_AUTH: the ID token goes into Authorization: Bearer; one login sample."""

    async def go() -> tuple[list[Sample], OutgoingRequest, bool]:
        pool, client, _ = await make_pool(moto)
        samples: list[Sample] = []
        factory = CognitoAuthFactory(config(moto, pool, client))
        auth = factory.for_vu(1, samples.append)
        await auth.start()
        req = request()
        await auth.prepare(req)
        ready = auth.ready
        await factory.aclose()
        return samples, req, ready

    samples, req, ready = run(go())
    assert ready
    assert [s.name for s in samples] == ["auth.cognito.login"]
    assert samples[0].ok
    assert samples[0].end is not None
    assert samples[0].end >= samples[0].t0
    scheme, token = req.headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["token_use"] == "id"
    assert claims["cognito:username"] == "lt-1"


def test_wrong_password_fails_without_leaking_and_backs_off_exponentially(moto: str) -> None:
    """A refused login is an auth sample without the password; retries wait 1, 2, 4, 4 s."""
    clock = FakeClock()

    async def go() -> tuple[list[Sample], bool]:
        pool, client, _ = await make_pool(moto)
        bad = (CognitoUser("lt-1", "not-the-password-123"),)
        cfg = config(moto, pool, client, users=bad, backoff_initial=1.0, backoff_max=4.0)
        samples: list[Sample] = []
        factory = CognitoAuthFactory(cfg, clock=clock, sleep=clock.sleep)
        auth = factory.for_vu(1, samples.append)
        for _ in range(5):
            await auth.start()
        req = request()
        await auth.prepare(req)  # still backing off: no login attempt, no header
        assert "Authorization" not in req.headers
        ready = auth.ready
        await factory.aclose()
        return samples, ready

    samples, ready = run(go())
    assert not ready
    assert len(samples) == 5
    assert all(s.error is ErrorKind.AUTH for s in samples)
    assert "NotAuthorizedException" in samples[0].message
    assert all("not-the-password" not in s.message for s in samples)
    assert clock.slept == [1.0, 2.0, 4.0, 4.0]


def test_tokens_are_refreshed_before_expiry_on_the_injected_clock(moto: str) -> None:
    """At expiry − refresh_before, prepare refreshes once (REFRESH_TOKEN_AUTH) and uses it."""
    clock = FakeClock()

    async def go() -> tuple[list[str], str, str]:
        pool, client, _ = await make_pool(moto)
        samples: list[Sample] = []
        cfg = config(moto, pool, client, refresh_before=300.0)
        factory = CognitoAuthFactory(cfg, clock=clock, sleep=clock.sleep)
        auth = factory.for_vu(1, samples.append)
        await auth.start()
        first, later = request(), request()
        await auth.prepare(first)
        clock.now += 3600 - 300 - 1  # not yet due
        await auth.prepare(request())
        clock.now += 2  # due: moto's tokens last 3600 s
        await auth.prepare(later)
        await auth.prepare(request())
        await factory.aclose()
        assert all(s.ok for s in samples)
        return (
            [s.name for s in samples],
            first.headers["Authorization"],
            later.headers["Authorization"],
        )

    names, first, later = run(go())
    assert names == ["auth.cognito.login", "auth.cognito.refresh"]
    assert first != later


def test_shared_users_log_in_once_per_user_and_per_vu_once_per_vu(moto: str) -> None:
    """share: shared → 2 logins for 4 VUs of 2 users; per_vu → 4 logins."""

    async def logins(share: str) -> tuple[int, int]:
        pool, client, _ = await make_pool(moto)
        samples: list[Sample] = []
        factory = CognitoAuthFactory(config(moto, pool, client, share=share))
        auths = [factory.for_vu(vu, samples.append) for vu in range(1, 5)]
        await asyncio.gather(*(a.start() for a in auths))
        await factory.aclose()
        return len(samples), factory.active_users

    assert run(logins("shared")) == (2, 2)
    assert run(logins("per_vu")) == (4, 2)


def test_srp_login_and_client_secret_hash(moto: str) -> None:
    """flow: srp answers PASSWORD_VERIFIER; a client with a secret gets SECRET_HASH."""

    async def go() -> list[Sample]:
        pool, client, secret = await make_pool(moto, secret=True)
        assert secret
        samples: list[Sample] = []
        cfg = config(moto, pool, client, flow="srp", client_secret=secret, token="access")
        factory = CognitoAuthFactory(cfg)
        auth = factory.for_vu(2, samples.append)
        await auth.start()
        req = request()
        await auth.prepare(req)
        claims = jwt.decode(req.headers["Authorization"][7:], options={"verify_signature": False})
        assert claims["token_use"] == "access"
        assert claims["username"] == "lt-2"
        await factory.aclose()
        return samples

    samples = run(go())
    assert [s.ok for s in samples] == [True]


def test_secret_hash_matches_the_documented_example() -> None:
    """Base64(HMAC-SHA256(secret, username + client_id)) for a fixed example."""
    assert secret_hash("alice", "client123", "s3cret") == (
        "niZNW/ZQghRxFdJYi0VOaDK45OiGfd7izxt7n+eqSJM="
    )


def test_token_in_a_query_parameter_for_websockets(moto: str) -> None:
    """query: token replaces a token parameter in the URL and keeps the others."""

    async def go() -> str:
        pool, client, _ = await make_pool(moto)
        factory = CognitoAuthFactory(config(moto, pool, client, query="token"))
        auth = factory.for_vu(1, lambda s: None)
        await auth.start()
        req = OutgoingRequest("GET", "ws://127.0.0.1:1/api/realtime/ws?a=1&token=old")
        await auth.prepare(req)
        await factory.aclose()
        return req.url

    url = run(go())
    assert url.startswith("ws://127.0.0.1:1/api/realtime/ws?a=1&token=ey")
    assert "old" not in url


def test_a_401_refreshes_once_for_all_vus_sharing_the_user(moto: str) -> None:
    """unauthorized(): the first VU refreshes; the second sees the newer token and retries."""

    async def go() -> tuple[list[str], bool, bool]:
        pool, client, _ = await make_pool(moto)
        samples: list[Sample] = []
        factory = CognitoAuthFactory(config(moto, pool, client, share="shared"))
        a, b = factory.for_vu(1, samples.append), factory.for_vu(3, samples.append)
        await a.start()
        await a.prepare(request())
        await b.prepare(request())
        first, second = await asyncio.gather(a.unauthorized(), b.unauthorized())
        await factory.aclose()
        return [s.name for s in samples], first, second

    names, first, second = run(go())
    assert names == ["auth.cognito.login", "auth.cognito.refresh"]
    assert first
    assert second


@pytest.fixture
def cognito_target(moto: str) -> tuple[BuiltinTarget, CognitoConfig]:
    pool, client, _ = run(make_pool(moto))
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool}"
    cfg = TargetConfig.from_mapping(
        {
            "timing": {"ttft": "5ms", "itl": "1ms", "output_tokens": 3},
            "auth": {
                "jwks_url": f"{moto}/{pool}/.well-known/jwks.json",
                "issuer": issuer,
                "audience": [client],
            },
        }
    )
    return BuiltinTarget(cfg), config(moto, pool, client)


def test_the_builtin_target_accepts_cognito_tokens_through_a_run_with_refresh(
    cognito_target: tuple[BuiltinTarget, CognitoConfig],
) -> None:
    """VUs log in, chat with the target using their ID tokens, refresh midway, all 200."""
    target, cfg = cognito_target
    clock = FakeClock()

    async def go() -> tuple[list[int], list[str], int]:
        samples: list[Sample] = []
        factory = CognitoAuthFactory(cfg, clock=clock, sleep=clock.sleep)
        auths = [factory.for_vu(vu, samples.append) for vu in (1, 2)]
        statuses = []
        async with target, httpx.AsyncClient(timeout=10) as http:
            await asyncio.gather(*(a.start() for a in auths))
            for step in range(4):
                if step == 2:
                    clock.now += 3500  # inside refresh_before: the next prepare refreshes
                for auth in auths:
                    req = OutgoingRequest("GET", f"{target.url}/api/auth/me")
                    await auth.prepare(req)
                    got = await http.get(req.url, headers=req.headers)
                    statuses.append(got.status_code)
            bad = await http.get(
                f"{target.url}/api/auth/me", headers={"Authorization": "Bearer ey.x.y"}
            )
        await factory.aclose()
        return statuses, [s.name for s in samples], bad.status_code

    statuses, names, bad = run(go())
    assert statuses == [200] * 8
    assert sorted(names) == ["auth.cognito.login"] * 2 + ["auth.cognito.refresh"] * 2
    assert bad == 401
