"""Helpers for the engine's tests (import with `from support import ...`; not a conftest,
so the name cannot clash with tests/target/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T], timeout: float = 90.0) -> T:
    """Run a coroutine in a new event loop with a hard time limit (no test hangs)."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def chat_profile(
    base_url: str = "builtin",
    *,
    users: int = 5,
    duration: str = "3s",
    builtin: dict[str, Any] | None = None,
    tasks: list[Any] | None = None,
    think: Any = None,
    **top: Any,
) -> dict[str, Any]:
    """A small valid profile: one user class chatting through the OpenAI API."""
    user: dict[str, Any] = {"name": "regular", "tasks": tasks or [{"chat": {"category": "simple"}}]}
    if think is not None:
        user["think_time"] = think
    profile: dict[str, Any] = {
        "name": "test",
        "target": {"base_url": base_url, "timeout": "20s"},
        "users": [user],
        "load": {"users": users, "duration": duration, "graceful_stop": "5s"},
        "seed": 1,
    }
    if builtin is not None:
        profile["target"]["builtin"] = builtin
    profile.update(top)
    return profile


def held_levels(part: dict[str, Any], step: dict[str, Any]) -> set[int]:
    """The user counts a part's intervals show inside a breakpoint step, after its first
    second (the part may still be moving to the step's level during that second)."""
    return {
        r["users"]
        for r in part["intervals"]
        if step["start"] + 1 <= r["t"] and r["t"] + r["length"] <= step["end"]
    }
