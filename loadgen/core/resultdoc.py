"""The result document's schema, ``loadgen.result/1``, as types (SPEC §4).

One ``ResultDoc`` is what a run, ``merge`` (a whole test) and ``journal.rebuild`` (a
cut-short run) write, all built by ``loadgen.core.assemble``. It stays plain JSON; these types
say which keys exist. A key marked ``NotRequired`` is written by some producers or runs only
(the comment says which): readers ``.get`` those, and may index every other.

``docs/result.schema.json`` is generated from these types (``loadgen.core.resultschema``);
a test keeps the two equal. No ``from __future__ import annotations`` here: ``TypedDict``
must see ``NotRequired`` at run time to know which keys are required.
"""

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, cast

from loadgen.core.intervaldoc import Brief, Interval, ScopeInterval
from loadgen.core.serverdoc import AwsSection, ServerSection
from loadgen.core.steering import ControlEvent

__all__ = [
    "SCHEMA",
    "AwsSection",
    "Breakpoint",
    "Brief",
    "Calibration",
    "Check",
    "Custom",
    "Environment",
    "ErrorRow",
    "Header",
    "Health",
    "InputTally",
    "Interval",
    "Limit",
    "Load",
    "Part",
    "Phase",
    "PlanStepDoc",
    "ProfileInfo",
    "Recorded",
    "ResultDoc",
    "RunInfo",
    "Scope",
    "ScopeInterval",
    "Scopes",
    "Segment",
    "ServerSection",
    "Summary",
    "TargetInfo",
    "VerdictDoc",
    "as_doc",
]

SCHEMA = "loadgen.result/1"

# A metric's whole-run summary (``Histogram.summary`` plus its encoding): milliseconds, or a
# count for token metrics. A metric a rebuilt journal could not hold is ``{"count": 0,
# "not_journaled": true}``: read the statistics only when ``count`` is above 0.
Summary = TypedDict(
    "Summary",
    {
        "count": int,
        "mean": NotRequired[float],
        "p50": NotRequired[float],
        "p90": NotRequired[float],
        "p95": NotRequired[float],
        "p99": NotRequired[float],
        "p99.9": NotRequired[float],
        "max": NotRequired[float],
        "min": NotRequired[float],
        "hdr": NotRequired[str],  # HdrHistogram V2, compressed, base64
        "scale": NotRequired[int],  # value histograms (token counts): stored value = v * scale
        "not_journaled": NotRequired[bool],  # rebuilt journal: this metric is not in it
        "missing_parts": NotRequired[list[int]],  # merge: segments whose journal lacked it
    },
)


class UsageVsEvents(TypedDict):
    usage_tokens: int
    content_events: int
    difference: int
    rejected: int


class Calibration(TypedDict):
    """Server-counted − requested tokens, over the requests that had both (issue 20.3)."""

    requests: int
    requested: int  # the lengths asked for, added up
    server: int  # the server's counts of those requests, added up
    mean: float  # (server − requested) / requests
    min: int  # of the per-request difference
    max: int


class InputTally(TypedDict):
    """A scope's input-token keys, as ``loadgen.core.tokentally`` writes them."""

    input_tokens: int
    input_tps: float
    input_token_source: dict[str, int]
    requested_vs_server: dict[str, Calibration]  # "input" (prompt_tokens), "output"


class Scope(TypedDict):
    """The numbers of one scope: the whole run, or one request name, class or category."""

    requests: int
    ok: int
    errors: int
    errors_by_kind: dict[str, int]
    error_rate: float
    interrupted: int
    cancelled: NotRequired[int]  # the user abandoned the answer (since issue 21.3)
    statuses: dict[str, int]
    rps: float
    output_tokens: int
    content_events: int
    output_tps: float
    token_source: dict[str, int]
    usage_vs_events: UsageVsEvents
    without_done: dict[str, int]
    metrics: dict[str, Summary]  # ttfb, ttft, itl, tpot, e2e, output_tokens, request_tps
    # Input tokens (written since issue 20.3; a rebuilt journal has only the totals):
    input_tokens: NotRequired[int]  # added up over answered requests
    input_tps: NotRequired[float]  # input_tokens / duration
    input_token_source: NotRequired[dict[str, int]]  # "usage" | "tokenizer" → requests
    requested_vs_server: NotRequired[dict[str, Calibration]]
    good: NotRequired[int]  # overall only: requests that met the SLOs
    goodput: NotRequired[float]  # overall only: good per second


