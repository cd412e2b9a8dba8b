"""The cost arithmetic against a hand-computed example (docs/aws.md shows the same one)."""

from __future__ import annotations

import pytest

from loadgen.core.aws.cost import (
    Usage,
    estimate,
    lambda_gb_seconds,
    load_prices,
    usage_from_cloudwatch,
)

# 2 M REST calls, 2 M Lambda invocations of 120 ms at 512 MB, 50 GB out, 100 Cognito users.
EXAMPLE = Usage(
    api="rest",
    api_requests=2_000_000,
    lambda_invocations=2_000_000,
    lambda_gb_seconds=lambda_gb_seconds(2_000_000 * 120, 512),
    data_out_bytes=50 * 1024**3,
    cognito_mau=100,
)


def test_the_table_names_its_source_and_date() -> None:
    """A price without a source and a date is a guess; the table carries both."""
    prices = load_prices()
    assert "aws.amazon.com" in prices.source
    assert prices.as_of[:4].isdigit()
    assert prices.currency == "USD"


def test_hand_computed_example_without_free_tier() -> None:
    """7.00 + 0.40 + 120,000 GB-s × 0.0000166667 + 50 × 0.09 + 100 × 0.015 = 15.400004."""
    assert lambda_gb_seconds(2_000_000 * 120, 512) == 120_000
    result = estimate(EXAMPLE, load_prices())
    costs = {i.name: round(i.cost, 6) for i in result.items}
    assert costs == {
        "apigw_rest_requests": 7.0,
        "lambda_requests": 0.4,
        "lambda_gb_seconds_x86_64": 2.000004,
        "data_transfer_out": 4.5,
        "cognito_mau": 1.5,
    }
    assert result.total == pytest.approx(15.400004)


def test_hand_computed_example_with_free_tier() -> None:
    """Free: 1 M REST calls, 1 M Lambda requests, 400k GB-s, 100 GB, 10k MAU → 3.50 + 0.20."""
    result = estimate(EXAMPLE, load_prices(), free_tier=True)
    assert result.total == pytest.approx(3.70)
    gb_s = next(i for i in result.items if i.name.startswith("lambda_gb"))
    assert gb_s.free == 120_000
    assert gb_s.cost == 0
    assert "400,000" in gb_s.note
    assert result.to_dict()["free_tier"] is True


def test_usage_prefers_cloudwatch_counts_over_the_client_count() -> None:
    """Gateway Count and Lambda Duration sums feed the estimate; no series → client count."""
    data = {
        "series": [
            {"namespace": "AWS/ApiGateway", "metric": "Count", "stat": "Sum",
             "points": [{"value": 10.0}, {"value": 30.0}]},
            {"namespace": "AWS/Lambda", "metric": "Duration", "stat": "Sum",
             "points": [{"value": 4000.0}]},
            {"namespace": "AWS/Lambda", "metric": "Invocations", "stat": "Sum",
             "points": [{"value": 40.0}]},
        ]
    }  # fmt: skip
    usage = usage_from_cloudwatch(data, api="http", client_requests=45, memory_mb=1024)
    assert (usage.api_requests, usage.lambda_invocations, usage.lambda_gb_seconds) == (40, 40, 4)
    assert (
        usage_from_cloudwatch(None, api="http", client_requests=45, memory_mb=None).api_requests
        == 45
    )
