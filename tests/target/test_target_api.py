"""The chatbot API over loopback: auth flows and expiry, roles, uploads, chat, health, metrics."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from target_helpers import api_chat_events, fast_config, login, new_user, read_truth

from loadgen.target import BuiltinTarget


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def short_ttl() -> Iterator[BuiltinTarget]:
    """A target whose access tokens live 0.5 s."""
    with BuiltinTarget(fast_config(auth={"token_ttl": "500ms"})) as t:
        yield t


def test_register_login_me_refresh_logout(client: httpx.Client) -> None:
    """The whole token life cycle of a regular user."""
    email = _email()
    created = client.post("/api/auth/register", json={"email": email, "password": "password-1"})
    assert created.status_code == 201
    assert created.json()["role"] == "user"
    again = client.post("/api/auth/register", json={"email": email, "password": "password-1"})
    assert again.status_code == 409
    tokens = login(client, email, "password-1")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    me = client.get("/api/auth/me", headers=_auth(tokens["access_token"]))
    assert me.json()["email"] == email
    refreshed = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    new = refreshed.json()
    reused = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401, "refresh tokens rotate"
    assert client.post("/api/auth/logout", headers=_auth(new["access_token"])).status_code == 200
    assert client.get("/api/auth/me", headers=_auth(new["access_token"])).status_code == 401


def test_wrong_password_and_missing_token_are_401(client: httpx.Client) -> None:
    """Bad credentials and unauthenticated protected routes answer 401."""
    bad = client.post("/api/auth/login", json={"email": "admin@example.com", "password": "no"})
    assert bad.status_code == 401
    assert client.get("/api/auth/me").status_code == 401
    assert client.post("/api/chat", json={"message": "hi"}).status_code == 401
    assert client.get("/api/admin/dashboard", headers=_auth("forged")).status_code == 401


def test_access_token_expires(short_ttl: BuiltinTarget) -> None:
    """After token_ttl the access token is refused with 401; refresh gives a working one."""
    with httpx.Client(base_url=short_ttl.url, timeout=10) as c:
        tokens = login(c)
        assert c.get("/api/auth/me", headers=_auth(tokens["access_token"])).status_code == 200
        time.sleep(0.6)
        expired = c.get("/api/auth/me", headers=_auth(tokens["access_token"]))
        assert expired.status_code == 401
        assert expired.json()["code"] == "token_expired"
        fresh = c.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert c.get("/api/auth/me", headers=_auth(fresh.json()["access_token"])).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/admin/dashboard"),
        ("GET", "/api/admin/cache/stats"),
        ("POST", "/api/admin/cache/clear"),
        ("GET", "/api/admin/feature-flags"),
        ("GET", "/api/admin/feature-flags/rag"),
        ("GET", "/api/admin/kb/documents"),
        ("GET", "/api/admin/kb/documents/doc-1"),
    ],
)
def test_admin_routes_are_403_for_regular_users(
    client: httpx.Client, method: str, path: str
) -> None:
    """A valid non-admin token is forbidden on every admin route."""
    token = new_user(client, _email())
    assert client.request(method, path, headers=_auth(token)).status_code == 403


def test_document_upload_round_trip(client: httpx.Client) -> None:
    """Upload (multipart), list, get, delete, and get again → 404."""
    headers = _auth(login(client)["access_token"])
    data = "Refunds are possible within 30 days. Ünïcödé too.".encode()
    up = client.post(
        "/api/admin/kb/documents",
        headers=headers,
        data={"title": "Refunds"},
        files={"file": ("refunds.txt", data, "text/plain")},
    )
    assert up.status_code == 201, up.text
    doc = up.json()
    assert doc["size"] == len(data)
    assert doc["title"] == "Refunds"
    listed = client.get("/api/admin/kb/documents", headers=headers).json()["documents"]
    assert doc["id"] in {d["id"] for d in listed}
    assert client.get(f"/api/admin/kb/documents/{doc['id']}", headers=headers).json() == doc
    assert client.delete(f"/api/admin/kb/documents/{doc['id']}", headers=headers).status_code == 200
    assert client.get(f"/api/admin/kb/documents/{doc['id']}", headers=headers).status_code == 404


def test_admin_dashboard_cache_and_flags(client: httpx.Client) -> None:
    """Admin pages answer with their documented shapes; a flag can be toggled."""
    headers = _auth(login(client)["access_token"])
    assert "users" in client.get("/api/admin/dashboard", headers=headers).json()
    assert "hit_rate" in client.get("/api/admin/cache/stats", headers=headers).json()
    assert "cleared" in client.post("/api/admin/cache/clear", headers=headers).json()
    flags = client.get("/api/admin/feature-flags", headers=headers).json()["flags"]
    assert {f["id"] for f in flags} >= {"rag", "streaming"}
    changed = client.patch(
        "/api/admin/feature-flags/streaming", headers=headers, json={"enabled": False}
    )
    assert changed.json()["enabled"] is False


def test_api_chat_streams_tokens_and_done(target: BuiltinTarget, client: httpx.Client) -> None:
    """``event: token`` per token, then citations, then ``done`` with usage; truth agrees."""
    token = new_user(client, _email())
    response = client.post(
        "/api/chat",
        headers={**_auth(token), "x-request-id": "api-chat-1"},
        json={"message": "What is the refund policy?"},
    )
    assert response.status_code == 200
    events = api_chat_events(response.content)
    tokens = [d["content"] for name, d in events if name == "token"]
    done = events[-1]
    assert done[0] == "done"
    assert done[1]["usage"]["completion_tokens"] == len(tokens) == 8
    cited = [d for name, d in events if name == "citation"]
    assert cited == done[1]["citations"]
    truth = read_truth(target, ["api-chat-1"])["api-chat-1"]
    assert truth["route"] == "/api/chat"
    assert len(truth["tokens"]) == 8


def test_api_chat_context_grows_with_turns(client: httpx.Client) -> None:
    """The same conversation id carries context: prompt_tokens grows turn after turn."""
    headers = _auth(new_user(client, _email()))
    first = api_chat_events(
        client.post("/api/chat", headers=headers, json={"message": "hello there"}).content
    )[-1][1]
    cid = first["conversation_id"]
    second = api_chat_events(
        client.post(
            "/api/chat", headers=headers, json={"message": "and then?", "conversation_id": cid}
        ).content
    )[-1][1]
    assert second["conversation_id"] == cid
    assert (
        second["usage"]["prompt_tokens"]
        > first["usage"]["prompt_tokens"] + first["usage"]["completion_tokens"]
    )
    other = _auth(new_user(client, _email()))
    stolen = client.post("/api/chat", headers=other, json={"message": "x", "conversation_id": cid})
    assert stolen.status_code == 403


def test_some_answers_cite(client: httpx.Client) -> None:
    """With citation_rate 0.5, some of 20 answers carry citations and some do not."""
    headers = _auth(new_user(client, _email()))
    counts = [
        len(
            api_chat_events(
                client.post("/api/chat", headers=headers, json={"message": f"question {i}"}).content
            )[-1][1]["citations"]
        )
        for i in range(20)
    ]
    assert any(counts)
    assert not all(counts)


def test_health_and_metrics(client: httpx.Client) -> None:
    """Health answers ok; /metrics is Prometheus text with per-route counters and gauges."""
    assert client.get("/health").json() == {"status": "ok"}
    detailed = client.get("/health/detailed").json()
    assert detailed["components"]["llm"]["status"] == "ok"
    client.get("/health")
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'loadgen_target_requests_total{route="/health",status="200"}' in metrics.text
    assert "loadgen_target_active_streams" in metrics.text
    assert "loadgen_target_queue_depth" in metrics.text


def test_unknown_route_is_404(client: httpx.Client) -> None:
    """Unknown paths answer 404 JSON."""
    assert client.get("/nope").status_code == 404


def test_api_chat_without_streaming(client: httpx.Client) -> None:
    """``stream: false`` on /api/chat answers one JSON body with content and usage."""
    headers = _auth(new_user(client, _email()))
    body = client.post("/api/chat", headers=headers, json={"message": "hi", "stream": False}).json()
    assert body["usage"]["completion_tokens"] == 8
    assert len(body["content"].split()) >= 1


def test_openai_auth_can_be_required() -> None:
    """With require_auth_openai, /v1 needs a static API key or an access token."""
    config = fast_config(auth={"require_auth_openai": True, "api_keys": ["sk-test"]})
    body = {"messages": [{"role": "user", "content": "x"}]}
    with BuiltinTarget(config) as t, httpx.Client(base_url=t.url) as c:
        assert c.post("/v1/chat/completions", json=body).status_code == 401
        assert (
            c.post("/v1/chat/completions", json=body, headers=_auth("sk-test")).status_code == 200
        )
        token = login(c)["access_token"]
        assert c.post("/v1/chat/completions", json=body, headers=_auth(token)).status_code == 200
