"""The server's view of the test: CloudWatch metrics of the run's window, and our own pushed.

:func:`fetch` pulls API Gateway and Lambda metrics with one ``GetMetricData`` call and
returns plain dicts (the ``aws.cloudwatch`` section of the result, shape in docs/aws.md) whose
points carry ``t``, seconds since the run started: the same axis as the result's intervals,
so the report draws both on one chart. :func:`explain_gap` says where the difference between
the client's e2e and API Gateway's Latency goes. Percentile statistics are not requested: the
averages and maxima are what every account has (and moto cannot compute percentiles).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from loadgen.core.aws.config import CloudWatchConfig, PushConfig
from loadgen.edge.aws.clients import AwsClients

__all__ = ["explain_gap", "fetch", "interval_metric_data", "push_intervals", "queries"]

# (metric, statistic, unit shown); REST APIs name errors 4XXError/5XXError, HTTP APIs 4xx/5xx.
_REST = [
    ("Count", "Sum", "count"),
    ("Latency", "Average", "ms"),
    ("Latency", "Maximum", "ms"),
    ("IntegrationLatency", "Average", "ms"),
    ("4XXError", "Sum", "count"),
    ("5XXError", "Sum", "count"),
]
_V2 = [
    ("Count", "Sum", "count"),
    ("Latency", "Average", "ms"),
    ("Latency", "Maximum", "ms"),
    ("IntegrationLatency", "Average", "ms"),
    ("4xx", "Sum", "count"),
    ("5xx", "Sum", "count"),
    ("MessageCount", "Sum", "count"),  # WebSocket APIs
    ("ConnectCount", "Sum", "count"),
]
_LAMBDA = [
    ("Invocations", "Sum", "count"),
    ("Duration", "Average", "ms"),
    ("Duration", "Maximum", "ms"),
    ("Duration", "Sum", "ms"),  # GB-seconds for the cost estimate
    ("Errors", "Sum", "count"),
    ("Throttles", "Sum", "count"),
    ("ConcurrentExecutions", "Maximum", "count"),
]


def queries(config: CloudWatchConfig) -> list[dict[str, Any]]:
    """The series to pull: one per (resource, metric, statistic)."""
    stage = [("Stage", config.stage)] if config.stage else []
    wanted: list[tuple[str, list[tuple[str, str]], list[tuple[str, str, str]]]] = []
    wanted += [("AWS/ApiGateway", [("ApiName", n), *stage], _REST) for n in config.api_names]
    wanted += [("AWS/ApiGateway", [("ApiId", i), *stage], _V2) for i in config.api_ids]
    wanted += [("AWS/Lambda", [("FunctionName", f)], _LAMBDA) for f in config.functions]
    out = []
    for namespace, dims, metrics in wanted:
        for metric, stat, unit in metrics:
            out.append(
                {
                    "namespace": namespace,
                    "metric": metric,
                    "stat": stat,
                    "unit": unit,
                    "dimensions": dict(dims),
                }
            )
    return out


def _query(query_id: str, q: Mapping[str, Any], period: int) -> dict[str, Any]:
    dimensions = [{"Name": k, "Value": v} for k, v in q["dimensions"].items()]
    metric = {"Namespace": q["namespace"], "MetricName": q["metric"], "Dimensions": dimensions}
    stat = {"Metric": metric, "Period": period, "Stat": q["stat"]}
    return {"Id": query_id, "MetricStat": stat, "ReturnData": True}


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


async def fetch(
    clients: AwsClients, config: CloudWatchConfig, *, start: float, end: float
) -> dict[str, Any]:
    """Pull ``[start, end]`` (Unix seconds) at ``config.period``; empty series are dropped."""
    period = config.period
    wanted = queries(config)
    client = await clients.get("cloudwatch")
    window_start = datetime.fromtimestamp(start - start % period, UTC)
    window_end = datetime.fromtimestamp(end - end % period + period, UTC)
    found: dict[str, tuple[list[Any], list[Any]]] = {}
    for first in range(0, len(wanted), 500):  # GetMetricData takes up to 500 queries
        batch = [_query(f"m{first + i}", q, period) for i, q in enumerate(wanted[first:][:500])]
        token = None
        while True:
            extra: dict[str, Any] = {"NextToken": token} if token else {}
            page = await client.get_metric_data(
                MetricDataQueries=batch, StartTime=window_start, EndTime=window_end, **extra
            )
            for result in page.get("MetricDataResults", []):
                stamps, values = found.setdefault(result["Id"], ([], []))
                stamps.extend(result.get("Timestamps", []))
                values.extend(result.get("Values", []))
            token = page.get("NextToken")
            if not token:
                break
    series = []
    for i, q in enumerate(wanted):
        stamps, values = found.get(f"m{i}", ([], []))
        if not values:
            continue
        points = [
            {"t": round(_epoch(s) - start, 3), "wall": _epoch(s), "value": float(v)}
            for s, v in zip(stamps, values, strict=True)
        ]
        points.sort(key=lambda p: float(p["t"]))
        series.append({**q, "points": points})
    return {
        "region": clients.region,
        "period": period,
        "start": start,
        "end": end,
        "series": series,
    }


def _find(series: Iterable[Mapping[str, Any]], metric: str, stat: str) -> list[Mapping[str, Any]]:
    return [s for s in series if s["metric"] == metric and s["stat"] == stat]


def _weighted_mean(
    averages: Sequence[Mapping[str, Any]], counts: Sequence[Mapping[str, Any]]
) -> float | None:
    """Mean of per-period averages weighted by the period's request count (if known)."""
    weight = {p["wall"]: p["value"] for s in counts for p in s["points"]}
    total = num = 0.0
    for s in averages:
        for p in s["points"]:
            w = weight.get(p["wall"], 1.0) if weight else 1.0
            total += w
            num += w * p["value"]
    return num / total if total else None


