"""loadgen's own metrics as Prometheus series: counters, gauges and classic histograms.

Latencies travel as histograms, never as percentiles: a p95 per part or per interval cannot
be combined (averaging percentiles gives wrong numbers, xk6-output-prometheus-remote #103,
#105), while bucket counts add up, so ``histogram_quantile(0.95, sum by (le) (...))`` over
parts and scopes is right. Buckets are one fixed log-spaced layout (10 per decade), their
cumulative counts taken from the HDR histograms (``Histogram.cumulative``), exact to HDR's
3 significant digits (a value up to 0.1 % above a bound may count in it). ``_sum`` is HDR's
mean times the count (bucket midpoints).

Every histogram metric of the registry is exported (``metrics.metrics()``, none named
here) for the overall scope, the generator's own (schedule and loop lag) included; per
request name and user class, those the registry keeps live (``metrics.live()``: ttft, itl,
e2e), which keeps a run with many names to a few thousand series.
Scopes are labelled ``scope="overall"``, ``scope="name"`` (with ``name``) and
``scope="class"`` (with ``class``): pick one scope in a query, or sums count requests twice.

Pure: values in (the recorder, the gauges), ``Family`` values out; the wire formats are in
``loadgen.core.promwire``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from loadgen.core import metrics
from loadgen.core.hist import Histogram, ValueHistogram
from loadgen.core.metrics import Metric
from loadgen.core.stats import Recorder, Scope

__all__ = [
    "COUNTERS",
    "GAUGES",
    "TIME_BOUNDS",
    "VALUE_BOUNDS",
    "Family",
    "Labels",
    "bounds",
    "collect",
    "family_name",
    "names",
]

Labels = tuple[tuple[str, str], ...]


def _log_layout(first: int, last: int) -> tuple[float, ...]:
    """10 bounds per decade, 10**(first/10) .. 10**(last/10), at 3 significant digits."""
    return tuple(float(f"{10 ** (k / 10):.3g}") for k in range(first, last + 1))


#: Upper bounds (le) of time metrics, in seconds: 100 µs to ~53 minutes, steps of ~26 %.
TIME_BOUNDS = _log_layout(-40, 35)
#: Upper bounds of quantities (tokens per request, tokens/s): 1 to 10^6, steps of ~26 %.
VALUE_BOUNDS = _log_layout(0, 60)

#: Counter families kept per scope: name → help.
COUNTERS = {
    "loadgen_requests_total": "requests completed (succeeded or failed; not interrupted)",
    "loadgen_errors_total": "failed requests by error kind (SPEC errors: connect, timeout, …)",
    "loadgen_requests_interrupted_total": "requests cut off by the run's end or a stop",
    "loadgen_output_tokens_total": "output tokens of the answers",
    "loadgen_input_tokens_total": "input tokens of the prompts (HDR sum of input_tokens)",
}
#: Gauge families (overall only): the key the caller passes → (family, help).
GAUGES = {
    "users": ("loadgen_users", "virtual users active now"),
    "in_flight": ("loadgen_in_flight", "requests in flight now"),
    "rps": ("loadgen_interval_rps", "requests completed per second in the last interval"),
    "planned": ("loadgen_planned_level", "the plan's level now, in its unit (users or 1/s)"),
}
_RUN_COUNTERS = {
    "loadgen_dropped_total": "open-model arrivals not sent (max_in_flight reached)",
    "loadgen_good_total": "requests that met every declared SLO",
}


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: its series as (series name, labels, value)."""

    name: str
    kind: str  # "counter", "gauge" or "histogram"
    help: str
    series: tuple[tuple[str, Labels, float], ...]


def family_name(m: Metric) -> str:
    """A registry metric's histogram family: times in seconds (``loadgen_ttft_seconds``),
    quantities per request (``loadgen_request_output_tokens``)."""
    if not m.scale:
        return f"loadgen_{m.name}_seconds"
    return "loadgen_request_" + m.name.removeprefix("request_")


def bounds(m: Metric) -> tuple[float, ...]:
    return VALUE_BOUNDS if m.scale else TIME_BOUNDS


def names() -> set[str]:
    """Every series name loadgen may export (histograms with their suffixes)."""
    out = set(COUNTERS) | set(_RUN_COUNTERS) | {f for f, _ in GAUGES.values()}
    for m in metrics.metrics():
        base = family_name(m)
        out |= {base + "_bucket", base + "_sum", base + "_count"}
    return out


@lru_cache(maxsize=64)
def _limits(scale: int) -> tuple[int, ...]:
    """The bounds as stored integers (µs, or value × scale): value <= le ⇔ stored <= limit."""
    per_unit = scale or 1_000_000
    return tuple(int(b * per_unit + 1e-6) for b in (VALUE_BOUNDS if scale else TIME_BOUNDS))


