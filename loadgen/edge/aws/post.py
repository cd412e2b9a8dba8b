"""After a run: the ``aws`` section of the result (server metrics, the gap, the cost).

One call for the engine: given the profile's ``aws:`` section and the finished result's
dict, pull CloudWatch for the run's window, explain the client/gateway gap, estimate the
cost, and push our intervals when asked. The returned dict is stored as ``result["aws"]``;
reports read it from there (shape in docs/aws.md), never from a live engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from loadgen.core.aws.config import AwsConfig
from loadgen.core.aws.cost import estimate, load_prices, usage_from_cloudwatch
from loadgen.edge.aws.clients import AwsClients
from loadgen.edge.aws.cloudwatch import explain_gap, fetch, push_intervals

__all__ = ["after_run"]


async def after_run(
    config: AwsConfig,
    result: Mapping[str, Any],
    *,
    cognito_mau: int = 0,
    data_out_bytes: float = 0,
    clients: AwsClients | None = None,
) -> dict[str, Any]:
    """The result's ``aws`` section; a failing AWS call is reported in it, not raised."""
    own = clients is None
    clients = clients or AwsClients(region=config.region, endpoint_url=config.endpoint_url)
    started = float(result["started"])
    ended = float(result.get("ended", started))
    overall = result.get("scopes", {}).get("overall", {})
    e2e = overall.get("metrics", {}).get("e2e", {}) if isinstance(overall, Mapping) else {}
    out: dict[str, Any] = {"region": config.region}
    cw = config.cloudwatch
    data: dict[str, Any] | None = None
    memory = config.cost.lambda_memory_mb if config.cost else None
    try:
        if cw is not None and (cw.api_names or cw.api_ids or cw.functions):
            if cw.wait:
                await asyncio.sleep(cw.wait)
            data = await fetch(clients, cw, start=started, end=ended)
            data["gap"] = explain_gap(data, e2e.get("mean") if isinstance(e2e, Mapping) else None)
            out["cloudwatch"] = data
        if config.cost is not None and memory is None and cw is not None and cw.functions:
            lam = await clients.get("lambda")
            got = await lam.get_function_configuration(FunctionName=cw.functions[0])
            memory = int(got["MemorySize"])
        if cw is not None and cw.push is not None:
            out["pushed"] = await push_intervals(
                clients, cw.push, result.get("intervals", []), started
            )
    except Exception as exc:  # the run's own numbers stand; say what AWS refused
        from loadgen.edge.aws.errors import classify_aws

        out["error"] = classify_aws(exc, "aws after run")[1]
    finally:
        if own:
            await clients.aclose()
    if config.cost is not None:
        cost = config.cost
        usage = usage_from_cloudwatch(
            data,
            api=cost.api,
            client_requests=int(overall.get("requests", 0)) if isinstance(overall, Mapping) else 0,
            memory_mb=memory,
            lambda_arch=cost.lambda_arch,
            data_out_bytes=data_out_bytes,
            cognito_mau=cognito_mau,
        )
        out["cost"] = estimate(usage, load_prices(), free_tier=cost.free_tier).to_dict()
    return out
