"""docs/grafana-dashboard.json parses, draws what issue 22 asks for, and names only series
loadgen exports (a renamed series fails here, not in someone's Grafana)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from loadgen.core import promseries

DASHBOARD = Path(__file__).resolve().parents[1] / "docs" / "grafana-dashboard.json"
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")  # a metric name before its labels
LOADGEN = re.compile(r"\bloadgen_[a-z0-9_]+")


def expressions() -> list[str]:
    """Every PromQL expression: the panels' targets and the query variables."""
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in data["panels"] for t in p["targets"]]
    for var in data["templating"]["list"]:
        if var["type"] == "query":
            exprs.append(var["query"]["query"])
    return exprs


def test_every_series_the_dashboard_names_is_exported():
    exported = promseries.names()
    used = set()
    for expr in expressions():
        names = set(SELECTOR.findall(expr)) | set(LOADGEN.findall(expr))
        assert names, f"no series in {expr!r}"
        assert names <= exported, f"{expr!r} names {sorted(names - exported)}"
        used |= names
    wanted = {
        "loadgen_ttft_seconds_bucket",
        "loadgen_itl_seconds_bucket",
        "loadgen_e2e_seconds_bucket",
        "loadgen_requests_total",
        "loadgen_errors_total",
        "loadgen_output_tokens_total",
        "loadgen_users",
    }
    assert wanted <= used


def test_percentiles_come_from_summed_buckets_never_from_averages():
    """Each percentile is histogram_quantile over ``sum by (le…)`` of bucket rates: parts
    and scopes combine exactly; nothing averages a percentile."""
    for expr in expressions():
        assert "avg" not in expr
        if "_bucket" in expr:
            assert re.search(r"histogram_quantile\(0\.\d+, sum by \(le\b", expr), expr
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
