"""Built-in targets started once per session, with fast configs and a truth log each."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from target_helpers import fast_config

from loadgen.target import BuiltinTarget


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltinTarget]:
    """The shared target: ttft 50 ms, itl 5 ms, 8 tokens, unlimited slots, truth logged."""
    truth = tmp_path_factory.mktemp("truth") / "truth.jsonl"
    with BuiltinTarget(fast_config(), truth=truth) as t:
        yield t


@pytest.fixture
def client(target: BuiltinTarget) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.url, timeout=10) as c:
        yield c
