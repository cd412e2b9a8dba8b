"""TargetConfig from the YAML shape and back, and every problem reported at once (no sockets)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadgen.target.config import (
    Capacity,
    ConfigError,
    Faults,
    TargetConfig,
    config_from_mapping,
    config_to_mapping,
)
from loadgen.target.dists import Dist


def test_defaults_are_realistic_and_quick() -> None:
    """No flags: lognormal TTFT around 150 ms, 15–25 ms gaps, 20–80 tokens, 64 slots, no faults."""
    config = TargetConfig()
    assert config.timing.ttft == Dist.lognormal(0.15, 0.4)
    assert config.timing.itl == Dist.uniform(0.015, 0.025)
    assert config.timing.output_tokens == Dist.uniform(20, 80)
    assert config.capacity.slots == 64
    assert sum(config.faults.rates().values()) == 0
    assert config.host == "127.0.0.1"


def test_yaml_shape_is_read() -> None:
    """Durations, rates, percentages and fault sub-keys are normalised."""
    config = config_from_mapping(
        {
            "seed": 5,
            "timing": {
                "ttft": {"constant": "200ms"},
                "itl": "uniform:10ms,30ms",
                "output_tokens": {"uniform": [20, 120]},
                "context_ttft": "10ms",
            },
            "capacity": {"slots": 8, "max_queue": 100},
            "faults": {
                "http_500": "1%",
                "http_429": {"rate": 0.05, "retry_after": "3s"},
                "stall": {"rate": 0.01, "duration": "5s"},
            },
            "auth": {"token_ttl": "1s", "api_keys": ["k1", "k2"], "require_auth_openai": "yes"},
            "chat": {"citation_rate": "30%"},
        }
    )
    assert config.seed == 5
    assert config.timing.ttft == Dist.constant(0.2)
    assert config.timing.context_ttft == pytest.approx(0.01)
    assert config.capacity == Capacity(slots=8, contention=1.0, max_queue=100)
    assert config.faults.http_500 == 0.01
    assert (config.faults.http_429, config.faults.retry_after) == (0.05, 3.0)
    assert config.faults.stall_duration == 5.0
    assert config.auth.token_ttl == 1.0
    assert config.auth.api_keys == ("k1", "k2")
    assert config.auth.require_auth_openai is True
    assert config.chat.citation_rate == 0.3


def test_every_problem_is_reported_with_its_key() -> None:
    """Unknown keys get the closest valid name; bad values say what to write."""
    with pytest.raises(ConfigError) as info:
        config_from_mapping(
            {
                "sead": 1,
                "timing": {"tft": "1s"},
                "capacity": {"slots": "x"},
                "faults": {"http_501": 0.1},
            }
        )
    problems = dict(info.value.problems)
    assert problems["sead"] == "unknown key; did you mean 'seed'?"
    assert problems["timing.tft"] == "unknown key; did you mean 'ttft'?"
    assert "not a whole number" in problems["capacity.slots"]
    assert "did you mean 'http_50" in problems["faults.http_501"]


def test_fault_rates_must_not_exceed_one() -> None:
    """Rates are exclusive per request, so they must add up to at most 100 %."""
    with pytest.raises(ConfigError, match="add up to more than 100 %"):
        config_from_mapping({"faults": {"http_500": 0.6, "http_503": 0.6}})


def _configs() -> st.SearchStrategy[TargetConfig]:
    dists = st.builds(Dist.uniform, st.just(0.0), st.floats(0, 10))
    return st.builds(
        lambda seed, slots, ttft, rate: replace(
            TargetConfig(seed=seed, capacity=Capacity(slots=slots)),
            timing=replace(TargetConfig().timing, ttft=ttft),
            faults=Faults(http_503=rate),
        ),
        st.integers(0, 2**31),
        st.integers(0, 1000),
        dists,
        st.floats(0, 1),
    )


@given(_configs())
def test_mapping_round_trips(config: TargetConfig) -> None:
    """``config_to_mapping`` writes what ``config_from_mapping`` reads back (BuiltinTarget)."""
    assert config_from_mapping(config_to_mapping(config)) == config
