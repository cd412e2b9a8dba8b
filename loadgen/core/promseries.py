"""loadgen's own metrics as Prometheus series: counters, gauges and histograms (classic, and
native for remote write).

Latencies travel as histograms, never as percentiles: a p95 per part or per interval cannot
be combined (averaging percentiles gives wrong numbers, xk6-output-prometheus-remote #103,
#105), while bucket counts add up, so ``histogram_quantile(0.95, sum by (le) (...))`` over
parts and scopes is right. Classic buckets are one fixed log-spaced layout (10 per decade);
native ones (remote write with ``histograms=native``) are exponential at
``promhist.NATIVE_SCHEMA`` (~2.2 % wide). Both are read from the HDR histograms of a scope's
leaves, summed first (``loadgen.core.promhist``), exact to HDR's 3 significant digits (a
value up to 0.1 % above a bound may count in it). ``_sum`` is HDR's mean times the count
(bucket midpoints). A ``Collector`` reads again only the scopes whose counts changed.

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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache, partial

from loadgen.core import metrics
from loadgen.core.hist import Histogram, ValueHistogram
from loadgen.core.metrics import Metric
from loadgen.core.promhist import Native, Summer
from loadgen.core.stats import Recorder, Scope

__all__ = [
    "COUNTERS",
    "GAUGES",
    "TIME_BOUNDS",
    "VALUE_BOUNDS",
    "Collector",
    "Family",
    "Labels",
    "bounds",
    "collect",
    "family_name",
    "names",
]

Labels = tuple[tuple[str, str], ...]
_H = Histogram | ValueHistogram


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
    "loadgen_requests_cancelled_total": "answers the profile abandoned (cancel:; not errors)",
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
    #: A histogram family's native form per scope (when asked for: remote write only).
    native: tuple[tuple[Labels, Native], ...] = ()


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
class _Group:
    """The leaves of one scope: their counters added up, their histograms per metric."""

    counters: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    hists: dict[str, list[_H]] = field(default_factory=dict)

    def add(self, scope: Scope) -> None:
        counters = self.counters
        counters["loadgen_requests_total"] += scope.requests
        counters["loadgen_requests_interrupted_total"] += scope.interrupted
        counters["loadgen_requests_cancelled_total"] += scope.cancelled
        counters["loadgen_output_tokens_total"] += scope.output_tokens
        self.errors.update(scope.errors)
        hists = scope.hists
        for m in scope.kept:
            hist = hists[m.name]
            if hist.count:
                self.hists.setdefault(m.name, []).append(hist)


@dataclass(frozen=True, slots=True)
class _Read:
    """One histogram of one scope, read: classic vector (cumulative bucket counts, then the
    count and the sum) and, when asked for, its native form."""

    count: int
    vector: list[float]
    native: Native | None


class Collector:
    """``collect`` for one recorder, call after call: a scope's histogram is read again only
    when its count has changed since the last call (counts only grow during a run), scopes
    of the same leaves (one request name, one class: overall = name = class) are read once,
    and a group's HDR counts are summed before they are read (``loadgen.core.promhist``)."""

    def __init__(self, *, native: bool = False) -> None:
        self.native = native
        self._cache: dict[tuple[str, tuple[int, ...]], _Read] = {}

    def read(self, m: Metric, hists: list[_H], summer: Callable[[], Summer]) -> _Read | None:
        """``hists`` summed and read, or the last read of the same histograms when their
        count has not changed; ``summer`` gives the metric's ``Summer`` (made when needed)."""
        count = sum(h.count for h in hists)
        key = (m.name, tuple(map(id, hists)))
        found = self._cache.get(key)
        if found is not None and found.count == count:
            return found
        total = summer().summed(hists)
        if total is None:
            return None
        value_sum = total.total()
        vector: list[float] = [*total.cumulative(_limits(m.scale)), total.count, value_sum]
        read = _Read(count, vector, total.native(value_sum) if self.native else None)
        self._cache[key] = read
        return read

    def collect(
        self, recorder: Recorder, base: Labels, gauges: Mapping[str, float]
    ) -> list[Family]:
        """Every family, now (see the module function ``collect``)."""
        return _collect(self, recorder, base, gauges)


def _summer(grouped: list[tuple[Labels, _Group]], name: str) -> Callable[[], Summer]:
    """The ``Summer`` of metric ``name`` over every leaf (the overall scope's), made once
    when first asked for: not at all when no scope's count changed."""
    made: list[Summer] = []

    def make() -> Summer:
        if not made:
            every = [g.hists.get(name, []) for lb, g in grouped if lb[-1] == ("scope", "overall")]
            made.append(Summer([h for hists in every for h in hists]))
        return made[0]

    return make


