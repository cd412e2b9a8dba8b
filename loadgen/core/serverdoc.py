"""The server's view of a run in the result document: the scraped Prometheus series
(``target.metrics``; issue 22) and CloudWatch's AWS section.

Kept beside ``loadgen.core.resultdoc``, which holds them in ``Interval.server``,
``ResultDoc.server`` and ``ResultDoc.aws`` and re-exports them; the schema generator follows
them from there. No ``from __future__ import annotations``, for the same reason as there:
``TypedDict`` must see ``NotRequired``.
"""

from typing import Any, NotRequired, TypedDict

__all__ = [
    "AwsSection",
    "ServerGauge",
    "ServerHist",
    "ServerNumbers",
    "ServerSection",
    "ServerSeriesInfo",
    "ServerWindow",
]


class ServerGauge(TypedDict):
    """A gauge over a window's scrapes (replicas added, or averaged for ratios)."""

    last: float
    mean: float
    max: float


class ServerHist(TypedDict):
    """A server histogram's increase in a window: count, mean and percentiles (times in ms)."""

    count: float
    mean: NotRequired[float]
    p50: NotRequired[float]
    p90: NotRequired[float]
    p95: NotRequired[float]
    p99: NotRequired[float]


class ServerNumbers(TypedDict):
    """The server's series over a span of scrapes (``loadgen.core.serverseries.combine``),
    keyed by the preset's common names (running, waiting, kv_cache, ttft …)."""

    seconds: float  # from the base scrape to the last one
    gauges: dict[str, ServerGauge]
    counts: dict[str, float]  # counters' increase
    rates: dict[str, float]  # counters' increase per second
    ratios: dict[str, float]
    histograms: dict[str, ServerHist]


class ServerWindow(TypedDict):
    """An interval's ``server``: the scrapes that arrived in it (``target.metrics``)."""

    scrapes: int
    failures: int
    seconds: NotRequired[float]  # the numbers are there when a scrape succeeded
    gauges: NotRequired[dict[str, ServerGauge]]
    counts: NotRequired[dict[str, float]]
    rates: NotRequired[dict[str, float]]
    ratios: NotRequired[dict[str, float]]
    histograms: NotRequired[dict[str, ServerHist]]
    parts: NotRequired[int]  # merge: how many segments scraped in this second


class ServerSeriesInfo(TypedDict):
    metric: str
    kind: str
    label: str


class ServerSection(TypedDict):
    """What the scrapes of the server's metrics were, and the whole run's numbers."""

    preset: str
    urls: list[str]
    interval: float
    scrapes: int
    failures: int
    errors: list[str]  # the last distinct reasons a scrape failed
    series: dict[str, ServerSeriesInfo]
    missing: list[str]  # preset series the server did not expose
    run: ServerNumbers | None  # first scrape to last; None when none succeeded


class AwsSection(TypedDict):
    region: str
    error: NotRequired[str]
    cloudwatch: NotRequired[dict[str, Any]]
    pushed: NotRequired[Any]
    cost: NotRequired[dict[str, Any]]
