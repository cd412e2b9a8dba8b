"""``loadgen aws discover``: find the chatbot's endpoints and login pools in one region.

Read-only calls only (the IAM policy in docs/aws.md). A missing permission stops with one
:class:`DiscoverError` naming the IAM action, so the user knows exactly what to grant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loadgen.core.netcause import network_cause
from loadgen.edge.aws.clients import AwsClients
from loadgen.edge.aws.errors import aws_error_code, status_of

__all__ = ["Api", "DiscoverError", "FunctionUrl", "Inventory", "UserPool", "discover"]

_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "NotAuthorizedException",
    }
)
_BAD_KEYS = frozenset(
    {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException"}
)


class DiscoverError(Exception):
    """One line for the user: which credential or IAM action is missing."""


@dataclass(frozen=True, slots=True)
class Api:
    kind: str  # rest | http | websocket
    id: str
    name: str
    stages: tuple[tuple[str, str], ...]  # (stage, invoke URL)


@dataclass(frozen=True, slots=True)
class UserPool:
    id: str
    name: str
    clients: tuple[tuple[str, str], ...]  # (client id, client name)


@dataclass(frozen=True, slots=True)
class FunctionUrl:
    function: str
    url: str
    auth_type: str  # AWS_IAM | NONE


@dataclass(slots=True)
class Inventory:
    region: str
    apis: list[Api] = field(default_factory=list)
    pools: list[UserPool] = field(default_factory=list)
    function_urls: list[FunctionUrl] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The human listing ``discover`` prints."""
        out = [f"region {self.region}"]
        out.append(f"API Gateway APIs ({len(self.apis)})")
        for api in self.apis:
            out.append(f"  {api.kind:9} {api.name} ({api.id})")
            out.extend(f"    {stage:12} {url}" for stage, url in api.stages)
            if not api.stages:
                out.append("    (no stages deployed)")
        out.append(f"Cognito user pools ({len(self.pools)})")
        for pool in self.pools:
            out.append(f"  {pool.name} ({pool.id})")
            out.extend(f"    app client {name} ({cid})" for cid, name in pool.clients)
        out.append(f"Lambda function URLs ({len(self.function_urls)})")
        out.extend(f"  {f.function}: {f.url} (auth {f.auth_type})" for f in self.function_urls)
        return out

    def env(self) -> dict[str, str]:
        """The ``.env`` values a profile reads: the first of each kind found."""
        values = {"AWS_REGION": self.region}
        for api in self.apis:
            for _, url in api.stages:
                key = "CHATBOT_WS_URL" if api.kind == "websocket" else "CHATBOT_URL"
                values.setdefault(key, url)
        for pool in self.pools:
            if pool.clients:
                values.setdefault("COGNITO_USER_POOL_ID", pool.id)
                values.setdefault("COGNITO_CLIENT_ID", pool.clients[0][0])
        if self.function_urls:
            values.setdefault("LAMBDA_URL", self.function_urls[0].url)
        return values


def write_env(path: Path, values: dict[str, str]) -> None:
    """Set ``values`` in a .env file, keeping its other lines (and their order)."""
    lines = path.read_text().splitlines() if path.exists() else []
    left = dict(values)
    out = []
    for line in lines:
        key = line.split("=", 1)[0].strip().removeprefix("export ").strip()
        if "=" in line and not line.lstrip().startswith("#") and key in left:
            out.append(f"{key}={left.pop(key)}")
        else:
            out.append(line)
    out.extend(f"{key}={value}" for key, value in left.items())
    path.write_text("\n".join(out) + "\n")


async def _call(
    action: str,
    method: Callable[..., Awaitable[Any]],
    *,
    allow: tuple[str, ...] = (),
    **kwargs: Any,
) -> Any:
    """Run one read call; every failure but the ``ClientError`` codes in ``allow`` (which
    the caller handles) becomes a DiscoverError with one clear line: credentials,
    permissions, the network (endpoint and cause) or the AWS error code."""
    from botocore import exceptions as bx

    try:
        return await method(**kwargs)
    except (bx.NoCredentialsError, bx.PartialCredentialsError) as exc:
        raise DiscoverError(
            "no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and"
            " AWS_SECRET_ACCESS_KEY), run `aws sso login`, or run on a role"
        ) from exc
    except (bx.ConnectionError, bx.HTTPClientError) as exc:  # refused, DNS, TLS, timeouts
        url = urlsplit(str(exc.kwargs.get("endpoint_url", "")))  # no path or query: no secrets
        endpoint = f"{url.scheme}://{url.netloc}" if url.netloc else "the AWS endpoint"
        raise DiscoverError(
            f"cannot reach {endpoint} calling {action}: {network_cause(exc)} — check the "
            "network (a proxy?), --region and --endpoint-url"
        ) from exc
    except bx.ClientError as exc:
        code = aws_error_code(exc)
        if code in allow:
            raise
        if code in _DENIED:
            raise DiscoverError(
                f"missing IAM permission {action} ({code}); docs/aws.md has the read-only policy"
            ) from exc
        if code in _BAD_KEYS or code == "ExpiredTokenException":
            raise DiscoverError(
                f"AWS rejected the credentials ({code}) calling {action}; refresh them"
            ) from exc
        raise DiscoverError(
            f"{action} failed: {code or 'an AWS error'} (HTTP {status_of(exc) or '?'})"
        ) from exc


