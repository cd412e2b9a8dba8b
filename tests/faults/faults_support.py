"""Profiles and assertions shared by the fault matrix.

Every fault test runs two user classes in one run: ``healthy`` sends ``chat.ok`` to a route
that answers correctly, ``faulty`` sends ``chat.fault`` to the route (or with the header) that
misbehaves. ``assert_isolated`` then pins the four promises of issue #11: the right error kinds
are counted, nothing escaped a VU, the run ended on time and the healthy class is clean.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import loadgen
from loadgen import profile_from_dict
from loadgen.core.result import Result

__all__ = ["assert_isolated", "pair_profile", "run_timed"]


def pair_profile(
    base_url: str,
    *,
    faulty: dict[str, Any],
    healthy: dict[str, Any] | None = None,
    duration: str = "2s",
    timeout: str = "5s",
    think: str = "20ms",
    users: int = 2,
    **target: Any,
) -> dict[str, Any]:
    """Two classes of equal weight (VU 1 healthy, VU 2 faulty, …), short and bounded."""
    return {
        "name": "fault",
        "target": {
            "base_url": base_url,
            "timeout": timeout,
            "connect_timeout": "1s",
            **target,
        },
        "users": [
            {
                "name": "healthy",
                "think_time": think,
                "tasks": [{"name": "chat.ok", **(healthy or {"chat": {"path": "/ok"}})}],
            },
            {
                "name": "faulty",
                "think_time": think,
                "tasks": [{"name": "chat.fault", **faulty}],
            },
        ],
        "load": {"users": users, "duration": duration, "graceful_stop": "1s"},
        "seed": 7,
    }


def run_timed(
    data: dict[str, Any] | Coroutine[Any, Any, Result],
    *,
    out: Path | None = None,
    limit: float = 30.0,
) -> tuple[Result, float]:
    """Run a profile (or a ready coroutine) in a fresh loop; return the result and wall seconds."""
    coro = loadgen.run(profile_from_dict(data), out=out) if isinstance(data, dict) else data
    began = time.monotonic()

    async def bounded() -> Result:
        return await asyncio.wait_for(coro, limit)

    result = asyncio.run(bounded())
    return result, time.monotonic() - began


def assert_isolated(
    result: Result,
    elapsed: float,
    *,
    kinds: set[str],
    planned: float = 2.0,
    slack: float = 2.5,
    healthy_min: int = 5,
    healthy_ttft_ms: float = 250.0,
    faulty_min: int = 1,
) -> dict[str, Any]:
    """The four promises; returns the faulty scope for extra checks."""
    run = result.data["run"]
    assert run["internal_errors"] == [], run["internal_errors"]
    # On time: the plan, plus graceful_stop (1 s), plus start-up and shutdown.
    assert run["duration"] <= planned + 1.5, run
    assert elapsed <= planned + slack + 1.5, elapsed
    fault = result.scope("name", "chat.fault")
    assert fault["requests"] >= faulty_min, fault
    assert set(fault["errors_by_kind"]) == kinds, fault["errors_by_kind"]
    assert fault["errors"] == fault["requests"] - fault["ok"]
    ok = result.scope("name", "chat.ok")
    assert ok["errors"] == 0, (ok["errors_by_kind"], result.data["errors"])
    assert ok["requests"] >= healthy_min, ok
    ttft = ok["metrics"]["ttft"]
    assert ttft["count"] == ok["requests"]
    assert ttft["p99"] < healthy_ttft_ms, ttft
    assert ok["content_events"] == ok["output_tokens"]  # usage agrees with events: no lost token
    healthy_class = result.scope("class", "healthy")
    assert healthy_class["errors"] == 0
    return fault
