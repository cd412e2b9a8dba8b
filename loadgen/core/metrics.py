"""The metric registry: every histogram metric defined once, in one entry.

Before it, a metric had no home: a dozen parallel tuples (the recorder's, the merge's, the
journal's, the thresholds', the CSV's, the charts', the console's...) each decided on their
own which metrics they handle, and adding one meant finding them all. Now each metric is one
``Metric``: its name and unit, how one request yields it (read from the ``Sample``
properties, the one per-request definition), whether the per-second record keeps it (with
its histogram, so it merges exactly and live, or as a summary), whether the journal rebuilds
it, its charted percentiles, its HTML and console columns and the threshold statistics it
accepts. The recorder, merge, live merge, journal rebuild, thresholds, series, CSV, hlog,
console and HTML iterate the registry in order. The next metrics (input tokens, the
reasoning models' time to the first answer token, connect time) cost one entry plus the
``Sample`` property that computes them; ``registered`` adds one for a test or an embedder.

Pure data; the entries' order is the order of the result's ``metrics`` and of every table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from loadgen.core.hist import Histogram, ValueHistogram
from loadgen.core.sample import Sample

__all__ = [
    "HIST_STATS",
    "Metric",
    "by_name",
    "charted",
    "decode",
    "get",
    "hlogged",
    "journaled",
    "live",
    "metrics",
    "new_hist",
    "per_second",
    "phased",
    "register",
    "registered",
    "scoped",
    "unregister",
]

#: The statistics a histogram metric's threshold may name (``ttft.p95 < 2s``).
HIST_STATS = ("p50", "p90", "p95", "p99", "p99.9", "max", "min", "mean", "count")

PerSecond = Literal["", "hdr", "brief"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Metric:
    """One metric: what it is, how a request yields it, and where it appears.

    ``of`` reads one request: seconds for a time (``scale == 0``, kept in µs, shown in ms),
    the value itself for a quantity (``ValueHistogram(scale)``), or, with ``gaps``, the
    ``Sample.itl`` form of several values; None when the request yields none. ``answered``
    limits it to requests that succeeded with an end (ttfb is the exception: a failed request
    that got a body has one).
    """

    name: str
    unit: str  # "ms", "tokens" (a count: its limits and values are written bare), "tokens/s"
    doc: str
    # A ``Sample`` property's name (read with the others in one C-level call), or a
    # function of the sample; None: the recorder feeds it (loop_lag).
    of: str | Callable[[Sample], Any] | None = None
    scale: int = 0
    gaps: bool = False
    answered: bool = True
    scoped: bool = True  # per scope (overall, name, class, category); False: the generator's own
    per_second: PerSecond = ""  # "hdr": with its histogram (exact merges, live); "brief": summary
    per_second_rank: int = 50  # its place in the per-second record (the journal, history.csv)
    journaled: bool = False  # rebuilt from the journal's per-second histograms
    phases: bool = False  # summarised per named stage
    chart: tuple[float, ...] = ()  # percentiles drawn over time (report.series)
    hlog: bool = False  # a tag of latency.hlog
    title: str = ""  # the HTML table's group heading
    table: tuple[str, ...] = ()  # statistics in the HTML per-scope table
    console: tuple[str, ...] = ()  # statistics in the console's per-scope table
    stats: tuple[str, ...] = HIST_STATS  # statistics a threshold may name; () = none

    @property
    def limit_unit(self) -> str:
        """The unit thresholds and reports write its values in (a count of tokens is bare)."""
        return "" if self.unit == "tokens" else self.unit


_BUILTIN = (
    Metric(
        name="ttfb",
        doc="intended start → first byte of the response body",
        of="ttfb",
        answered=False,
        per_second="brief",
        per_second_rank=4,
        unit="ms",
    ),
    Metric(
        name="ttft",
        doc="intended start → first content-bearing event",
        of="ttft",
        per_second="hdr",
        per_second_rank=1,
        journaled=True,
        phases=True,
        chart=(50.0, 95.0, 99.0),
        hlog=True,
        title="TTFT",
        table=("p50", "p95", "p99"),
        console=("p50", "p95", "p99"),
        unit="ms",
    ),
    Metric(
        name="itl",
        doc="gap between consecutive content-bearing events, one value per gap",
        of="itl",
        gaps=True,
        per_second="hdr",
        per_second_rank=3,
        title="ITL",
        table=("p50", "p95", "p99"),
        console=("p50", "p99"),
        unit="ms",
    ),
    Metric(
        name="tpot",
        doc="(e2e − ttft) / (output_tokens − 1), for answers of ≥ 2 tokens",
        of="tpot",
        title="TPOT",
        table=("p50", "p95"),
        unit="ms",
    ),
    Metric(
        name="e2e",
        doc="intended start → end of the response",
        of="e2e",
        per_second="hdr",
        per_second_rank=2,
        journaled=True,
        phases=True,
        chart=(50.0, 95.0, 99.0),
        hlog=True,
        title="E2E",
        table=("p50", "p95", "p99"),
        console=("p95",),
        unit="ms",
    ),
    Metric(
        name="output_tokens",
        doc="tokens per answer: server usage, else a tokenizer, else content events",
        of="answer_tokens",
        scale=1,
        unit="tokens",
    ),
    Metric(
        name="request_tps",
        doc="output_tokens / (e2e − ttft) per request",
        of="request_tps",
        scale=100,
        unit="tokens/s",
    ),
    Metric(
        name="input_tokens",
        doc="tokens per prompt: server usage (prompt_tokens), else loadgen's tokenizer's count "
        "of what was sent",
        of="input_tokens",
        scale=1,
        unit="tokens",
    ),
    Metric(
        name="ttfo",
        doc="intended start → first output event (answer text or a tool call, not reasoning)",
        of="ttfo",
        unit="ms",
    ),
    Metric(
        name="reasoning_time",
        doc="first reasoning event → first output event after it, for answers that reasoned",
        of="reasoning_time",
        unit="ms",
    ),
    Metric(
        name="reasoning_tokens",
        doc="reasoning tokens per answer that reasoned "
        "(usage.completion_tokens_details.reasoning_tokens, when not 0)",
        of="reasoned_tokens",
        scale=1,
        unit="tokens",
    ),
    Metric(
        name="connect",
        doc="TCP connect (DNS included) of the request's connection; 0 when it was reused",
        of="connect_time",
        answered=False,
        per_second="brief",
        per_second_rank=7,
        unit="ms",
    ),
    Metric(
        name="tls",
        doc="TLS handshake of the request's connection; 0 when it was reused",
        of="tls_time",
        answered=False,
        unit="ms",
    ),
    Metric(
        name="send",
        doc="writing the request (head and body) to the connection",
        of="send_time",
        answered=False,
        unit="ms",
    ),
    Metric(
        name="wait",
        doc="request written → first byte of the response (the server's part of ttfb)",
        of="wait_time",
        answered=False,
        unit="ms",
    ),
    Metric(
        name="time_to_cancel",
        doc="intended start → the VU closed the stream, for cancelled requests",
        of="time_to_cancel",
        answered=False,
        unit="ms",
    ),
    Metric(
        name="cancel_tokens",
        doc="content events received before a cancelled request was closed",
        of="cancel_tokens",
        answered=False,
        scale=1,
        unit="tokens",
    ),
    Metric(
        name="schedule_lag",
        doc="intended start → actual send: the generator's own delay",
        of="schedule_lag",
        answered=False,
        scoped=False,
        per_second="brief",
        per_second_rank=5,
        stats=(),
        unit="ms",
    ),
    Metric(
        name="loop_lag",
        doc="how late the event loop woke a timer: the generator's own delay",
        scoped=False,
        per_second="brief",
        per_second_rank=6,
        stats=(),
        unit="ms",
    ),
)

_registry: dict[str, Metric] = {m.name: m for m in _BUILTIN}
_views: dict[str, tuple[Metric, ...]] = {}


def register(metric: Metric) -> None:
    """Add a metric (after the others); ValueError if its name is taken.

    Scoped metrics only: the generator's own (``scoped=False``) are fed by name by the
    recorder. Recorders made before a registration do not record the new metric.
    """
    if metric.name in _registry:
        raise ValueError(f"metric {metric.name!r} is already registered")
    if not metric.scoped or metric.of is None:
        raise ValueError("a registered metric is kept per scope and has its `of`")
    if isinstance(metric.of, str) and not hasattr(Sample, metric.of):
        raise ValueError(f"`of` names no Sample property: {metric.of!r}")
    if metric.per_second and metric.scale:
        raise ValueError("the per-second record keeps times only (scale 0)")
    if metric.per_second != "hdr" and (metric.journaled or metric.phases or metric.hlog):
        raise ValueError(
            "journaled, phases and hlog read the per-second histogram: per_second='hdr'"
        )
    if metric.chart and not metric.per_second:
        raise ValueError("a charted metric needs a per-second record")
    _registry[metric.name] = metric
    _views.clear()


def unregister(name: str) -> None:
    """Remove a registered metric; the built-in ones stay."""
    if any(m.name == name for m in _BUILTIN):
        raise ValueError(f"metric {name!r} is built in")
    del _registry[name]
    _views.clear()


@contextmanager
def registered(metric: Metric) -> Iterator[Metric]:
    """``with registered(Metric(...)):`` the metric exists inside the block only."""
    register(metric)
    try:
        yield metric
    finally:
        unregister(metric.name)


def _view(key: str, keep: Callable[[Metric], bool]) -> tuple[Metric, ...]:
    view = _views.get(key)
    if view is None:
        view = _views[key] = tuple(m for m in _registry.values() if keep(m))
    return view


def metrics() -> tuple[Metric, ...]:
    """Every metric, in registry order."""
    return _view("all", lambda m: True)


def scoped() -> tuple[Metric, ...]:
    """The per-request metrics every scope keeps (the result's ``metrics``), in order."""
    return _view("scoped", lambda m: m.scoped)


def per_second() -> tuple[Metric, ...]:
    """The metrics of the per-second interval record, in the record's order."""
    view = _views.get("per_second")
    if view is None:
        kept = [m for m in _registry.values() if m.per_second]
        view = _views["per_second"] = tuple(sorted(kept, key=lambda m: m.per_second_rank))
    return view


def live() -> tuple[Metric, ...]:
    """Scoped metrics whose per-second record carries the histogram: merged exactly, live
    (in the record's order)."""
    view = _views.get("live")
    if view is None:
        view = _views["live"] = tuple(m for m in per_second() if m.scoped and m.per_second == "hdr")
    return view


def journaled() -> tuple[Metric, ...]:
    return _view("journaled", lambda m: m.journaled)


def hlogged() -> tuple[Metric, ...]:
    return _view("hlog", lambda m: m.hlog)


def phased() -> tuple[Metric, ...]:
    return _view("phases", lambda m: m.phases)


def charted() -> tuple[Metric, ...]:
    return _view("chart", lambda m: bool(m.chart))


def by_name() -> dict[str, Metric]:
    return dict(_registry)


def get(name: str) -> Metric | None:
    return _registry.get(name)


def new_hist(metric: Metric) -> Histogram | ValueHistogram:
    """An empty histogram of the metric's kind."""
    return ValueHistogram(scale=metric.scale) if metric.scale else Histogram()


def decode(metric: Metric, summary: dict[str, Any]) -> Histogram | ValueHistogram:
    """The histogram a result's summary of this metric holds (``hdr``, and ``scale``)."""
    if metric.scale:
        return ValueHistogram.decode(summary["hdr"], scale=int(summary["scale"]))
    return Histogram.decode(summary["hdr"])
