"""Helpers shared by the built-in target's tests: configs, login, an independent SSE parser."""

from __future__ import annotations

import json
from typing import Any

import httpx

from loadgen.target import BuiltinTarget, TargetConfig

# Timing of the shared target: tests compare the truth log against these.
TTFT = 0.050
ITL = 0.005
TOKENS = 8


def fast_config(**sections: Any) -> TargetConfig:
    """The shared fast config, with YAML-shaped overrides merged per section."""
    data: dict[str, Any] = {
        "timing": {"ttft": f"{TTFT}s", "itl": f"{ITL}s", "output_tokens": TOKENS},
        "capacity": {"slots": 0},
        "faults": {
            "stall": {"rate": 0, "duration": "600ms"},
            "slow_body_read": {"rate": 0, "delay": "400ms"},
            "http_429": {"rate": 0, "retry_after": "2s"},
        },
        "chat": {"citation_rate": 0.5},
        "seed": 7,
    }
    for key, value in sections.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    return TargetConfig.from_mapping(data)


def login(
    client: httpx.Client, email: str = "admin@example.com", password: str = "admin-password"
) -> dict[str, Any]:
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def new_user(client: httpx.Client, email: str) -> str:
    """Register ``email`` (a regular user) and return its access token."""
    response = client.post(
        "/api/auth/register", json={"email": email, "password": "password-123", "name": "T"}
    )
    assert response.status_code == 201, response.text
    return str(login(client, email, "password-123")["access_token"])


def sse_events(data: bytes) -> list[tuple[str, str]]:
    """An independent, minimal SSE parser: (event, data) pairs; CR, LF and CRLF only."""
    events = []
    text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name, lines = "message", []
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                lines.append(value)
        events.append((name, "\n".join(lines)))
    return events


def api_chat_events(data: bytes) -> list[tuple[str, Any]]:
    return [(name, json.loads(payload)) for name, payload in sse_events(data)]


def read_truth(target: BuiltinTarget, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Truth lines of these request ids (waits for the periodic flush)."""
    records = {r["id"]: r for r in target.truth_records(ids, timeout=5)}
    missing = [i for i in ids if i not in records]
    assert not missing, f"no truth line for {missing}"
    return records
