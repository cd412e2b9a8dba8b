"""``auth.kind: cognito``: VUs log in to a Cognito user pool the way the app does.

Each login and refresh is a measured request (``auth.cognito.login`` / ``.refresh``) recorded
as a Sample, so its latency and failures show in the stats. A failed login backs off
exponentially (capped) before the next try: a load test must never hammer Cognito's quota.
Tokens are refreshed with ``REFRESH_TOKEN_AUTH`` ``refresh_before`` their expiry, measured on
the injected ``clock`` (moto always issues 3600 s tokens, so tests move the clock instead).
With ``share: shared`` VUs of the same user share one session and one refresh.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from loadgen.core.aws.config import CognitoConfig, CognitoUser
from loadgen.core.aws.srp import SrpError, SrpSession, password_claim
from loadgen.core.errors import ErrorKind
from loadgen.core.sample import Sample
from loadgen.edge.auth.base import OutgoingRequest, Record
from loadgen.edge.aws.clients import AwsClients
from loadgen.edge.aws.errors import aws_error_code, classify_aws

__all__ = ["CognitoAuthFactory", "CognitoVUAuth", "secret_hash"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
_REFRESH_GONE = frozenset({"NotAuthorizedException"})  # refresh token expired or revoked


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    """``SECRET_HASH`` = Base64(HMAC-SHA256(secret, username + client_id))."""
    mac = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class _LoginFailed(Exception):
    """A failure already classified (an unsupported challenge, a bad SRP answer)."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Session:
    """The tokens of one user; ``generation`` grows with every new token."""

    def __init__(self, factory: CognitoAuthFactory, user: CognitoUser) -> None:
        self.factory = factory
        self.user = user
        self.token: str | None = None
        self.refresh_token: str | None = None
        self.secret_name = user.username  # SRP logins hash the USER_ID_FOR_SRP instead
        self.expires_at = 0.0
        self.generation = 0
        self.failures = 0
        self.retry_at = 0.0
        self.lock = asyncio.Lock()

    def valid(self) -> bool:
        return self.token is not None and self.factory.clock() < self.expires_at

    def due(self) -> bool:
        return self.factory.clock() >= self.expires_at - self.factory.config.refresh_before

    async def login(self, record: Record, *, wait: bool, stale: int | None = None) -> None:
        """Log in unless a fresher token exists; with ``wait`` sleep out the backoff first."""
        async with self.lock:
            if self._current(stale):
                return
            clock = self.factory.clock
            if clock() < self.retry_at:
                if not wait:
                    return
                await self.factory.sleep(self.retry_at - clock())
            await self._measured("auth.cognito.login", self._login, record)

    async def refresh(self, record: Record, *, stale: int | None = None) -> None:
        """Refresh (or log in again when the refresh token is gone)."""
        async with self.lock:
            if self._current(stale) and not (stale is None and self.due()):
                return
            if self.factory.clock() < self.retry_at:
                return
            if self.refresh_token is None:
                await self._measured("auth.cognito.login", self._login, record)
                return
            gone = await self._measured("auth.cognito.refresh", self._refresh, record)
            if gone:
                self.token = self.refresh_token = None
                self.retry_at = 0.0
                await self._measured("auth.cognito.login", self._login, record)

    def _current(self, stale: int | None) -> bool:
        """True when a token newer than the one that failed (``stale``) is already held."""
        if stale is None:
            return self.valid() and not self.due()
        return self.generation > stale and self.valid()

    async def _measured(
        self, name: str, action: Callable[[], Awaitable[None]], record: Record
    ) -> bool:
        """Run one login/refresh as a recorded Sample; True when the refresh token is gone."""
        clock = self.factory.clock
        start = clock()
        sample = Sample(name=name, user_class="", t0=start, send=start)
        gone = False
        try:
            await action()
            self.failures = 0
            sample.status = 200
        except asyncio.CancelledError:
            sample.interrupted = True
            raise
        except _LoginFailed as exc:
            sample.error, sample.message = exc.kind, str(exc)
        except Exception as exc:  # every AWS failure becomes a sample, never a crash
            sample.error, sample.message = classify_aws(exc, name)
            gone = name.endswith("refresh") and aws_error_code(exc) in _REFRESH_GONE
        finally:
            sample.end = clock()
            record(sample)
        if sample.error is not None and not gone:
            self.failures += 1
            config = self.factory.config
            delay = min(config.backoff_max, config.backoff_initial * 2 ** (self.failures - 1))
            self.retry_at = clock() + delay
        return gone

    def _params(self, name: str, **extra: str) -> dict[str, str]:
        config = self.factory.config
        params = dict(extra)
        if config.client_secret:
            params["SECRET_HASH"] = secret_hash(name, config.client_id, config.client_secret)
        return params

    async def _login(self) -> None:
        config = self.factory.config
        client = await self.factory.client()
        user = self.user
        if config.flow == "password":
            params = self._params(user.username, USERNAME=user.username, PASSWORD=user.password)
            answer = await client.initiate_auth(
                ClientId=config.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params
            )
        else:
            answer = await self._srp(client)
        self._store(answer, refreshed=False)
        self.factory.note_login(user.username)

    async def _srp(self, client: Any) -> Any:
        config, user = self.factory.config, self.user
        loop = asyncio.get_running_loop()
        session = await loop.run_in_executor(None, SrpSession.new)  # ~55 ms CPU: off the loop
        params = self._params(user.username, USERNAME=user.username, SRP_A=session.srp_a)
        challenge = await client.initiate_auth(
            ClientId=config.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=params
        )
        if challenge.get("ChallengeName") != "PASSWORD_VERIFIER":
            return challenge
        values = challenge["ChallengeParameters"]
        user_id = values["USER_ID_FOR_SRP"]

        def claim() -> dict[str, str]:
            return password_claim(
                session,
                pool_id=config.user_pool_id,
                user_id=user_id,
                password=user.password,
                salt_hex=values["SALT"],
                srp_b_hex=values["SRP_B"],
                secret_block=values["SECRET_BLOCK"],
            )

        try:
            answer = await loop.run_in_executor(None, claim)
        except (SrpError, KeyError, ValueError) as exc:
            raise _LoginFailed(ErrorKind.PROTOCOL, f"auth.cognito.login: {exc}") from None
        # The claim hashes USER_ID_FOR_SRP; USERNAME is the challenge's own (Cognito sends both,
        # usually equal; moto puts the sub in USER_ID_FOR_SRP and looks users up by USERNAME).
        name = values.get("USERNAME") or user_id
        self.secret_name = name
        request: dict[str, Any] = {
            "ClientId": config.client_id,
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeResponses": self._params(name, USERNAME=name, **answer),
        }
        if challenge.get("Session"):
            request["Session"] = challenge["Session"]
        return await client.respond_to_auth_challenge(**request)

    async def _refresh(self) -> None:
        config = self.factory.config
        client = await self.factory.client()
        assert self.refresh_token is not None
        params = self._params(self.secret_name, REFRESH_TOKEN=self.refresh_token)
        if config.client_secret:
            params["USERNAME"] = self.secret_name
        answer = await client.initiate_auth(
            ClientId=config.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters=params
        )
        self._store(answer, refreshed=True)

    def _store(self, answer: Any, *, refreshed: bool) -> None:
        result = answer.get("AuthenticationResult")
        if not result:
            challenge = answer.get("ChallengeName", "unknown")
            raise _LoginFailed(
                ErrorKind.AUTH,
                f"auth.cognito.login: challenge {challenge} is not supported; give test users a"
                " permanent password (admin-set-user-password --permanent) and no MFA",
            )
        key = "IdToken" if self.factory.config.token == "id" else "AccessToken"
        if key not in result:
            raise _LoginFailed(ErrorKind.PROTOCOL, f"auth.cognito: answer without {key}")
        self.token = result[key]
        if not refreshed or result.get("RefreshToken"):
            self.refresh_token = result.get("RefreshToken", self.refresh_token)
        self.expires_at = self.factory.clock() + float(result.get("ExpiresIn", 3600))
        self.generation += 1


