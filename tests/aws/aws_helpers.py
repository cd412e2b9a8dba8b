"""Shared helpers of the AWS tests: run a coroutine, build moto resources."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from loadgen.edge.aws.clients import AwsClients

T = TypeVar("T")
REGION = "us-east-1"
PASSWORD = "Passw0rd!-loadgen"


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


async def make_pool(
    url: str, users: int = 2, *, secret: bool = False, password: str = PASSWORD
) -> tuple[str, str, str | None]:
    """A user pool, an app client and ``users`` confirmed users lt-1..lt-N in moto."""
    clients = AwsClients(region=REGION, endpoint_url=url)
    try:
        idp = await clients.get("cognito-idp")
        pool = (await idp.create_user_pool(PoolName="chat-users"))["UserPool"]["Id"]
        app = (
            await idp.create_user_pool_client(
                UserPoolId=pool,
                ClientName="web",
                GenerateSecret=secret,
                ExplicitAuthFlows=[
                    "ALLOW_USER_PASSWORD_AUTH",
                    "ALLOW_USER_SRP_AUTH",
                    "ALLOW_REFRESH_TOKEN_AUTH",
                ],
            )
        )["UserPoolClient"]
        for n in range(1, users + 1):
            await idp.admin_create_user(
                UserPoolId=pool, Username=f"lt-{n}", MessageAction="SUPPRESS"
            )
            await idp.admin_set_user_password(
                UserPoolId=pool, Username=f"lt-{n}", Password=password, Permanent=True
            )
        return pool, app["ClientId"], app.get("ClientSecret")
    finally:
        await clients.aclose()