def _grouped(recorder: Recorder) -> list[tuple[Labels, _Group]]:
    """(scope labels, group) of the overall scope, each request name and each user class."""
    groups: dict[Labels, _Group] = {}
    for (name, user_class, _), leaf in recorder.leaves.items():
        for key in (
            (("scope", "overall"),),
            (("name", name), ("scope", "name")),
            (("class", user_class), ("scope", "class")),
        ):
            groups.setdefault(key, _Group()).add(leaf)
    if not groups:
        groups[(("scope", "overall"),)] = _Group()
    return sorted(groups.items(), key=lambda item: item[0])


@lru_cache(maxsize=4096)
def _keys(base: str, labels: Labels, layout: tuple[float, ...]) -> tuple[tuple[str, Labels], ...]:
    """The (series name, labels) of one histogram in one scope: its buckets, sum and count.
    Made once per scope, not every second (thousands of tuples)."""
    bucket = base + "_bucket"
    keys = [(bucket, (*labels, ("le", f"{b:g}"))) for b in layout]
    keys.append((bucket, (*labels, ("le", "+Inf"))))
    keys += [(base + "_sum", labels), (base + "_count", labels)]
    return tuple(keys)


def _histogram(m: Metric, rows: Iterable[tuple[Labels, _Read]]) -> Family:
    base, layout = family_name(m), bounds(m)
    series: list[tuple[str, Labels, float]] = []
    natives: list[tuple[Labels, Native]] = []
    for labels, read in rows:
        vector = read.vector
        count = vector[-2]
        values = [*vector[:-2], count, vector[-1], count]  # buckets, +Inf, sum, count
        series += [
            (n, lb, v) for (n, lb), v in zip(_keys(base, labels, layout), values, strict=True)
        ]
        if read.native is not None:
            natives.append((labels, read.native))
    return Family(base, "histogram", f"{m.doc} ({m.unit})", tuple(series), tuple(natives))


def collect(recorder: Recorder, base: Labels, gauges: Mapping[str, float]) -> list[Family]:
    """Every family, now: counters and histograms per scope, the generator's own histograms,
    run counters and ``gauges`` (keys of ``GAUGES``; the others are left out). One call;
    a run's exporter keeps a ``Collector``."""
    return _collect(Collector(), recorder, base, gauges)


def _collect(
    reader: Collector, recorder: Recorder, base: Labels, gauges: Mapping[str, float]
) -> list[Family]:
    grouped = [(base + labels, group) for labels, group in _grouped(recorder)]
    out = _counters(reader, grouped)
    overall = (*base, ("scope", "overall"))
    own = {"schedule_lag": recorder.schedule_lag, "loop_lag": recorder.loop_lag}
    live = set(metrics.live())
    for m in metrics.metrics():
        rows: list[tuple[Labels, _Read]] = []
        summer = _summer(grouped, m.name)
        if m.scoped:
            for lb, group in grouped:
                if m.name in group.hists and (m in live or lb[-1] == ("scope", "overall")):
                    read = reader.read(m, group.hists[m.name], summer)
                    rows += [(lb, read)] if read is not None else []
        elif (hist := own.get(m.name)) is not None:
            read = reader.read(m, [hist], partial(Summer, [hist]))
            rows += [(overall, read)] if read is not None else []
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


def _counters(reader: Collector, grouped: list[tuple[Labels, _Group]]) -> list[Family]:
    """The counter families of every scope; input tokens are the input_tokens histogram's
    sum (the prompts' token counts, recorded per request)."""
    inputs, summer = metrics.get("input_tokens"), _summer(grouped, "input_tokens")
    for _, group in grouped:
        hists = group.hists.get("input_tokens")
        read = reader.read(inputs, hists, summer) if inputs is not None and hists else None
        group.counters["loadgen_input_tokens_total"] = round(read.vector[-1]) if read else 0
    out = [
        Family(
            name, "counter", text, tuple((name, lb, float(g.counters[name])) for lb, g in grouped)
        )
        for name, text in COUNTERS.items()
        if name != "loadgen_errors_total"
    ]
    errors = tuple(
        ("loadgen_errors_total", (*lb, ("kind", kind)), float(n))
        for lb, g in grouped
        for kind, n in sorted(g.errors.items())
    )
    out.append(Family("loadgen_errors_total", "counter", COUNTERS["loadgen_errors_total"], errors))
    return out
