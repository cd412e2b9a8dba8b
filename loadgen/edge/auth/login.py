"""``auth.kind: login``: a login request gives a token; refresh before expiry and on 401.

Each VU logs in with its own variables (``{{ email }}``, ``{{ password }}``), keeps the access
token (and refresh token) in its variables as ``token`` / ``refresh_token``, refreshes
``refresh_before`` seconds ahead of ``expires_in``, and logs out when it stops. Login, refresh
and logout are measured like any request (``auth.login``, ``auth.refresh``, ``auth.logout``).
A failed login is an ``auth`` error and the VU waits (1 s, doubling to 60 s) before trying again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from time import monotonic
from typing import Any

from loadgen.core.checks import ResponseView, json_path
from loadgen.core.errors import ErrorKind
from loadgen.core.profile.model import AuthSpec, HttpTask
from loadgen.core.sample import Sample
from loadgen.edge.auth.base import OutgoingRequest, Record

__all__ = ["LoginAuth", "Send"]

_MAX_BACKOFF = 60.0
# Sends one templated request and returns what came back (the VU's http path).
Send = Callable[[HttpTask, Sample, dict[str, str]], Awaitable[ResponseView]]


class LoginAuth:
    def __init__(
        self,
        spec: AuthSpec,
        *,
        send: Send,
        record: Record,
        user_class: str,
        variables: MutableMapping[str, Any],
        clock: Callable[[], float] = monotonic,
        learn: Callable[[str], None] = lambda value: None,
    ) -> None:
        """``learn`` hears every token obtained (the run's redactor must know them)."""
        self._spec = spec
        self._send = send
        self._record = record
        self._class = user_class
        self._vars = variables
        self._clock = clock
        self._learn = learn
        self._token: str | None = None
        self._refresh_token: str | None = None
        self._expires_at: float | None = None
        self._backoff = spec.backoff
        self._next_try = 0.0
        self._lock = asyncio.Lock()

    @property
    def ready(self) -> bool:
        return self._token is not None

    async def start(self) -> None:
        """Log in, waiting out the backoff of a previous failure first."""
        async with self._lock:
            if self.ready:
                return
            wait = self._next_try - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            assert self._spec.login is not None
            ok = await self._token_request("auth.login", self._spec.login)
            if ok:
                self._backoff = self._spec.backoff
            else:
                self._next_try = self._clock() + self._backoff
                self._backoff = min(self._backoff * 2, _MAX_BACKOFF)

    async def prepare(self, request: OutgoingRequest) -> None:
        expiring = (
            self._expires_at is not None
            and self._token is not None
            and self._clock() >= self._expires_at - self._spec.refresh_before
        )
        if expiring:
            await self._renew()
        if not self.ready:
            await self.start()
        if self._token is not None:
            value = f"{self._spec.scheme} {self._token}".strip()
            request.headers[self._spec.header] = value

    async def unauthorized(self) -> bool:
        """A 401 on a request: refresh (or log in again) and allow one retry."""
        await self._renew()
        return self.ready

    async def stop(self) -> None:
        logout = self._spec.logout
        if logout is None or self._token is None:
            return
        headers = {self._spec.header: f"{self._spec.scheme} {self._token}".strip()}
        sample = self._sample("auth.logout")
        await self._send(logout, sample, headers)
        self._record(sample)
        self._forget()

    async def _renew(self) -> None:
        async with self._lock:
            refresh = self._spec.refresh
            refreshable = refresh is not None and self._refresh_token is not None
            if refreshable and await self._token_request("auth.refresh", refresh):  # type: ignore[arg-type]
                return
            self._forget()
        await self.start()

    def _forget(self) -> None:
        self._token = self._refresh_token = self._expires_at = None
        self._vars.pop("token", None)

    def _sample(self, name: str) -> Sample:
        now = self._clock()
        return Sample(name=name, user_class=self._class, t0=now, send=now)

    async def _token_request(self, name: str, task: HttpTask) -> bool:
        sample = self._sample(name)
        view = await self._send(task, sample, {})
        if sample.error is None:
            token = json_path(view.json(), self._spec.token_path)
            if not isinstance(token, str) or not token:
                sample.error = ErrorKind.AUTH
                sample.message = f"{name}: no {self._spec.token_path!r} in the response"
            else:
                self._token = token
                self._learn(token)
                self._vars["token"] = token
                if self._spec.refresh_token_path:
                    rt = json_path(view.json(), self._spec.refresh_token_path)
                    if isinstance(rt, str):
                        self._learn(rt)
                        self._refresh_token = rt
                        self._vars["refresh_token"] = rt
                expires = (
                    json_path(view.json(), self._spec.expires_in_path)
                    if self._spec.expires_in_path
                    else None
                )
                self._expires_at = (
                    self._clock() + float(expires) if isinstance(expires, int | float) else None
                )
        self._record(sample)
        return sample.error is None