class Scopes(TypedDict):
    overall: Scope
    by_name: dict[str, Scope]
    by_class: dict[str, Scope]
    by_category: dict[str, Scope]


class ProfileInfo(TypedDict):
    name: str
    path: str | None
    raw: dict[str, Any]  # the profile as written, secrets redacted


TargetInfo = TypedDict("TargetInfo", {"base_url": str, "builtin": bool})  # noqa: UP013


class Segment(TypedDict):
    index: int | None  # 1-based; None in a merged result
    count: int
    merged: NotRequired[list[int]]  # merge: the segments it holds
    missing: NotRequired[list[int]]  # merge: the segments it lacks


class PlanStepDoc(TypedDict):
    """One step of the load plan (``loadgen.core.shapes.PlanStep``)."""

    at: float
    until: float
    start: float
    end: float
    name: str | None


class Environment(TypedDict, total=False):
    python: str
    platform: str
    event_loop: str
    cpu_count: int | None


class Header(TypedDict):
    """What a run knows before its first request: the journal's first line."""

    schema: str
    loadgen_version: str
    profile: ProfileInfo
    target: TargetInfo
    seed: int
    started: float  # wall-clock seconds (Unix time)
    segment: Segment
    plan: list[PlanStepDoc]
    environment: Environment


# One line (noqa: UP013), as TargetInfo: this module is at its 450-line budget.
JournalInfo = TypedDict("JournalInfo", {"path": str, "skipped_lines": int})  # noqa: UP013


class RunInfo(TypedDict):
    """How the run went: its length, why it stopped, whether it is whole."""

    duration: float
    ended: float
    stop_reason: str
    interrupted: bool
    complete: bool
    internal_errors: list[str]
    truncated: NotRequired[bool]  # rebuilt journal: no end record (the run was killed)
    rebuilt_from_journal: NotRequired[bool]
    journal: NotRequired[JournalInfo]  # rebuilt journal read from a file
    partial_parts: NotRequired[list[int]]  # merge: parts rebuilt from a journal
    failed_parts: NotRequired[list[int]]  # distributed: workers that did not finish


class ErrorRow(TypedDict):
    kind: str
    name: str
    status: int | None
    count: int
    example: str


class Tally(TypedDict):
    passes: int
    fails: int


class Custom(TypedDict):
    counters: dict[str, int]
    checks: dict[str, Tally]
    histograms: dict[str, Summary]


class Load(TypedDict):
    model: Literal["closed", "open", "replay"]
    dropped: int


class HealthWarning(TypedDict):
    t: float
    until: float
    what: str
    plain: str


class PartHealth(TypedDict):
    segment: int | None
    limited: bool
    warnings: list[str]
    cpu: dict[str, float]


class Health(TypedDict):
    limited: bool
    warnings: list[HealthWarning]
    startup: HealthWarning | None
    cpu: dict[str, float]
    limits: dict[str, float]
    by_part: NotRequired[list[PartHealth]]  # merge


class Phase(TypedDict):
    """A named stage's numbers (``loadgen.core.phases``)."""

    name: str
    start: float
    end: float
    seconds: float
    level_from: float
    level_to: float
    requests: int
    errors: int
    error_rate: float
    rps: float
    ttft: Summary
    e2e: Summary


