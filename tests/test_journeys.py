"""Real user behaviour against the built-in target: journeys, variables, auth, checks, 429, WS."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from support import run_async

import loadgen
from loadgen import profile_from_dict
from loadgen.core.profile.model import AuthSpec
from loadgen.edge.auth.base import OutgoingRequest
from loadgen.edge.auth.simple import StaticAuth

FAST = {
    "timing": {"ttft": "20ms", "itl": "2ms", "output_tokens": 6},
    "capacity": {"slots": 0},
    "seed": 2,
}
LOGIN = {
    "kind": "login",
    "login": {
        "path": "/api/auth/login",
        "json": {"email": "{{ email }}", "password": "{{ password }}"},
    },
    "refresh": {"path": "/api/auth/refresh", "json": {"refresh_token": "{{ refresh_token }}"}},
    "logout": {"path": "/api/auth/logout"},
}
ADMIN_VARS = {"email": "admin@example.com", "password": "admin-password"}


def profile(
    users: list, *, builtin: dict | None = None, vus: int = 2, duration: str = "3s", **top: object
) -> dict:
    return {
        "name": "journeys",
        "seed": 4,
        "target": {"base_url": "builtin", "timeout": "10s", "builtin": builtin or FAST},
        "users": users,
        "load": {"users": vus, "duration": duration, "graceful_stop": "5s"},
        **top,
    }


def names_per_vu(out: Path) -> dict[str, list[str]]:
    with (out / "requests.csv").open() as f:
        rows = list(csv.DictReader(f))
    by_vu: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: float(r["send"])):
        if row["request_id"]:
            by_vu.setdefault(row["request_id"].split("-")[1], []).append(row["name"])
    return by_vu


def test_journey_runs_in_order_and_extracted_values_flow(tmp_path):
    """upload → get by the extracted id → delete it: every check passes, steps keep order."""
    admin = {
        "name": "admin",
        "vars": ADMIN_VARS,
        "journey": [
            {
                "name": "upload",
                "http": {"path": "/api/admin/kb/documents", "upload": {"size": "small"}},
                "extract": {"doc_id": {"json": "id"}},
                "checks": [{"status": 201}],
            },
            {
                "name": "get",
                "http": {"path": "/api/admin/kb/documents/{{ doc_id }}"},
                "checks": [{"json": {"path": "id", "equals": "{{ doc_id }}"}}],
            },
            {"name": "chat", "repeat": 2, "chat": {"api": "sse", "category": "simple"}},
            {
                "name": "delete",
                "http": {"method": "DELETE", "path": "/api/admin/kb/documents/{{ doc_id }}"},
                "checks": [{"status": 200}],
            },
        ],
    }
    data = profile([admin], auth=LOGIN, report={"raw": True}, duration="2s")
    result = run_async(loadgen.run(profile_from_dict(data), out=tmp_path))
    checks = result.data["custom"]["checks"]
    assert checks, "checks ran"
    assert all(c["fails"] == 0 for c in checks.values())
    assert result.errors == {}
    for names in names_per_vu(tmp_path).values():
        journey = [n for n in names if not n.startswith("auth.")]
        expected = ["upload", "get", "chat", "chat", "delete"] * len(journey)
        assert journey == expected[: len(journey)]
        assert len(journey) >= 5


def test_token_expiry_triggers_refresh_and_no_auth_errors():
    """Tokens living 1 s: VUs refresh before expiry (and on 401) and never fail auth."""
    builtin = {**FAST, "auth": {"token_ttl": "1s"}}
    user = {
        "name": "regular",
        "vars": ADMIN_VARS,
        "tasks": [{"chat": {"api": "sse", "category": "simple"}}],
        "think_time": "200ms",
    }
    spec = {**LOGIN, "refresh_before": "300ms"}
    result = run_async(
        loadgen.run(profile_from_dict(profile([user], builtin=builtin, auth=spec, duration="4s")))
    )
    names = result.data["scopes"]["by_name"]
    assert names["auth.refresh"]["requests"] >= 4
    assert result.errors == {}
    assert names["chat.simple"]["requests"] > 20


def test_a_wrong_password_is_an_auth_error_and_the_vu_backs_off():
    """Login fails with 401: counted as auth, retried after 1 s, 2 s, … not hammered."""
    user = {
        "name": "regular",
        "vars": {"email": "admin@example.com", "password": "wrong"},
        "tasks": [{"chat": {"api": "sse", "category": "simple"}}],
    }
    data = profile([user], vus=1, duration="3500ms", auth=LOGIN)
    result = run_async(loadgen.run(profile_from_dict(data)))
    login = result.data["scopes"]["by_name"]["auth.login"]
    assert login["errors_by_kind"] == {"auth": login["requests"]}
    assert 2 <= login["requests"] <= 4  # t = 0, 1 s, 3 s: backoff doubles


def test_user_types_appear_in_their_weight_ratio():
    """70/20/10 weights over 20 VUs: 14/4/2 users, visible in the per-class results."""
    classes = [
        {"name": n, "weight": w, "think_time": "100ms", "tasks": [{"http": {"path": "/health"}}]}
        for n, w in (("regular", 70), ("power", 20), ("admin", 10))
    ]
    result = run_async(loadgen.run(profile_from_dict(profile(classes, vus=20, duration="2s"))))
    assert result.data["users_by_class"] == {"regular": 14, "power": 4, "admin": 2}
    by_class = result.data["scopes"]["by_class"]
    total = sum(c["requests"] for c in by_class.values())
    assert by_class["regular"]["requests"] / total == pytest.approx(0.7, abs=0.05)


def test_a_failed_check_counts_as_a_check_error_with_its_name():
    """A check that cannot hold marks the request failed, kind check, and names itself."""
    user = {
        "name": "regular",
        "tasks": [{"http": {"path": "/health"}, "checks": [{"name": "impossible", "status": 418}]}],
    }
    result = run_async(loadgen.run(profile_from_dict(profile([user], vus=1, duration="1s"))))
    assert set(result.errors) == {"check"}
    assert result.data["custom"]["checks"]["impossible"]["passes"] == 0
    assert "impossible" in result.data["errors"][0]["example"]


def test_retry_after_is_honoured_after_a_429():
    """Every answer is 429 with Retry-After 1 s: a VU without think time waits, not hammers."""
    builtin = {**FAST, "faults": {"http_429": {"rate": 1.0, "retry_after": "1s"}}}
    user = {"name": "regular", "tasks": [{"chat": {"category": "simple"}}], "think_time": "0s"}
    result = run_async(
        loadgen.run(profile_from_dict(profile([user], builtin=builtin, vus=2, duration="3s")))
    )
    assert set(result.errors) == {"http_429"}
    assert result.requests <= 8  # 2 VUs x ~3 requests, not thousands
    assert sum(i["rate_limited"] for i in result.intervals) == result.requests


def test_bearer_auth_reaches_a_protected_api():
    """A static API key as a bearer token passes the target's check; none gets 401."""
    builtin = {**FAST, "auth": {"require_auth_openai": True, "api_keys": ["k-123"]}}
    user = {"name": "regular", "tasks": [{"chat": {"category": "simple"}}]}
    ok = run_async(
        loadgen.run(
            profile_from_dict(
                profile(
                    [user],
                    builtin=builtin,
                    vus=1,
                    duration="1s",
                    auth={"kind": "bearer", "token": "k-123"},
                )
            )
        )
    )
    assert ok.errors == {}
    assert ok.requests > 0
    denied = run_async(
        loadgen.run(profile_from_dict(profile([user], builtin=builtin, vus=1, duration="1s")))
    )
    assert set(denied.errors) == {"auth"}


