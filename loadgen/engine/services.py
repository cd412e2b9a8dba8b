"""What the VUs of a run share and the run closes at the end: auth state per VU (with the
AWS credential factories behind it) and the one bedrock-runtime client; and what AWS says
after the run."""

from __future__ import annotations

import asyncio
from typing import Any

from loadgen.core.errors import OutputError
from loadgen.core.profile.model import Profile
from loadgen.core.redact import Secrets
from loadgen.core.result import Result
from loadgen.edge.auth.aws import aws_factory
from loadgen.edge.auth.base import NoAuth, VUAuth
from loadgen.edge.auth.login import LoginAuth
from loadgen.edge.auth.simple import StaticAuth
from loadgen.engine.vu import VU
from loadgen.engine.writer import ResultWriter

__all__ = ["RunServices"]


class RunServices:
    def __init__(self, profile: Profile, secrets: Secrets) -> None:
        self.profile = profile
        self.secrets = secrets
        self._aws_factories: dict[int, Any] = {}
        self._aws_clients: Any = None

    def make_auth(self, vu: VU) -> VUAuth:
        """The auth state of one VU: its class's auth, else the profile's."""
        spec = vu.user_class.auth or self.profile.auth
        kind = spec.kind
        if kind in ("bearer", "api_key"):
            return StaticAuth(spec)
        if kind == "login":
            return LoginAuth(
                spec,
                send=vu.send_auth_request,
                record=vu.ctx.record,
                user_class=vu.user_class.name,
                variables=vu.vars,
                learn=self.secrets.add,
            )
        if kind in ("cognito", "sigv4"):
            factory = self._aws_factories.get(id(spec))
            if factory is None:
                factory = self._aws_factories[id(spec)] = aws_factory(kind, spec.extra)
            return factory.for_vu(vu.id, vu.ctx.record)
        return NoAuth()

    async def bedrock(self) -> Any:
        """One bedrock-runtime client for the run (pool sized for the VUs, one attempt)."""
        if self._aws_clients is None:
            from loadgen.edge.aws.clients import AwsClients

            aws = self.profile.aws
            assert aws is not None
            self._aws_clients = AwsClients(region=aws.region, endpoint_url=aws.endpoint_url)
        return await self._aws_clients.get("bedrock-runtime")

    @property
    def cognito_mau(self) -> int:
        """Cognito users signed in during the run (the cost estimate's monthly active users)."""
        return sum(getattr(f, "active_users", 0) for f in self._aws_factories.values())

    async def after_run(self, result: Result, writer: ResultWriter | None) -> None:
        """CloudWatch's view of the test window and the cost estimate (loadgen.edge.aws.post).

        After the results are safe on disk: AWS being slow or refusing cannot cost the run;
        what it refused is recorded in the section instead."""
        from loadgen.edge.aws.post import after_run

        aws = self.profile.aws
        assert aws is not None
        data = result.data
        try:
            data["aws"] = await asyncio.wait_for(
                after_run(
                    aws, {**data, "ended": data["run"]["ended"]}, cognito_mau=self.cognito_mau
                ),
                300,
            )
        except Exception as exc:  # the run's own numbers stand
            error = self.secrets.text(f"{type(exc).__name__}: {exc}")[:300]
            data["aws"] = {"region": aws.region, "error": error}
        if result.path is not None:
            try:
                result.save(result.path)
            except OSError as exc:
                if writer is not None and writer.failure is None:
                    writer.failure = OutputError(result.path, exc)

    async def aclose(self) -> None:
        for factory in self._aws_factories.values():
            await factory.aclose()
        if self._aws_clients is not None:
            await self._aws_clients.aclose()
            self._aws_clients = None
