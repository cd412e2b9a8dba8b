"""What a run cost on AWS, from measured counts and the price table (pure arithmetic).

The table (``prices.json`` beside this module) names its source pages and the date it was
read; the report prints both, so nobody mistakes an estimate for a bill. Each line item is
``quantity / per × price``; with ``free_tier`` the monthly free allowance is subtracted first,
as if this run were the account's only use that month (docs/aws.md works an example).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "CostEstimate",
    "LineItem",
    "PriceTable",
    "Usage",
    "estimate",
    "lambda_gb_seconds",
    "load_prices",
    "usage_from_cloudwatch",
]

GB = 1024**3


@dataclass(frozen=True, slots=True)
class Price:
    unit: str
    per: float
    price: float
    free_monthly: float = 0.0
    free_note: str = ""


@dataclass(frozen=True, slots=True)
class PriceTable:
    source: str
    as_of: str
    region: str
    currency: str
    items: Mapping[str, Price]


def load_prices(path: str | Path | None = None) -> PriceTable:
    """The packaged table, or a user's own file of the same shape."""
    if path is None:
        text = resources.files("loadgen.core.aws").joinpath("prices.json").read_text()
    else:
        text = Path(path).read_text()
    raw = json.loads(text)
    items = {name: Price(**value) for name, value in raw["items"].items()}
    return PriceTable(raw["source"], raw["as_of"], raw["region"], raw["currency"], items)


@dataclass(frozen=True, kw_only=True, slots=True)
class Usage:
    """Measured quantities of one run."""

    api: str = "rest"  # rest | http | websocket | none
    api_requests: float = 0  # REST/HTTP calls, or WebSocket messages
    ws_connection_minutes: float = 0
    lambda_invocations: float = 0
    lambda_gb_seconds: float = 0
    lambda_arch: str = "x86_64"
    data_out_bytes: float = 0
    cognito_mau: float = 0


@dataclass(frozen=True, slots=True)
class LineItem:
    name: str
    quantity: float
    unit: str
    free: float  # quantity the free tier covered
    unit_price: float
    per: float
    cost: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class CostEstimate:
    items: list[LineItem] = field(default_factory=list)
    total: float = 0.0
    currency: str = "USD"
    source: str = ""
    as_of: str = ""
    free_tier: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "currency": self.currency,
            "source": self.source,
            "as_of": self.as_of,
            "free_tier": self.free_tier,
            "items": [
                {
                    "name": i.name,
                    "quantity": i.quantity,
                    "unit": i.unit,
                    "free": i.free,
                    "unit_price": i.unit_price,
                    "per": i.per,
                    "cost": i.cost,
                    "note": i.note,
                }
                for i in self.items
            ],
        }


def lambda_gb_seconds(duration_sum_ms: float, memory_mb: float) -> float:
    """Billed compute: total duration × configured memory (1 ms billing granularity)."""
    return duration_sum_ms / 1000 * memory_mb / 1024


_API_ITEMS = {
    "rest": "apigw_rest_requests",
    "http": "apigw_http_requests",
    "websocket": "apigw_ws_messages",
}


def estimate(usage: Usage, prices: PriceTable, *, free_tier: bool = False) -> CostEstimate:
    """One line item per priced quantity that is non-zero, and their sum."""
    wanted: list[tuple[str, float]] = []
    if usage.api in _API_ITEMS:
        wanted.append((_API_ITEMS[usage.api], usage.api_requests))
    if usage.api == "websocket":
        wanted.append(("apigw_ws_connection_minutes", usage.ws_connection_minutes))
    wanted += [
        ("lambda_requests", usage.lambda_invocations),
        (f"lambda_gb_seconds_{usage.lambda_arch}", usage.lambda_gb_seconds),
        ("data_transfer_out", usage.data_out_bytes / GB),
        ("cognito_mau", usage.cognito_mau),
    ]
    items = []
    for name, quantity in wanted:
        if quantity <= 0:
            continue
        price = prices.items[name]
        free = min(quantity, price.free_monthly) if free_tier else 0.0
        cost = (quantity - free) / price.per * price.price
        note = price.free_note if free_tier and free else ""
        items.append(LineItem(name, quantity, price.unit, free, price.price, price.per, cost, note))
    return CostEstimate(
        items=items,
        total=sum(i.cost for i in items),
        currency=prices.currency,
        source=prices.source,
        as_of=prices.as_of,
        free_tier=free_tier,
    )


def _sum(data: Mapping[str, Any], namespace: str, metric: str, stat: str) -> float:
    return sum(
        float(p["value"])
        for s in data.get("series", [])
        if s["namespace"] == namespace and s["metric"] == metric and s["stat"] == stat
        for p in s["points"]
    )


def usage_from_cloudwatch(
    data: Mapping[str, Any] | None,
    *,
    api: str,
    client_requests: int,
    memory_mb: float | None,
    lambda_arch: str = "x86_64",
    data_out_bytes: float = 0,
    cognito_mau: int = 0,
) -> Usage:
    """Usage from the pulled CloudWatch series, falling back to the client's request count."""
    data = data or {}
    gateway = _sum(data, "AWS/ApiGateway", "MessageCount" if api == "websocket" else "Count", "Sum")
    duration = _sum(data, "AWS/Lambda", "Duration", "Sum")
    return Usage(
        api=api,
        api_requests=gateway or client_requests,
        lambda_invocations=_sum(data, "AWS/Lambda", "Invocations", "Sum"),
        lambda_gb_seconds=lambda_gb_seconds(duration, memory_mb) if memory_mb else 0.0,
        lambda_arch=lambda_arch,
        data_out_bytes=data_out_bytes,
        cognito_mau=cognito_mau,
    )