class Limit(TypedDict):
    """A threshold's or an SLO's verdict (``thresholds.evaluate``, ``Slo.records``)."""

    expr: str
    metric: str
    stat: str
    scope: dict[str, str]
    op: str
    limit: float
    unit: str
    value: float | None
    ok: bool
    abort_on_fail: bool
    kind: NotRequired[Literal["slo"]]  # SLO records only, with key and gates
    key: NotRequired[str]
    gates: NotRequired[bool]


class BreakpointStep(TypedDict, total=False):
    level: float
    start: float
    end: float
    warmup: float
    rps: float
    goodput: float
    requests: int
    ttft: dict[str, float | None]
    e2e_p95: float | None
    itl_p99: float | None
    error_rate: float
    goodput_ratio: float | None
    verdict: Literal["ok", "broken", "generator-limited"]
    broken_by: list[str]
    limited_by: list[str]


class Breakpoint(TypedDict):
    unit: Literal["users", "rate"]
    steps: list[BreakpointStep]
    highest_ok: float | None
    first_broken: float | None
    broken_by: list[str]
    knee: float | None
    generator_limited_at: NotRequired[float | None]
    require_at_least: NotRequired[float | None]
    ok: NotRequired[bool]
    warmup: NotRequired[float]
    step_duration: NotRequired[float]


class Part(TypedDict):
    """One segment of a merged or distributed run."""

    segment: int
    status: Literal["ok", "partial", "crashed"]
    start: NotRequired[float]  # seconds after the merged start, on the driver's clock
    clock_offset: NotRequired[float]
    duration: NotRequired[float | None]
    stop_reason: NotRequired[str | None]
    interrupted: NotRequired[bool]
    requests: NotRequired[int]
    environment: NotRequired[Environment]
    exit_code: NotRequired[int | None]  # distributed: a failed worker's
    error: NotRequired[str]
    dir: NotRequired[str]
    journaled_intervals: NotRequired[int]


class Check(TypedDict):
    """One check of the verdict (``loadgen.core.verdict.Check``)."""

    kind: Literal["run", "threshold", "slo", "breakpoint"]
    name: str
    observed: str
    limit: str
    ok: bool
    gates: bool
    scope: str
    why: str


class VerdictDoc(TypedDict):
    status: Literal["passed", "failed", "interrupted"]
    exit_code: int
    text: str
    checks: list[Check]


class Recorded(TypedDict):
    """What a recorder (or a merge of recorders) knows: ``Recorder.to_result``."""

    scopes: Scopes
    schedule_lag: Summary
    loop_lag: Summary
    errors: list[ErrorRow]
    custom: Custom


class ResultDoc(Header):
    """The whole result document (``result.json``)."""

    run: RunInfo
    scopes: Scopes
    schedule_lag: Summary  # a rebuilt journal holds only count and max
    loop_lag: Summary
    custom: Custom
    errors: list[ErrorRow]
    load: Load
    users_by_class: dict[str, int]
    intervals: list[Interval]
    health: Health
    phases: list[Phase]
    slo: list[Limit]
    thresholds: list[Limit]
    aborted_by: Limit | None
    verdict: NotRequired[VerdictDoc]  # written by Result.save; loadgen judges afresh
    breakpoint: NotRequired[Breakpoint]  # a breakpoint search
    breakpoint_by_part: NotRequired[list[Breakpoint]]  # merge: each segment's own search
    parts: NotRequired[list[Part]]  # merge, distributed
    clock: NotRequired[dict[str, Any]]  # merge with offsets, distributed
    distributed: NotRequired[dict[str, Any]]  # distributed: how the workers ran
    aws: NotRequired[AwsSection]  # profile.aws with cloudwatch or cost
    server: NotRequired[ServerSection]  # target.metrics: the scraped server series
    control: NotRequired[list[ControlEvent]]  # --ui: changes made by hand, in time order


def as_doc(data: Mapping[str, Any]) -> ResultDoc:
    """``data`` read as a result document (no check: ``load_result`` checked the schema)."""
    return cast(ResultDoc, data)