def _execute_api(api_id: str, region: str) -> str:
    return f"https://{api_id}.execute-api.{region}.amazonaws.com"


async def _rest_apis(clients: AwsClients) -> list[Api]:
    client = await clients.get("apigateway")
    apis, position = [], None
    while True:
        kwargs: dict[str, Any] = {"limit": 500, **({"position": position} if position else {})}
        page = await _call("apigateway:GET", client.get_rest_apis, **kwargs)
        for item in page.get("items", []):
            stages = await _call("apigateway:GET", client.get_stages, restApiId=item["id"])
            base = _execute_api(item["id"], clients.region)
            pairs = [(s["stageName"], f"{base}/{s['stageName']}") for s in stages.get("item", [])]
            apis.append(Api("rest", item["id"], item.get("name", ""), tuple(pairs)))
        position = page.get("position")
        if not position:
            return apis


async def _v2_apis(clients: AwsClients) -> list[Api]:
    client = await clients.get("apigatewayv2")
    apis, token = [], None
    while True:
        kwargs: dict[str, Any] = {"NextToken": token} if token else {}
        page = await _call("apigateway:GET", client.get_apis, **kwargs)
        for item in page.get("Items", []):
            websocket = item.get("ProtocolType") == "WEBSOCKET"
            base = item.get("ApiEndpoint") or _execute_api(item["ApiId"], clients.region)
            if websocket:
                base = "wss://" + base.split("://", 1)[-1]
            got = await _call("apigateway:GET", client.get_stages, ApiId=item["ApiId"])
            pairs = []
            for stage in got.get("Items", []):
                name = stage["StageName"]
                pairs.append((name, base if name == "$default" else f"{base}/{name}"))
            kind = "websocket" if websocket else "http"
            apis.append(Api(kind, item["ApiId"], item.get("Name", ""), tuple(pairs)))
        token = page.get("NextToken")
        if not token:
            return apis


async def _pools(clients: AwsClients) -> list[UserPool]:
    client = await clients.get("cognito-idp")
    pools, token = [], None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 60, **({"NextToken": token} if token else {})}
        page = await _call("cognito-idp:ListUserPools", client.list_user_pools, **kwargs)
        for item in page.get("UserPools", []):
            got = await _call(
                "cognito-idp:ListUserPoolClients",
                client.list_user_pool_clients,
                UserPoolId=item["Id"],
                MaxResults=60,
            )
            apps = tuple((c["ClientId"], c.get("ClientName", "")) for c in got["UserPoolClients"])
            pools.append(UserPool(item["Id"], item.get("Name", ""), apps))
        token = page.get("NextToken")
        if not token:
            return pools


async def _function_urls(clients: AwsClients) -> list[FunctionUrl]:
    from botocore.exceptions import ClientError

    client = await clients.get("lambda")
    urls, marker = [], None
    while True:
        kwargs: dict[str, Any] = {"Marker": marker} if marker else {}
        page = await _call("lambda:ListFunctions", client.list_functions, **kwargs)
        for fn in page.get("Functions", []):
            name = fn["FunctionName"]
            try:  # per function: moto (and older regions) lack ListFunctionUrlConfigs paging
                got = await _call(
                    "lambda:GetFunctionUrlConfig",
                    client.get_function_url_config,
                    allow=("ResourceNotFoundException",),
                    FunctionName=name,
                )
            except ClientError as exc:
                if aws_error_code(exc) == "ResourceNotFoundException":
                    continue
                raise
            urls.append(FunctionUrl(name, got["FunctionUrl"], got.get("AuthType", "")))
        marker = page.get("NextMarker")
        if not marker:
            return urls


async def discover(clients: AwsClients) -> Inventory:
    """Everything a profile may need in ``clients.region``; raises DiscoverError."""
    inventory = Inventory(clients.region)
    inventory.apis = await _rest_apis(clients) + await _v2_apis(clients)
    inventory.pools = await _pools(clients)
    inventory.function_urls = await _function_urls(clients)
    return inventory
