"""Parsing the cognito, sigv4 and aws sections: every problem with its path, no secrets."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from loadgen.core.aws.config import parse_aws, parse_cognito, parse_sigv4

POOL = "us-east-1_Abc123"
BASE: dict[str, Any] = {
    "kind": "cognito",
    "region": "us-east-1",
    "user_pool_id": POOL,
    "client_id": "client-1",
    "users": [{"username": "lt-1", "password": "hunter2-Secret"}],
}


def problems_of(
    parse: Any, data: dict[str, Any]
) -> tuple[Any, list[tuple[tuple[Any, ...], str, str]]]:
    found: list[tuple[tuple[Any, ...], str, str]] = []
    result = parse(data, lambda path, what, fix: found.append((path, what, fix)))
    return result, found


def test_a_minimal_cognito_section_has_the_documented_defaults() -> None:
    """Defaults: password flow, a session per VU, ID token as Bearer, refresh 5 min early."""
    config, found = problems_of(parse_cognito, BASE)
    assert found == []
    assert (config.flow, config.share, config.token, config.header, config.scheme) == (
        "password", "per_vu", "id", "Authorization", "Bearer",
    )  # fmt: skip
    assert config.refresh_before == 300
    assert config.client_secret is None
    assert "hunter2" not in repr(config)
    assert "hunter2" not in repr(config.users)


def test_a_username_pattern_makes_a_pool_of_users() -> None:
    """users: {username: "lt-{n:02d}", password, count: 3} → lt-01, lt-02, lt-03."""
    data = {**BASE, "users": {"username": "lt-{n:02d}", "password": "pw-Secret-1", "count": 3}}
    config, found = problems_of(parse_cognito, data)
    assert found == []
    assert [u.username for u in config.users] == ["lt-01", "lt-02", "lt-03"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        pytest.param({"flwo": "srp"}, ("flwo",), id="a misspelt key is unknown"),
        pytest.param({"flow": "magic"}, ("flow",), id="an unknown flow"),
        pytest.param(
            {"user_pool_id": "eu-west-1_X"}, ("user_pool_id",), id="a pool of another region"
        ),
        pytest.param(
            {"users": [{"username": "a"}]}, ("users", 0, "password"), id="a user without password"
        ),
        pytest.param(
            {"users": {"username": "lt", "password": "p", "count": 2}},
            ("users", "username"),
            id="a pattern without {n}",
        ),
        pytest.param({"refresh_before": "soon"}, ("refresh_before",), id="a bad duration"),
        pytest.param(
            {"backoff": {"initial": "10s", "max": "1s"}},
            ("backoff",),
            id="backoff max below initial",
        ),
    ],
)
def test_cognito_problems_name_their_path(change: dict[str, Any], path: tuple[Any, ...]) -> None:
    """Each mistake is reported at its path (the validator adds file:line), and None returned."""
    config, found = problems_of(parse_cognito, {**BASE, **change})
    assert config is None
    assert [p[0] for p in found] == [path]
    assert all("hunter2" not in what + fix for _, what, fix in found)


def test_unknown_key_suggests_the_closest_name() -> None:
    """k6-style hint: 'did you mean ...?'."""
    _, found = problems_of(parse_cognito, {**BASE, "client_secrt": "x"})
    assert found[0][2] == "did you mean 'client_secret'?"


def test_empty_scheme_puts_the_raw_token() -> None:
    """scheme: "" means the header holds the token alone (some APIs want no 'Bearer')."""
    config, _ = problems_of(parse_cognito, {**BASE, "scheme": "", "header": "x-id-token"})
    assert (config.scheme, config.header) == ("", "x-id-token")


def test_sigv4_section() -> None:
    """region is required; service defaults to execute-api."""
    config, found = problems_of(parse_sigv4, {"kind": "sigv4", "region": "eu-west-1"})
    assert found == []
    assert config.service == "execute-api"
    config, found = problems_of(parse_sigv4, {"kind": "sigv4"})
    assert config is None
    assert found[0][0] == ("region",)


def test_aws_section_with_cloudwatch_and_cost() -> None:
    """Names may be one string or a list; period must be a CloudWatch period."""
    data = {
        "region": "us-east-1",
        "cloudwatch": {"api_names": "chat", "functions": ["chat-fn"], "period": "1m",
                       "push": {"namespace": "lg", "dimensions": {"Profile": "spike"}}},
        "cost": {"api": "http", "lambda_memory_mb": 512, "free_tier": True},
    }  # fmt: skip
    config, found = problems_of(parse_aws, data)
    assert found == []
    assert config.cloudwatch.api_names == ("chat",)
    assert config.cloudwatch.period == 60
    assert config.cloudwatch.push.dimensions == (("Profile", "spike"),)
    assert config.cost.api == "http"
    assert config.cost.free_tier
    bad, found = problems_of(
        parse_aws, {"region": "x", "cloudwatch": {"api_names": ["a"], "period": "90s"}}
    )
    assert bad is None
    assert found[0][0] == ("cloudwatch", "period")


def test_importing_the_config_loads_no_boto() -> None:
    """Profiles without AWS sections must not pay for aioboto3 at import time."""
    code = (
        "import sys, loadgen.edge.aws, loadgen.core.aws.config, loadgen.core.aws.cost;"
        "print(sorted(m for m in sys.modules if 'boto' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
