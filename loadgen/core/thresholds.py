"""Thresholds: pass/fail expressions over any metric, statistic and scope (pure).

Grammar (whitespace optional)::

    METRIC[{scope=KEY}].STAT OP VALUE
    ttft.p95 < 1500ms     e2e{name=chat.complex}.p99 < 10s     errors.rate < 1%
    http_429.count == 0   output_tps.mean > 20                requests.count >= 100

``parse`` turns one expression into a ``Threshold`` or raises ``ValueError`` with a fix;
``evaluate`` reads the value from a result's scopes and returns the record the result JSON,
the console, JUnit and the HTML report show.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from loadgen.core import metrics, units
from loadgen.core.errors import ErrorKind
from loadgen.core.metrics import HIST_STATS

__all__ = ["METRICS", "Threshold", "evaluate", "parse"]

COUNT_STATS = ("count", "rate")
KINDS = tuple(k.value for k in ErrorKind)
# The run's counts and rates (not per-request distributions): metric → its statistics and
# the unit its limit is written in. Histogram metrics come from the registry.
_COUNTS: dict[str, tuple[tuple[str, ...], str]] = {
    "output_tps": (("mean", "rate", *HIST_STATS[:-2]), "tokens/s"),
    "input_tps": (("mean", "rate"), "tokens/s"),  # input tokens / duration
    "requests": (COUNT_STATS, ""),
    "rps": (("mean", "rate"), "1/s"),
    "errors": (COUNT_STATS, ""),
    "interrupted": (("count",), ""),
    "cancelled": (COUNT_STATS, ""),  # rate: of the requests that ended (cancelled included)
    "dropped": (("count",), ""),
    **dict.fromkeys(KINDS, (COUNT_STATS, "")),
}


_PER_SECOND = ("requests", "rps", "output_tps", "input_tps")  # a rate here is per second


class _Metrics(Mapping[str, tuple[tuple[str, ...], str]]):
    """metric → (its statistics, the unit of its limit): the registry's histogram metrics
    (read when asked, so a registered metric can be judged), then the counts."""

    def _all(self) -> dict[str, tuple[tuple[str, ...], str]]:
        hists = {m.name: (m.stats, m.limit_unit) for m in metrics.scoped() if m.stats}
        return hists | _COUNTS

    def __getitem__(self, key: str) -> tuple[tuple[str, ...], str]:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


METRICS: Mapping[str, tuple[tuple[str, ...], str]] = _Metrics()
SCOPES = ("name", "class", "category")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_EXPR = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][\w]*)\s*(?:\{\s*(?P<skey>\w+)\s*=\s*(?P<sval>[^}]*?)\s*\})?"
    r"\s*\.\s*(?P<stat>[\w.]+?)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<value>.+?)\s*$"
)
_FIX = "write METRIC.STAT OP VALUE, e.g. ttft.p95 < 1500ms or errors.rate < 1%"


@dataclass(frozen=True, slots=True)
class Threshold:
    expr: str
    metric: str
    stat: str
    op: str
    limit: float  # ms for latencies, a fraction for rates of errors, else as written
    unit: str
    scope: tuple[str, str] | None = None
    abort_on_fail: bool = False
    after: float = 0.0  # seconds into the run before abort_on_fail may stop it

    def check(self, value: float) -> bool:
        return _OPS[self.op](value, self.limit)


def parse(expr: str, *, abort_on_fail: bool = False, after: float = 0.0) -> Threshold:
    """One expression → a Threshold; ValueError says what is wrong and how to write it."""
    match = _EXPR.match(expr)
    if not match:
        ops = re.findall(r"[<>=!]+", expr)
        if ops and ops[0] not in _OPS:
            raise ValueError(f"unknown operator {ops[0]!r} in {expr!r}; use <, <=, >, >=, == or !=")
        raise ValueError(f"cannot read threshold {expr!r}; {_FIX}")
    metric, stat, op, raw = match["metric"], match["stat"], match["op"], match["value"]
    if raw[:1] in "<>=!":
        raise ValueError(f"unknown operator in {expr!r}; use <, <=, >, >=, == or !=")
    if metric not in METRICS:
        close = difflib.get_close_matches(metric, METRICS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"metrics: {', '.join(METRICS)}"
        raise ValueError(f"unknown metric {metric!r}; {hint}")
    stats, unit = METRICS[metric]
    if stat not in stats:
        close = difflib.get_close_matches(stat, stats, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"{metric} has {', '.join(stats)}"
        raise ValueError(f"{metric} has no statistic {stat!r}; {hint}")
    scope = None
    if match["skey"]:
        if match["skey"] not in SCOPES:
            raise ValueError(f"unknown scope {match['skey']!r}; use name=, class= or category=")
        scope = (match["skey"], match["sval"])
    if stat == "count":
        unit = ""
    limit = _limit(raw, metric, stat, unit)
    return Threshold(
        expr=expr.strip(),
        metric=metric,
        stat=stat,
        op=op,
        limit=limit,
        unit="%" if stat == "rate" and metric not in _PER_SECOND else unit,
        scope=scope,
        abort_on_fail=abort_on_fail,
        after=after,
    )


def _limit(raw: str, metric: str, stat: str, unit: str) -> float:
    text = raw.strip()
    if unit == "ms" and stat != "count":
        try:
            return float(text)  # a bare number is milliseconds
        except ValueError:
            try:
                return units.parse_duration(text) * 1000
            except ValueError:
                raise ValueError(f"{text!r} is not a duration; write 1500ms or 1.5s") from None
    if stat == "rate" and metric not in _PER_SECOND:
        try:
            return units.parse_percent(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a rate of requests; write 1% or 0.01") from None
    try:
        return float(text.split("/")[0]) if "/" in text else float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def _scope_data(data: Mapping[str, Any], scope: tuple[str, str] | None) -> Mapping[str, Any] | None:
    scopes = data["scopes"]
    if scope is None:
        return scopes["overall"]  # type: ignore[no-any-return]
    return scopes[f"by_{scope[0]}"].get(scope[1])  # type: ignore[no-any-return]


def value_of(t: Threshold, data: Mapping[str, Any]) -> float | None:
    """The measured value a threshold compares; None when its scope (or, in a result older
    than the metric, the metric) never appeared."""
    s = _scope_data(data, t.scope)
    if s is None:
        return None
    m, stat = t.metric, t.stat
    hist_metric = metrics.get(m)
    if (hist_metric is not None and hist_metric.scoped) or (
        m == "output_tps" and stat not in ("mean", "rate")
    ):
        hist = s["metrics"].get("request_tps" if m == "output_tps" else m)
        if hist is None:  # a result written before this metric existed: no data, as a scope
            return None
        return float(hist.get(stat, 0.0))
    return _count_value(m, stat, s, data)


def _count_value(m: str, stat: str, s: Mapping[str, Any], data: Mapping[str, Any]) -> float | None:
    """A count or rate metric's value in scope ``s`` (see ``value_of``)."""
    requests = s["requests"]
    if m == "output_tps":
        return float(s["output_tps"])
    if m == "input_tps":  # a result older than input tokens has none: no data
        return float(s["input_tps"]) if "input_tps" in s else None
    if m in ("requests", "rps"):
        return float(requests if stat == "count" else s["rps"])
    if m == "dropped":
        return float(data.get("load", {}).get("dropped", 0))
    if m == "interrupted":
        return float(s["interrupted"])
    if m == "cancelled":
        cancelled = int(s.get("cancelled", 0))
        ended = requests + cancelled
        return float(cancelled) if stat == "count" else (cancelled / ended if ended else 0.0)
    count = s["errors"] if m == "errors" else s["errors_by_kind"].get(m, 0)
    if stat == "count":
        return float(count)
    return count / requests if requests else 0.0


def evaluate(thresholds: list[Threshold], data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each threshold with its measured value and verdict, as the result JSON records it."""
    out = []
    for t in thresholds:
        value = value_of(t, data)
        out.append(
            {
                "expr": t.expr,
                "metric": t.metric,
                "stat": t.stat,
                "scope": {t.scope[0]: t.scope[1]} if t.scope else {},
                "op": t.op,
                "limit": t.limit,
                "unit": t.unit,
                "value": value,
                "ok": value is not None and t.check(value),
                "abort_on_fail": t.abort_on_fail,
            }
        )
    return out