def test_api_key_goes_in_a_header_or_the_query():
    """api_key: the key in its header, or appended to the query string."""

    async def prepared(spec: AuthSpec) -> OutgoingRequest:
        request = OutgoingRequest(method="GET", url="http://127.0.0.1:1/x?a=1")
        await StaticAuth(spec).prepare(request)
        return request

    header = run_async(prepared(AuthSpec(kind="api_key", token="k", header="x-api-key", scheme="")))
    assert header.headers == {"x-api-key": "k"}
    query = run_async(prepared(AuthSpec(kind="api_key", token="k", query="api_key", scheme="")))
    assert query.url == "http://127.0.0.1:1/x?a=1&api_key=k"


def test_websocket_ttft_matches_the_truth_log(tmp_path):
    """WS answers: ttft p50 within 5 ms of the target's 100 ms, request by request."""
    builtin = {
        "timing": {"ttft": "100ms", "itl": "10ms", "output_tokens": 8},
        "capacity": {"slots": 0},
    }
    user = {"name": "ws", "vars": ADMIN_VARS, "tasks": [{"ws": {"category": "simple"}}]}
    truth = tmp_path / "truth.jsonl"
    result = run_async(
        loadgen.run(
            profile_from_dict(
                profile(
                    [user], builtin=builtin, vus=3, duration="3s", auth=LOGIN, report={"raw": True}
                )
            ),
            out=tmp_path,
            truth=truth,
        )
    )
    assert result.errors == {}
    ws = result.scope("name", "ws.chat.simple")
    assert ws["requests"] > 10
    assert result.metrics["ttft"].p50 == pytest.approx(100, abs=5)
    assert ws["metrics"]["itl"]["p50"] == pytest.approx(10, abs=2)
    served = {d["id"]: d for d in map(json.loads, truth.read_text().splitlines())}
    with (tmp_path / "requests.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["name"] == "ws.chat.simple"]
    for row in rows:
        t = served[row["request_id"]]
        assert 0 <= float(row["first_token"]) - t["first_token"] < 0.01
    assert result.data["custom"]["counters"]["ws_connects"] == 3


def test_a_websocket_dropped_mid_answer_is_counted_and_the_vu_reconnects():
    """30 % of answers drop mid-stream: counted as stream_broken and ws_drops; VUs reconnect."""
    builtin = {**FAST, "faults": {"drop_mid_stream": 0.3}}
    user = {
        "name": "ws",
        "vars": ADMIN_VARS,
        "tasks": [{"ws": {"category": "simple", "reconnect_backoff": "100ms"}}],
    }
    result = run_async(
        loadgen.run(
            profile_from_dict(profile([user], builtin=builtin, vus=2, duration="3s", auth=LOGIN))
        )
    )
    counters = result.data["custom"]["counters"]
    assert counters["ws_drops"] >= 2
    assert counters["ws_connects"] >= 2 + counters["ws_drops"] - 1
    assert result.errors.get("stream_broken", 0) == counters["ws_drops"]
    assert result.overall["ok"] > result.errors["stream_broken"]