def explain_gap(data: Mapping[str, Any], client_e2e_mean_ms: float | None) -> dict[str, Any]:
    """Split client e2e into network/client time, gateway overhead and integration time."""
    series = data.get("series", [])
    counts = _find(series, "Count", "Sum")
    latency = _weighted_mean(_find(series, "Latency", "Average"), counts)
    integration = _weighted_mean(_find(series, "IntegrationLatency", "Average"), counts)
    out: dict[str, Any] = {
        "client_e2e_mean_ms": client_e2e_mean_ms,
        "gateway_latency_mean_ms": latency,
        "integration_latency_mean_ms": integration,
        "outside_gateway_ms": None,
        "gateway_overhead_ms": None,
    }
    parts = []
    if latency is not None and client_e2e_mean_ms is not None:
        out["outside_gateway_ms"] = client_e2e_mean_ms - latency
        parts.append(
            f"of the client's mean e2e {client_e2e_mean_ms:.0f} ms, API Gateway accounts for "
            f"{latency:.0f} ms; the other {client_e2e_mean_ms - latency:.0f} ms is outside it: "
            "DNS, TCP and TLS set-up, the network both ways, and waiting in the generator"
        )
    if latency is not None and integration is not None:
        out["gateway_overhead_ms"] = latency - integration
        parts.append(
            "inside API Gateway, the integration (Lambda, ECS, HTTP backend) took"
            f" {integration:.0f} ms and the gateway itself {latency - integration:.0f} ms"
            " (authorizers, mapping, throttling checks)"
        )
    out["text"] = "; ".join(parts) if parts else "no API Gateway latency in the window"
    return out


def interval_metric_data(
    intervals: Iterable[Mapping[str, Any]], push: PushConfig, started: float
) -> list[dict[str, Any]]:
    """Our per-interval series as ``MetricData`` items (1-second, high-resolution)."""
    dims = [{"Name": k, "Value": v} for k, v in push.dimensions]
    items: list[dict[str, Any]] = []
    for record in intervals:
        stamp = datetime.fromtimestamp(started + float(record["t"]), UTC)

        def add(name: str, value: Any, unit: str, stamp: datetime = stamp) -> None:
            if value is not None:
                items.append(
                    {
                        "MetricName": name,
                        "Dimensions": dims,
                        "Timestamp": stamp,
                        "Value": float(value),
                        "Unit": unit,
                        "StorageResolution": 1,
                    }
                )

        add("Requests", record.get("requests"), "Count")
        add("Errors", record.get("errors"), "Count")
        add("OutputTokens", record.get("output_tokens"), "Count")
        add("Users", record.get("users"), "Count")
        for metric in ("ttft", "e2e"):
            brief = record.get(metric) or {}
            add(f"{metric.upper()}p50", brief.get("p50"), "Milliseconds")
            add(f"{metric.upper()}p95", brief.get("p95"), "Milliseconds")
    return items


async def push_intervals(
    clients: AwsClients, push: PushConfig, intervals: Iterable[Mapping[str, Any]], started: float
) -> int:
    """``PutMetricData`` of our intervals (1000 items per call); returns items sent."""
    items = interval_metric_data(intervals, push, started)
    client = await clients.get("cloudwatch")
    for first in range(0, len(items), 1000):
        await client.put_metric_data(
            Namespace=push.namespace, MetricData=items[first : first + 1000]
        )
    return len(items)
