"""CloudWatch metrics of the run's window, seeded into moto with put_metric_data."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from aws_helpers import REGION, run

from loadgen.core.aws.config import CloudWatchConfig, PushConfig
from loadgen.edge.aws.clients import AwsClients
from loadgen.edge.aws.cloudwatch import explain_gap, fetch, interval_metric_data, push_intervals


async def seed(url: str, start: float) -> None:
    """Two minutes of API Gateway and Lambda metrics, as AWS would publish them."""
    clients = AwsClients(region=REGION, endpoint_url=url)
    cw = await clients.get("cloudwatch")
    for minute, (count, latency, integration, duration) in enumerate(
        [(100, 120.0, 90.0, 80.0), (300, 160.0, 110.0, 100.0)]
    ):
        stamp = datetime.fromtimestamp(start + 60 * minute, UTC)
        gateway = [{"Name": "ApiName", "Value": "chat"}]
        fn = [{"Name": "FunctionName", "Value": "chat-fn"}]
        data = [
            ("AWS/ApiGateway", "Count", gateway, count),
            ("AWS/ApiGateway", "Latency", gateway, latency),
            ("AWS/ApiGateway", "IntegrationLatency", gateway, integration),
            ("AWS/Lambda", "Invocations", fn, count),
            ("AWS/Lambda", "Duration", fn, duration),
        ]
        for namespace, name, dims, value in data:
            await cw.put_metric_data(
                Namespace=namespace,
                MetricData=[
                    {"MetricName": name, "Dimensions": dims, "Timestamp": stamp, "Value": value}
                ],
            )
    await clients.aclose()


def test_fetch_returns_series_on_the_run_time_axis_and_explains_the_gap(moto: str) -> None:
    """Points carry t = seconds since the run started; the gap splits client e2e."""
    start = time.time() // 60 * 60 - 180  # a whole minute, three minutes ago
    run(seed(moto, start))
    config = CloudWatchConfig(api_names=("chat",), functions=("chat-fn",), period=60)

    async def go() -> dict[str, object]:
        clients = AwsClients(region=REGION, endpoint_url=moto)
        try:
            return await fetch(clients, config, start=start, end=start + 119)
        finally:
            await clients.aclose()

    data = run(go())
    series = {(s["metric"], s["stat"]): s for s in data["series"]}  # type: ignore[attr-defined]
    latency = series[("Latency", "Average")]
    assert latency["dimensions"] == {"ApiName": "chat"}
    assert latency["unit"] == "ms"
    assert [(p["t"], p["value"]) for p in latency["points"]] == [(0.0, 120.0), (60.0, 160.0)]
    assert [p["value"] for p in series[("Invocations", "Sum")]["points"]] == [100.0, 300.0]
    assert ("5XXError", "Sum") not in series  # nothing published: the series is dropped
    gap = explain_gap(data, client_e2e_mean_ms=200.0)
    # count-weighted: latency (100·120 + 300·160)/400 = 150, integration (9000+33000)/400 = 105
    assert gap["gateway_latency_mean_ms"] == 150.0
    assert gap["integration_latency_mean_ms"] == 105.0
    assert gap["outside_gateway_ms"] == 50.0
    assert gap["gateway_overhead_ms"] == 45.0
    assert "50 ms is outside it" in gap["text"]


def test_pushed_intervals_can_be_read_back(moto: str) -> None:
    """put_metric_data of loadgen's intervals; a dashboard reads Requests per second back."""
    started = time.time() // 60 * 60 - 120
    intervals = [
        {"t": 0.0, "requests": 5, "errors": 1, "output_tokens": 40, "users": 2,
         "ttft": {"count": 5, "p50": 100.0, "p95": 180.0}, "e2e": {"count": 0}},
        {"t": 1.0, "requests": 7, "errors": 0, "output_tokens": 56, "users": 2,
         "ttft": {"count": 7, "p50": 110.0, "p95": 190.0}, "e2e": {"count": 0}},
    ]  # fmt: skip
    push = PushConfig(namespace="loadgen-test", dimensions=(("Profile", "spike"),))
    items = interval_metric_data(intervals, push, started)
    assert {i["MetricName"] for i in items} == {
        "Requests", "Errors", "OutputTokens", "Users", "TTFTp50", "TTFTp95",
    }  # fmt: skip

    async def go() -> list[float]:
        clients = AwsClients(region=REGION, endpoint_url=moto)
        try:
            sent = await push_intervals(clients, push, intervals, started)
            assert sent == len(items)
            cw = await clients.get("cloudwatch")
            got = await cw.get_metric_statistics(
                Namespace="loadgen-test",
                MetricName="Requests",
                Dimensions=[{"Name": "Profile", "Value": "spike"}],
                StartTime=datetime.fromtimestamp(started - 60, UTC),
                EndTime=datetime.fromtimestamp(started + 60, UTC),
                Period=60,
                Statistics=["Sum"],
            )
            return [p["Sum"] for p in got["Datapoints"]]
        finally:
            await clients.aclose()

    assert run(go()) == [12.0]


def test_after_run_builds_the_result_aws_section(moto: str) -> None:
    """One call: CloudWatch series with the gap, and a cost from the gateway's own Count."""
    from loadgen.core.aws.config import AwsConfig, CostConfig
    from loadgen.edge.aws.post import after_run

    start = time.time() // 60 * 60 - 180
    run(seed(moto, start))
    config = AwsConfig(
        region=REGION,
        endpoint_url=moto,
        cloudwatch=CloudWatchConfig(api_names=("chat",), functions=("chat-fn",)),
        cost=CostConfig(api="rest", lambda_memory_mb=1024),
    )
    result = {
        "started": start,
        "ended": start + 119,
        "scopes": {"overall": {"requests": 999, "metrics": {"e2e": {"mean": 200.0}}}},
        "intervals": [],
    }
    section = run(after_run(config, result, cognito_mau=2))
    assert section["cloudwatch"]["gap"]["outside_gateway_ms"] == 50.0
    items = {i["name"]: i for i in section["cost"]["items"]}
    assert items["apigw_rest_requests"]["quantity"] == 400  # CloudWatch's Count, not 999
    assert items["lambda_requests"]["quantity"] == 400
    assert items["cognito_mau"]["quantity"] == 2
    # Duration Sum over the two seeded points: (80 + 100) ms × 1 GB = 0.18 GB-s
    assert items["lambda_gb_seconds_x86_64"]["quantity"] == pytest.approx(0.18)
