"""The capacity model over loopback: queueing raises TTFT, sharing slows tokens, 503 on overflow."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from target_helpers import fast_config

from loadgen.target import BuiltinTarget
from loadgen.target.capacity import saturation_throughput

SLOTS, TTFT, ITL, TOKENS, CONTENTION, MAX_QUEUE = 2, 0.05, 0.01, 10, 1.0, 6


@pytest.fixture(scope="module")
def capacity_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltinTarget]:
    truth = tmp_path_factory.mktemp("capacity") / "truth.jsonl"
    config = fast_config(
        timing={"ttft": TTFT, "itl": ITL, "output_tokens": TOKENS},
        capacity={"slots": SLOTS, "contention": CONTENTION, "max_queue": MAX_QUEUE},
    )
    with BuiltinTarget(config, truth=truth) as t:
        yield t


def _burst(url: str, count: int) -> tuple[list[str], list[int]]:
    """``count`` concurrent streamed requests; returns their ids and statuses."""
    ids = [f"cap-{uuid.uuid4().hex[:8]}" for _ in range(count)]

    async def one(client: httpx.AsyncClient, rid: str) -> int:
        response = await client.post(
            "/v1/chat/completions",
            headers={"x-request-id": rid},
            json={"messages": [{"role": "user", "content": "q"}], "stream": True},
        )
        return response.status_code

    async def run() -> list[int]:
        limits = httpx.Limits(max_connections=count + 2)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            return list(await asyncio.gather(*(one(client, rid) for rid in ids)))

    return ids, asyncio.run(run())


def _ttfts(target: BuiltinTarget, ids: list[str]) -> list[dict[str, Any]]:
    records = {r["id"]: r for r in target.truth_records(ids)}
    return [records[i] for i in ids]


def test_ttft_at_four_times_the_slots_is_clearly_higher(capacity_target: BuiltinTarget) -> None:
    """Mean TTFT with 4× the slots in flight is over 3× the TTFT at 1× (queue wait)."""
    ids1, statuses1 = _burst(capacity_target.url, SLOTS)
    ids4, statuses4 = _burst(capacity_target.url, 4 * SLOTS)
    assert set(statuses1) == set(statuses4) == {200}
    at1 = _ttfts(capacity_target, ids1)
    at4 = _ttfts(capacity_target, ids4)
    ttft1 = statistics.mean(r["first_token"] - r["arrival"] for r in at1)
    ttft4 = statistics.mean(r["first_token"] - r["arrival"] for r in at4)
    assert ttft1 < TTFT + 0.03
    assert ttft4 > 3 * ttft1
    assert sum(r["queue_wait"] > 0.1 for r in at4) >= 2 * SLOTS


def test_sharing_slots_slows_each_stream(capacity_target: BuiltinTarget) -> None:
    """With both slots busy, gaps are itl·(1 + contention·(active-1)/slots) = 15 ms."""
    ids, _ = _burst(capacity_target.url, SLOTS)
    gaps = []
    for record in _ttfts(capacity_target, ids):
        tokens = record["tokens"]
        gaps += [b - a for a, b in itertools.pairwise(tokens)]
    expected = ITL * (1 + CONTENTION * (SLOTS - 1) / SLOTS)
    assert abs(statistics.median(gaps) - expected) < 0.003


def test_queue_overflow_answers_503(capacity_target: BuiltinTarget) -> None:
    """Beyond slots + max_queue requests in flight, the extra ones are refused with 503."""
    _, statuses = _burst(capacity_target.url, SLOTS + MAX_QUEUE + 2)
    assert statuses.count(503) == 2
    assert statuses.count(200) == SLOTS + MAX_QUEUE


def test_saturation_throughput_matches_the_prediction(capacity_target: BuiltinTarget) -> None:
    """Closed loop with 4× the slots: completions/s ≈ slots / (ttft + (n-1)·itl_full)."""
    predicted = saturation_throughput(SLOTS, TTFT, TOKENS, ITL, CONTENTION)
    workers, each = 4 * SLOTS, 3

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in range(each):
            response = await client.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "q"}], "stream": True},
            )
            assert response.status_code == 200

    async def run() -> float:
        limits = httpx.Limits(max_connections=workers + 2)
        async with httpx.AsyncClient(
            base_url=capacity_target.url, limits=limits, timeout=30
        ) as client:
            started = time.monotonic()
            await asyncio.gather(*(worker(client) for _ in range(workers)))
            return time.monotonic() - started

    measured = workers * each / asyncio.run(run())
    assert 0.75 * predicted <= measured <= 1.1 * predicted
