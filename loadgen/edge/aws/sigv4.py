"""``auth.kind: sigv4``: sign requests to IAM-protected API Gateway and Lambda function URLs.

Credentials come from the standard chain (env, shared profile, SSO, assumed role, container
or instance role) through one aioboto3 session; refreshable credentials renew themselves
before they expire (``get_frozen_credentials`` refreshes inside the advisory window), so a
long run keeps signing with valid keys. The URL signed is exactly the string sent: botocore
canonicalises the path from it, and API Gateway recomputes the signature from what arrives.
"""

from __future__ import annotations

import time
from typing import Any

from loadgen.core.aws.config import SigV4Config
from loadgen.core.errors import ErrorKind
from loadgen.core.sample import Sample
from loadgen.edge.auth.base import OutgoingRequest, Record
from loadgen.edge.aws.clients import AwsClients
from loadgen.edge.aws.errors import classify_aws

__all__ = ["SigV4AuthFactory", "SigV4VUAuth", "sign"]

_SIGNED = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")


def sign(request: OutgoingRequest, credentials: Any, *, service: str, region: str) -> None:
    """Add SigV4 headers to ``request`` for frozen ``credentials`` (access, secret, token)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    for name in [h for h in request.headers if h.lower() in _SIGNED]:
        del request.headers[name]
    aws = AWSRequest(
        method=request.method, url=request.url, headers=request.headers, data=request.body or b""
    )
    SigV4Auth(credentials, service, region).add_auth(aws)
    for name, value in aws.headers.items():
        if name.lower() in _SIGNED:
            request.headers[name] = value


class SigV4AuthFactory:
    """Resolves the credential chain once and shares it with every VU."""

    def __init__(
        self,
        config: SigV4Config,
        *,
        clients: AwsClients | None = None,
        credentials: Any = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.config = config
        self.clock = clock
        self._own_clients = clients is None
        self.clients = clients or AwsClients(
            region=config.region, endpoint_url=config.endpoint_url, profile=config.profile
        )
        self.credentials = credentials

    async def resolve(self) -> Any:
        """The chain's credentials (cached); raises botocore's NoCredentialsError if none."""
        if self.credentials is None:
            from botocore.exceptions import NoCredentialsError

            self.credentials = await self.clients.credentials()
            if self.credentials is None:
                raise NoCredentialsError()
        return self.credentials

    def for_vu(self, vu_id: int, record: Record) -> SigV4VUAuth:
        return SigV4VUAuth(self, record)

    async def aclose(self) -> None:
        if self._own_clients:
            await self.clients.aclose()


class SigV4VUAuth:
    """Signs each request just before it is sent; no login, so nothing to log out."""

    def __init__(self, factory: SigV4AuthFactory, record: Record) -> None:
        self._factory = factory
        self._record = record
        self._ready = False

    async def start(self) -> None:
        await self._frozen("auth.sigv4.credentials")

    @property
    def ready(self) -> bool:
        return self._ready

    async def _frozen(self, operation: str) -> Any:
        """Current frozen credentials, refreshing when due; a failure is recorded, not raised."""
        try:
            credentials = await self._factory.resolve()
            frozen = await credentials.get_frozen_credentials()
        except Exception as exc:  # the chain's failures become an auth sample
            now = self._factory.clock()
            kind, message = classify_aws(exc, operation)
            sample = Sample(name=operation, user_class="", t0=now, send=now, end=now)
            sample.error = kind if kind is not ErrorKind.PROTOCOL else ErrorKind.AUTH
            sample.message = message
            self._record(sample)
            self._ready = False
            return None
        self._ready = True
        return frozen

    async def prepare(self, request: OutgoingRequest) -> None:
        frozen = await self._frozen("auth.sigv4.refresh")
        if frozen is not None:
            config = self._factory.config
            sign(request, frozen, service=config.service, region=config.region)

    async def unauthorized(self) -> bool:
        """A 403 from IAM is a policy or clock problem: retrying the same keys will not help."""
        return False

    async def stop(self) -> None:
        return None
