"""The report's AWS section: CloudWatch's view of the test window beside the client's, the
gap between client e2e and API Gateway latency, and the cost estimate (from result["aws"])."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loadgen.report import charts

__all__ = ["aws_view"]

_PALETTE = ("blue", "orange", "green", "purple", "red", "gray")


def aws_view(data: dict[str, Any], duration: float) -> dict[str, Any] | None:
    aws = data.get("aws")
    if not aws:
        return None
    cw = aws.get("cloudwatch") or {}
    series: Sequence[dict[str, Any]] = cw.get("series") or []
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for s in series:
        unit = "ms" if s.get("metric") in ("Latency", "IntegrationLatency", "Duration") else "count"
        by_unit.setdefault(unit, []).append(s)
    svgs = []
    for unit, group in sorted(by_unit.items()):
        lines = [
            charts.Line(
                f"{s.get('namespace', '').split('/')[-1]} {s['metric']} ({s['stat']})",
                [(float(p["t"]), float(p["value"])) for p in s["points"]],
                charts.COLORS[_PALETTE[i % len(_PALETTE)]],
            )
            for i, s in enumerate(group)
        ]
        title = "CloudWatch latency" if unit == "ms" else "CloudWatch counts"
        svgs.append(charts.time_chart(lines, title=title, y_label=unit, duration=duration))
    cost = aws.get("cost") or {}
    items = [
        (
            i["name"],
            f"{float(i['quantity']):,.4g} {i.get('unit', '')}".strip(),
            f"{float(i.get('cost', 0.0)):.4f}",
            i.get("note") or "",
        )
        for i in cost.get("items") or []
    ]
    return {
        "region": aws.get("region", ""),
        "error": aws.get("error"),
        "period": cw.get("period"),
        "charts": svgs,
        "gap": (cw.get("gap") or {}).get("text", ""),
        "cost_items": items,
        "cost_total": f"{float(cost['total']):.4f} {cost.get('currency', 'USD')}" if cost else "",
        "cost_source": f"{cost.get('source', '')} (prices as of {cost.get('as_of', '?')})"
        if cost
        else "",
    }
