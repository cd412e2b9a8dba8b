"""Helpers for the engine's tests (import with `from support import ...`; not a conftest,
so the name cannot clash with tests/target/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from loadgen.core.chat import ChunkError
from loadgen.core.readers import OpenAIReader, StreamEnded
from loadgen.core.sse import SSEError

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


def children(pid: int) -> list[tuple[int, str]]:
    """The direct children of ``pid`` (any thread of it) with their command lines, arguments
    joined by spaces (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == pid:
            out.append((int(entry.name), cmdline))
    return out


def reader_outcome(reads: list[bytes], *, keep_text: bool) -> tuple[object, ...]:
    """What an OpenAI reader makes of these reads, the i-th at time i: token times, usage
    (used or rejected) and how the stream ended, or the error it raised. ``keep_text=True``
    forces the full parse of every event; the default takes the fast paths."""
    reader = OpenAIReader(keep_text=keep_text)
    try:
        for i, read in enumerate(reads):
            reader.feed(read, float(i))
        reader.close(99.0)
    except (ChunkError, SSEError, StreamEnded) as exc:
        return ("raised", type(exc).__name__, reader.token_times)
    return (
        reader.token_times,
        reader.usage_tokens,
        reader.usage_rejected,
        reader.done,
        reader.without_done,
    )
