"""Segments: n parts of a load plan together are exactly the whole test."""

from __future__ import annotations

import asyncio

import pytest
from support import chat_profile, run_async

from loadgen import Engine, profile_from_dict
from loadgen.target import BuiltinTarget, TargetConfig

FAST = {"timing": {"ttft": "5ms", "itl": "1ms", "output_tokens": 2}, "capacity": {"slots": 0}}


async def run_segments(data: dict, parts: int) -> list:
    async with BuiltinTarget(TargetConfig.from_mapping(FAST)) as target:
        data["target"]["base_url"] = target.url
        profile = profile_from_dict(data)

        async def one(i: int):
            async with Engine(profile, segment=(i, parts)) as engine:
                return await engine.run()

        return await asyncio.gather(*(one(i) for i in range(1, parts + 1)))


def test_closed_segments_split_users_and_keep_the_class_mix():
    """10 users at 70/20/10 in 3 segments: 4+3+3 users whose classes add up to 7/2/1."""
    data = chat_profile(users=10, duration="1500ms", think="100ms")
    data["users"] = [
        {"name": n, "weight": w, "think_time": "100ms", "tasks": [{"http": {"path": "/health"}}]}
        for n, w in (("regular", 70), ("power", 20), ("admin", 10))
    ]
    whole = run_async(run_segments(data, 1))[0]
    parts = run_async(run_segments(data, 3))
    assert [sum(p.data["users_by_class"].values()) for p in parts] == [4, 3, 3]
    merged: dict[str, int] = {}
    for p in parts:
        for k, v in p.data["users_by_class"].items():
            merged[k] = merged.get(k, 0) + v
    assert merged == whole.data["users_by_class"] == {"regular": 7, "power": 2, "admin": 1}
    assert [p.data["segment"] for p in parts] == [{"index": i, "count": 3} for i in (1, 2, 3)]


def test_open_segments_split_arrivals_exactly():
    """40/s for 2 s in 2 segments: 40 + 40 arrivals, the whole test's 80."""
    data = chat_profile()
    data["load"] = {"model": "open", "rate": "40/s", "duration": "2s", "graceful_stop": "5s"}
    parts = run_async(run_segments(data, 2))
    assert [p.requests for p in parts] == [40, 40]


@pytest.mark.parametrize("bad", [(0, 2), (3, 2)])
def test_a_segment_outside_1_to_n_is_refused(bad):
    """--segment 0/2 or 3/2 is a usage error."""
    with pytest.raises(ValueError, match="write i/n"):
        Engine(profile_from_dict(chat_profile()), segment=bad)
