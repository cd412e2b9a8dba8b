"""AWS through profiles: chat.api bedrock, and aws: CloudWatch + cost after the run."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from aws_helpers import REGION, run
from test_aws_bedrock import ITL, TOKENS, TTFT, stand_in

import loadgen
from loadgen.edge.aws.clients import AwsClients
from loadgen.report import render_all


def test_a_bedrock_chat_task_is_measured_from_the_event_stream() -> None:
    """chat: {api: bedrock}: ttft, itl and usage tokens from Converse's event stream."""
    seen: list[dict[str, object]] = []

    async def go() -> loadgen.Result:
        async with stand_in("ok", seen) as url:
            profile = loadgen.profile_from_dict(
                {
                    "name": "bedrock",
                    "target": {"base_url": url, "timeout": "10s"},
                    "aws": {"region": REGION, "endpoint_url": url},
                    "users": [
                        {
                            "name": "u",
                            "think_time": "100ms",
                            "tasks": [
                                {
                                    "chat": {
                                        "api": "bedrock",
                                        "model": "anthropic.claude-3-haiku",
                                        "max_tokens": 64,
                                        "category": "simple",
                                    }
                                }
                            ],
                        }
                    ],
                    "load": {"users": 2, "duration": "1500ms"},
                }
            )
            return await loadgen.run(profile)

    result = run(go(), timeout=60)
    assert result.errors == {}
    assert result.requests >= 4
    assert result.metrics["ttft"].p50 == pytest.approx(TTFT * 1000, abs=15)
    assert result.metrics["itl"].p50 == pytest.approx(ITL * 1000, abs=10)
    assert result.overall["output_tokens"] == TOKENS * result.requests
    assert result.overall["token_source"] == {"usage": result.requests}
    assert seen[0]["inferenceConfig"] == {"maxTokens": 64}


def test_cloudwatch_metrics_and_cost_land_in_the_result_and_the_report(moto: str, tmp_path) -> None:
    """API Gateway and Lambda metrics put into moto during the run window appear in result
    ["aws"] and in the HTML report, with the cost estimate."""

    async def seed_now() -> None:
        clients = AwsClients(region=REGION, endpoint_url=moto)
        cw = await clients.get("cloudwatch")
        stamp = datetime.fromtimestamp(time.time() + 1, UTC)
        for namespace, name, dims, value in (
            ("AWS/ApiGateway", "Count", [{"Name": "ApiName", "Value": "chat"}], 12.0),
            ("AWS/ApiGateway", "Latency", [{"Name": "ApiName", "Value": "chat"}], 150.0),
            ("AWS/Lambda", "Invocations", [{"Name": "FunctionName", "Value": "chat-fn"}], 12.0),
            ("AWS/Lambda", "Duration", [{"Name": "FunctionName", "Value": "chat-fn"}], 90.0),
        ):
            await cw.put_metric_data(
                Namespace=namespace,
                MetricData=[
                    {"MetricName": name, "Dimensions": dims, "Timestamp": stamp, "Value": value}
                ],
            )
        await clients.aclose()

    async def go() -> loadgen.Result:
        profile = loadgen.profile_from_dict(
            {
                "name": "cw",
                "target": {"base_url": "builtin", "builtin": {"timing": {"ttft": "5ms"}}},
                "aws": {
                    "region": REGION,
                    "endpoint_url": moto,
                    "cloudwatch": {
                        "api_names": ["chat"],
                        "functions": ["chat-fn"],
                        "period": 60,
                        "wait": 0,
                    },
                    "cost": {"api": "rest", "lambda_memory_mb": 1024},
                },
                "users": [{"tasks": [{"http": {"path": "/health"}}], "think_time": "200ms"}],
                "load": {"users": 1, "duration": "3s"},
            }
        )
        engine = loadgen.Engine(profile, out=tmp_path)
        async with engine:
            task = engine.run()
            await seed_now()
            return await task

    result = run(go(), timeout=90)
    aws = result.data["aws"]
    assert "error" not in aws, aws.get("error")
    metrics = {s["metric"] for s in aws["cloudwatch"]["series"]}
    assert {"Count", "Latency", "Invocations", "Duration"} <= metrics
    assert aws["cost"]["items"]
    assert loadgen.load_result(tmp_path / "result.json").data["aws"] == aws  # saved again
    [html] = render_all(result, tmp_path, ["html"])
    page = html.read_text()
    assert "AWS: the server" in page
    assert "CloudWatch" in page
    assert "Cost estimate" in page
