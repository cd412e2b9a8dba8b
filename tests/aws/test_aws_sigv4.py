"""SigV4 signing, checked on the server side by recomputing the signature with botocore."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from aws_helpers import REGION, run
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from loadgen.core.aws.config import SigV4Config
from loadgen.core.errors import ErrorKind
from loadgen.core.sample import Sample
from loadgen.edge.auth.base import OutgoingRequest
from loadgen.edge.aws.sigv4 import SigV4AuthFactory

SECRETS = {"AKIDTESTFAKE": "fake-secret-for-tests", "AKIDROTATED": "rotated-secret"}
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<sig>\w+)"
)


def verify(method: str, target: str, headers: dict[str, str], body: bytes) -> str | None:
    """API Gateway's check, done by botocore from the bytes that arrived; the key or None."""
    match = _AUTH.fullmatch(headers.get("authorization", ""))
    if match is None:
        return None
    signed = match["signed"].split(";")
    request = AWSRequest(
        method=method,
        url=f"http://{headers['host']}{target}",
        headers={name: headers[name] for name in signed},
        data=body,
    )
    request.context["timestamp"] = headers["x-amz-date"]
    credentials = ReadOnlyCredentials(
        match["key"], SECRETS[match["key"]], headers.get("x-amz-security-token")
    )
    signer = SigV4Auth(credentials, match["service"], match["region"])
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    ok = signer.signature(string_to_sign, request) == match["sig"]
    return match["key"] if ok else None


@asynccontextmanager
async def checking_server(seen: list[str | None]) -> AsyncIterator[str]:
    """A loopback HTTP/1.1 server answering 200 to a valid signature and 403 otherwise."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _ = head[0].split(" ")
        headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in head[1:] if h)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        key = verify(method, target, headers, body)
        seen.append(key)
        status = b"200 OK" if key else b"403 Forbidden"
        writer.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def send(auth: object, url: str, body: bytes | None = b'{"message": "hi"}') -> int:
    req = OutgoingRequest("POST", url, {"content-type": "application/json"}, body)
    await auth.prepare(req)  # type: ignore[attr-defined]
    async with httpx.AsyncClient() as http:
        got = await http.request(req.method, req.url, headers=req.headers, content=req.body)
    return got.status_code


def test_signed_requests_pass_a_server_side_signature_check() -> None:
    """Env credentials sign the exact URL sent, with an encoded path and a query string."""
    seen: list[str | None] = []

    async def go() -> tuple[int, int]:
        factory = SigV4AuthFactory(SigV4Config(region=REGION))  # env credentials (conftest)
        auth = factory.for_vu(1, lambda s: None)
        await auth.start()
        assert auth.ready
        async with checking_server(seen) as base:
            good = await send(auth, f"{base}/prod/chat%20room/a+b?q=hello%20world&a=1")
            req = OutgoingRequest("GET", f"{base}/prod/x")
            await auth.prepare(req)
            req.headers["Authorization"] = req.headers["Authorization"][:-4] + "0000"
            async with httpx.AsyncClient() as http:
                bad = (await http.get(req.url, headers=req.headers)).status_code
        await factory.aclose()
        return good, bad

    assert run(go()) == (200, 403)
    assert seen == ["AKIDTESTFAKE", None]


def test_expiring_credentials_are_refreshed_before_signing() -> None:
    """Role credentials near expiry are renewed; the next request is signed with the new key."""
    from aiobotocore.credentials import AioRefreshableCredentials

    seen: list[str | None] = []
    calls = 0

    async def refresh() -> dict[str, str]:
        nonlocal calls
        calls += 1
        expiry = datetime.now(UTC) + timedelta(hours=1)
        return {
            "access_key": "AKIDROTATED",
            "secret_key": "rotated-secret",
            "token": "session-token-2",
            "expiry_time": expiry.isoformat(),
        }

    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()  # inside the refresh window
    credentials = AioRefreshableCredentials.create_from_metadata(
        {"access_key": "AKIDTESTFAKE", "secret_key": "x", "token": "t1", "expiry_time": soon},
        refresh,
        "test-role",
    )

    async def go() -> list[int]:
        factory = SigV4AuthFactory(SigV4Config(region=REGION), credentials=credentials)
        auth = factory.for_vu(1, lambda s: None)
        await auth.start()
        async with checking_server(seen) as base:
            statuses = [await send(auth, f"{base}/prod/chat") for _ in range(2)]
        await factory.aclose()
        return statuses

    assert run(go()) == [200, 200]
    assert seen == ["AKIDROTATED", "AKIDROTATED"]
    assert calls == 1


def test_missing_credentials_are_an_auth_sample_and_not_ready() -> None:
    """No credentials anywhere in the chain: one auth sample, ready is False, nothing raised."""

    class NoChain:
        async def credentials(self) -> None:
            return None

        async def aclose(self) -> None:
            return None

    async def go() -> tuple[list[Sample], bool]:
        samples: list[Sample] = []
        factory = SigV4AuthFactory(SigV4Config(region=REGION), clients=NoChain())  # type: ignore[arg-type]
        auth = factory.for_vu(1, samples.append)
        await auth.start()
        return samples, auth.ready

    samples, ready = run(go())
    assert not ready
    assert [(s.name, s.error) for s in samples] == [("auth.sigv4.credentials", ErrorKind.AUTH)]
    assert "no AWS credentials" in samples[0].message
