"""The interval records of the result document (``loadgen.result/1``), as types.

One record per second: a line of the journal, a live snapshot, an entry of the result's
``intervals`` (``loadgen.core.resultdoc``, which re-exports these). No ``from __future__
import annotations``: ``TypedDict`` must see ``NotRequired`` at run time.
"""

from typing import Literal, NotRequired, TypedDict

from loadgen.core.serverdoc import ServerWindow

__all__ = ["Brief", "Interval", "ScopeInterval"]


class Brief(TypedDict):
    """A short summary of one metric in one interval (``{"count": 0}`` when empty)."""

    count: int
    p50: NotRequired[float]
    p95: NotRequired[float]
    p99: NotRequired[float]
    max: NotRequired[float]
    mean: NotRequired[float]
    hdr: NotRequired[str]  # ttft, e2e, itl (exact merges); not ttfb and the lags
    bound: NotRequired[Literal["max_of_parts"]]  # merge without histograms: an upper bound


class ScopeInterval(TypedDict):
    """One request name's or user class's numbers in one interval
    (``loadgen.core.scopeseries``): its requests and errors, its TTFT and E2E."""

    requests: int
    errors: int
    ttft: Brief
    e2e: Brief


class Interval(TypedDict):
    """One interval record (one second): also a line of the journal and a live snapshot."""

    t: float
    length: float
    users: int
    requests: int
    ok: int
    errors: int
    errors_by_kind: dict[str, int]
    interrupted: int
    cancelled: NotRequired[int]  # since issue 21.3
    dropped: int
    sent: int
    good: int
    counters: dict[str, int]
    rate_limited: int
    rps: float
    output_tokens: int
    output_tps: float
    input_tokens: NotRequired[int]  # since issue 20.3
    input_tps: NotRequired[float]
    ttft: Brief
    e2e: Brief
    itl: Brief
    ttfb: Brief
    schedule_lag: Brief
    loop_lag: Brief
    connect: NotRequired[Brief]  # since issue 21.4
    finishing: NotRequired[int]
    cpu: NotRequired[float]
    planned: NotRequired[dict[str, float]]  # {"users": n} or {"rate": r}
    parts: NotRequired[int]  # merge: how many segments had this second
    cpu_total: NotRequired[float]  # merge: the segments' CPU added up
    server: NotRequired[ServerWindow]  # target.metrics: the server's series in this second
    by_name: NotRequired[dict[str, ScopeInterval]]  # each request name's (since issue 23)
    by_class: NotRequired[dict[str, ScopeInterval]]  # each user class's, when several