class CognitoVUAuth:
    """One VU's view of its (possibly shared) session."""

    def __init__(self, session: _Session, record: Record) -> None:
        self._session = session
        self._record = record
        self._used = 0  # generation of the token last put on a request

    async def start(self) -> None:
        await self._session.login(self._record, wait=True)

    @property
    def ready(self) -> bool:
        return self._session.valid()

    @property
    def retry_in(self) -> float:
        """Seconds until the next login attempt is allowed (0 when it may go now)."""
        return max(0.0, self._session.retry_at - self._session.factory.clock())

    async def prepare(self, request: OutgoingRequest) -> None:
        session = self._session
        if session.token is None:
            await session.login(self._record, wait=False)
        elif session.due():
            await session.refresh(self._record)
        token = session.token
        if token is None:
            return
        self._used = session.generation
        config = session.factory.config
        if config.query:
            request.url = _with_query(request.url, config.query, token)
        else:
            request.headers[config.header] = f"{config.scheme} {token}" if config.scheme else token

    async def unauthorized(self) -> bool:
        await self._session.refresh(self._record, stale=self._used)
        return self._session.generation > self._used and self._session.valid()

    async def stop(self) -> None:
        return None


def _with_query(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit(parts._replace(query=urlencode([*query, (name, value)])))


class CognitoAuthFactory:
    """Sessions for every VU: VU ``i`` uses user ``(i - 1) % len(users)``.

    ``per_vu`` gives each VU its own session (its own login, as separate devices would);
    ``shared`` gives all VUs of one user a single session.
    """

    def __init__(
        self,
        config: CognitoConfig,
        *,
        clock: Clock = time.monotonic,
        clients: AwsClients | None = None,
        sleep: Sleep = asyncio.sleep,
        max_pool_connections: int = 200,
    ) -> None:
        self.config = config
        self.clock = clock
        self.sleep = sleep
        self._own_clients = clients is None
        self.clients = clients or AwsClients(
            region=config.region,
            endpoint_url=config.endpoint_url,
            max_pool_connections=max_pool_connections,
        )
        self._shared: dict[int, _Session] = {}
        self._logged_in: set[str] = set()

    async def client(self) -> Any:
        return await self.clients.get("cognito-idp")

    def for_vu(self, vu_id: int, record: Record) -> CognitoVUAuth:
        index = (vu_id - 1) % len(self.config.users)
        if self.config.share == "shared":
            session = self._shared.get(index)
            if session is None:
                session = self._shared[index] = _Session(self, self.config.users[index])
        else:
            session = _Session(self, self.config.users[index])
        return CognitoVUAuth(session, record)

    def note_login(self, username: str) -> None:
        self._logged_in.add(username)

    @property
    def active_users(self) -> int:
        """Distinct users that logged in during the run (Cognito bills monthly active users)."""
        return len(self._logged_in)

    async def aclose(self) -> None:
        if self._own_clients:
            await self.clients.aclose()