@dataclass
class _Tally:
    """What a set of leaf scopes add up to: counters, and per metric the cumulative bucket
    counts followed by the count and the sum."""

    counters: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    hists: dict[str, list[float]] = field(default_factory=dict)

    def add(self, other: _Tally) -> None:
        self.counters.update(other.counters)
        self.errors.update(other.errors)
        for name, vector in other.hists.items():
            mine = self.hists.get(name)
            self.hists[name] = (
                list(vector) if mine is None else [a + b for a, b in zip(mine, vector, strict=True)]
            )


def _hist_vector(m: Metric, hist: Histogram | ValueHistogram) -> list[float]:
    below, stored = hist.cumulative(_limits(m.scale))
    return [*below, hist.count, stored / (m.scale or 1_000_000)]


def _tally(scope: Scope) -> _Tally:
    tally = _Tally()
    tally.counters["loadgen_requests_total"] = scope.requests
    tally.counters["loadgen_requests_interrupted_total"] = scope.interrupted
    tally.counters["loadgen_output_tokens_total"] = scope.output_tokens
    tally.errors.update(scope.errors)
    for m in scope.kept:
        hist = scope.hists[m.name]
        if hist.count:
            tally.hists[m.name] = _hist_vector(m, hist)
    inputs = tally.hists.get("input_tokens")
    tally.counters["loadgen_input_tokens_total"] = round(inputs[-1]) if inputs else 0
    return tally


def _grouped(recorder: Recorder) -> list[tuple[Labels, _Tally]]:
    """(scope labels, tally) of the overall scope, each request name and each user class."""
    groups: dict[Labels, _Tally] = {}
    for (name, user_class, _), leaf in recorder.leaves.items():
        tally = _tally(leaf)
        for key in (
            (("scope", "overall"),),
            (("name", name), ("scope", "name")),
            (("class", user_class), ("scope", "class")),
        ):
            groups.setdefault(key, _Tally()).add(tally)
    if not groups:
        groups[(("scope", "overall"),)] = _Tally()
    return sorted(groups.items())


@lru_cache(maxsize=4096)
def _keys(base: str, labels: Labels, layout: tuple[float, ...]) -> tuple[tuple[str, Labels], ...]:
    """The (series name, labels) of one histogram in one scope: its buckets, sum and count.
    Made once per scope, not every second (thousands of tuples)."""
    bucket = base + "_bucket"
    keys = [(bucket, (*labels, ("le", f"{b:g}"))) for b in layout]
    keys.append((bucket, (*labels, ("le", "+Inf"))))
    keys += [(base + "_sum", labels), (base + "_count", labels)]
    return tuple(keys)


def _histogram(m: Metric, rows: Iterable[tuple[Labels, list[float]]]) -> Family:
    base, layout = family_name(m), bounds(m)
    series: list[tuple[str, Labels, float]] = []
    for labels, vector in rows:
        count = vector[-2]
        values = [*vector[:-2], count, vector[-1], count]  # buckets, +Inf, sum, count
        series += [
            (n, lb, v) for (n, lb), v in zip(_keys(base, labels, layout), values, strict=True)
        ]
    return Family(base, "histogram", f"{m.doc} ({m.unit})", tuple(series))


def collect(recorder: Recorder, base: Labels, gauges: Mapping[str, float]) -> list[Family]:
    """Every family, now: counters and histograms per scope, the generator's own histograms,
    run counters and ``gauges`` (keys of ``GAUGES``; the others are left out)."""
    grouped = [(base + labels, tally) for labels, tally in _grouped(recorder)]
    out = [
        Family(
            name, "counter", text, tuple((name, lb, float(t.counters[name])) for lb, t in grouped)
        )
        for name, text in COUNTERS.items()
        if name != "loadgen_errors_total"
    ]
    errors = tuple(
        ("loadgen_errors_total", (*lb, ("kind", kind)), float(n))
        for lb, t in grouped
        for kind, n in sorted(t.errors.items())
    )
    out.append(Family("loadgen_errors_total", "counter", COUNTERS["loadgen_errors_total"], errors))
    overall = (*base, ("scope", "overall"))
    own = {"schedule_lag": recorder.schedule_lag, "loop_lag": recorder.loop_lag}
    live = set(metrics.live())
    for m in metrics.metrics():
        if m.scoped:
            rows = [
                (lb, t.hists[m.name])
                for lb, t in grouped
                if m.name in t.hists and (m in live or lb[-1] == ("scope", "overall"))
            ]
        else:
            hist = own.get(m.name)
            rows = [(overall, _hist_vector(m, hist))] if hist is not None and hist.count else []
        if rows:
            out.append(_histogram(m, rows))
    run_values = {"loadgen_dropped_total": recorder.dropped, "loadgen_good_total": recorder.good}
    for name, text in _RUN_COUNTERS.items():
        out.append(Family(name, "counter", text, ((name, overall, float(run_values[name])),)))
    for key, value in gauges.items():
        if key in GAUGES:
            name, text = GAUGES[key]
            out.append(Family(name, "gauge", text, ((name, overall, float(value)),)))
    return out
