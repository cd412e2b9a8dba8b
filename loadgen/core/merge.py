"""Merge the results of a profile's segments into the result of the whole test (pure).

Segments (``--segment i/n``) split one test exactly, so their results add up: histograms
are decoded and their bucket counts added, counters are summed, and one-second intervals
are matched on wall-clock seconds (each part's ``started`` plus the interval's ``t``).
Thresholds are then evaluated again on the merged numbers: a p95 across all workers, never
an average of the workers' p95s.

Interval records merge in ``intervalmerge`` (exact where they carry a histogram, an upper
bound where not). The whole-run histograms of every metric are exact. SLO verdicts are
judged again on the merged numbers too (goodput counts add up exactly).

A part rebuilt from the journal of a worker that was killed (``run.rebuilt_from_journal``)
merges too: its intervals, counts and TTFT/E2E histograms are kept, the metrics its journal
does not hold count as empty for it, and the merged result lists it in
``run.partial_parts`` and those metrics' ``missing_parts``, so no total claims to be whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, cast

from loadgen.core import assemble, metrics
from loadgen.core.hist import Histogram, ValueHistogram
from loadgen.core.intervalmerge import merge_interval, merge_intervals, part_starts, sum_counters
from loadgen.core.resultdoc import (
    Custom,
    ErrorRow,
    Header,
    Interval,
    Load,
    Part,
    PartHealth,
    Recorded,
    ResultDoc,
    RunInfo,
    Scopes,
    Segment,
    Summary,
    Tally,
    as_doc,
)
from loadgen.core.serverseries import merge_sections
from loadgen.core.slo import Slo
from loadgen.core.stats import Scope
from loadgen.core.thresholds import Threshold, parse
from loadgen.core.tokentally import TokenTally

__all__ = ["merge_interval", "merge_intervals", "merge_results", "slo_of", "thresholds_of"]

_SCOPE_TABLES = ("by_name", "by_class", "by_category")


def merge_results(
    parts: Sequence[Mapping[str, Any]],
    *,
    thresholds: Sequence[Threshold] | None = None,
    slo: Slo | None = None,
    offsets: Sequence[float] | None = None,
) -> dict[str, Any]:
    """One result document from the results of several segments of the same test.

    ``thresholds`` and ``slo`` are judged on the merged numbers (default: those the parts
    recorded, read back from their verdicts). ``offsets[i]`` is how far part i's clock ran ahead of
    the driver's (seconds, measured at start); it moves that part's times onto the driver's
    clock. Raises ``ValueError`` when the parts are not segments of one test.
    """
    if not parts:
        raise ValueError("nothing to merge: give at least one result")
    _check_compatible(parts)
    offs = list(offsets) if offsets is not None else [0.0] * len(parts)
    if len(offs) != len(parts):
        raise ValueError("give one clock offset per part")
    starts = part_starts(parts, offs)
    base = min(starts)
    ended = max(s + float(p["run"]["duration"]) for s, p in zip(starts, parts, strict=True))
    segment = _merged_segment(parts)
    doc = assemble.document(
        _merged_header(parts, base, segment),
        run=_merged_run(parts, ended - base, ended, segment.get("missing") or []),
        recorded=_merged_recorded(parts, ended - base),
        load=_merged_load(parts),
        users_by_class=dict(sum_counters(p.get("users_by_class", {}) for p in parts)),
        intervals=cast(list[Interval], merge_intervals(parts, offsets=offs)),
        slo=slo_of(parts) if slo is None else slo,
        thresholds=thresholds_of(parts) if thresholds is None else list(thresholds),
        aborted_by=next((p["aborted_by"] for p in parts if p.get("aborted_by")), None),
        server=merge_sections([p["server"] for p in parts if p.get("server")]),
    )
    _add_part_records(doc, parts, [s - base for s in starts], offs, measured=offsets is not None)
    return cast(dict[str, Any], doc)


def _merged_header(parts: Sequence[Mapping[str, Any]], started: float, segment: Segment) -> Header:
    """The test's identity, as the first part recorded it, with the merged start and segment."""
    first = as_doc(parts[0])
    return assemble.header(
        version=first["loadgen_version"],
        profile=first["profile"],
        target=first["target"],
        seed=first["seed"],
        started=started,
        segment=segment,
        plan=first.get("plan") or [],
        environment=first.get("environment") or {},
    )


def _merged_load(parts: Sequence[Mapping[str, Any]]) -> Load:
    return {
        "model": (parts[0].get("load") or {}).get("model", "closed"),
        "dropped": sum(int(p.get("load", {}).get("dropped", 0)) for p in parts),
    }


def _add_part_records(
    doc: ResultDoc,
    parts: Sequence[Mapping[str, Any]],
    starts: list[float],
    offsets: list[float],
    *,
    measured: bool,
) -> None:
    """What stays per part: health, start (``starts`` are relative to the merged start), the
    clock offsets when they were ``measured``, and breakpoint searches."""
    doc["health"]["by_part"] = [_part_health(p) for p in parts if p.get("health")]
    moved = zip(parts, starts, offsets, strict=True)
    doc["parts"] = [_part_entry(p, start, offset) for p, start, offset in moved]
    if measured:
        doc["clock"] = {"offsets": offsets, "max_abs_offset": max(abs(o) for o in offsets)}
    breakpoints = [p["breakpoint"] for p in parts if p.get("breakpoint")]
    if breakpoints:  # each segment searched on its own share: kept, not merged
        doc["breakpoint_by_part"] = breakpoints


def _merged_segment(parts: Sequence[Mapping[str, Any]]) -> Segment:
    count = int(parts[0]["segment"]["count"])
    indices = sorted(int(p["segment"]["index"]) for p in parts)
    missing = sorted(set(range(1, count + 1)) - set(indices))
    return {"index": None, "count": count, "merged": indices, "missing": missing}


def _merged_run(
    parts: Sequence[Mapping[str, Any]], duration: float, ended: float, missing: list[int]
) -> RunInfo:
    runs = [p["run"] for p in parts]
    reasons = sorted({str(r.get("stop_reason", "")) for r in runs})
    return {
        "duration": duration,
        "ended": ended,
        "stop_reason": reasons[0] if len(reasons) == 1 else "; ".join(reasons),
        # a killed part is a loss, not an interruption: it must not turn exit 1 to 130
        "interrupted": any(
            r.get("interrupted") and not r.get("rebuilt_from_journal") for r in runs
        ),
        "complete": not missing and all(r.get("complete", True) for r in runs),
        "partial_parts": [
            int(p["segment"]["index"]) for p in parts if p["run"].get("rebuilt_from_journal")
        ],
        "internal_errors": [
            f"segment {p['segment']['index']}: {e}"
            for p in parts
            for e in p["run"].get("internal_errors", [])
        ],
    }


def _merged_recorded(parts: Sequence[Mapping[str, Any]], duration: float) -> Recorded:
    """What one recorder would hold had it seen every part's requests."""
    scopes = _merge_scopes([p["scopes"] for p in parts], duration)
    _mark_missing(scopes["overall"], parts)
    return {
        "scopes": cast(Scopes, scopes),
        "schedule_lag": cast(Summary, _merge_hist([p["schedule_lag"] for p in parts])),
        "loop_lag": cast(Summary, _merge_hist([p["loop_lag"] for p in parts])),
        "errors": cast(list[ErrorRow], _merge_error_rows([p.get("errors", []) for p in parts])),
        "custom": _merge_custom([p.get("custom", {}) for p in parts]),
    }


def slo_of(parts: Sequence[Mapping[str, Any]]) -> Slo:
    """The SLOs the parts were judged by, read back from their verdict records."""
    limits: dict[str, float] = {}
    gate = False
    for p in parts:
        for record in p.get("slo") or []:
            limits.setdefault(str(record["key"]), float(record["limit"]))
            gate = gate or bool(record.get("gates"))
    return Slo(**limits, gate=gate)


def thresholds_of(parts: Sequence[Mapping[str, Any]]) -> list[Threshold]:
    """The thresholds the parts were judged by, parsed back from their recorded expressions
    (robust where the stored profile is not: its secrets are redacted)."""
    seen: dict[str, Threshold] = {}
    for p in parts:
        for t in p.get("thresholds", []):
            expr = str(t["expr"])
            if expr not in seen:
                seen[expr] = parse(expr, abort_on_fail=bool(t.get("abort_on_fail")))
    return list(seen.values())


def _check_compatible(parts: Sequence[Mapping[str, Any]]) -> None:
    first = parts[0]
    seen: set[int] = set()
    for p in parts:
        for key in ("schema", "seed"):
            if p.get(key) != first.get(key):
                raise ValueError(
                    f"results differ in {key} ({first.get(key)!r} vs {p.get(key)!r}): "
                    "only segments of one test merge; give every segment the same --seed"
                )
        seg = p.get("segment") or {}
        if seg.get("index") is None or seg.get("count") != first["segment"].get("count"):
            raise ValueError(
                "results are not segments of one test (segment counts differ, or one is "
                "already a merged result)"
            )
        if seg["index"] in seen:
            raise ValueError(f"segment {seg['index']}/{seg['count']} is given twice")
        seen.add(int(seg["index"]))


def _mark_missing(overall: dict[str, Any], parts: Sequence[Mapping[str, Any]]) -> None:
    """Name, on each merged metric, the parts whose journal did not hold it."""
    for name, metric in overall["metrics"].items():
        missing = [
            int(p["segment"]["index"])
            for p in parts
            if (p["scopes"]["overall"]["metrics"].get(name) or {}).get("not_journaled")
        ]
        if missing:
            metric["missing_parts"] = missing


def _scope_from_dict(d: Mapping[str, Any]) -> Scope:
    """Rebuild a ``Scope`` from its JSON form (``Scope.to_dict`` with histograms); a metric a
    rebuilt journal could not hold (``not_journaled``) counts as empty."""
    scope = Scope()
    summaries = d["metrics"]
    try:
        for m in scope.kept:
            if not summaries[m.name].get("not_journaled"):
                scope.hists[m.name] = metrics.decode(m, summaries[m.name])
    except KeyError as exc:
        raise ValueError(f"a scope has no histogram {exc}: not a complete result") from None
    scope.requests = int(d["requests"])
    scope.ok = int(d["ok"])
    scope.interrupted = int(d["interrupted"])
    scope.cancelled = int(d.get("cancelled", 0))  # written since issue 21.3
    scope.errors = Counter({k: int(v) for k, v in d["errors_by_kind"].items()})
    scope.statuses = Counter({int(k): int(v) for k, v in d["statuses"].items()})
    scope.output_tokens = int(d["output_tokens"])
    scope.content_events = int(d["content_events"])
    usage = d.get("usage_vs_events", {})
    scope.usage_tokens = int(usage.get("usage_tokens", 0))
    scope.usage_events = int(usage.get("content_events", 0))
    scope.usage_rejected = int(usage.get("rejected", 0))
    scope.token_sources = Counter({k: int(v) for k, v in d.get("token_source", {}).items()})
    scope.without_done = Counter({k: int(v) for k, v in d.get("without_done", {}).items()})
    scope.tally = TokenTally.from_dict(d)
    return scope


def _merge_scope_dicts(items: Sequence[Mapping[str, Any]], duration: float) -> dict[str, Any]:
    total = Scope()
    for item in items:
        total.merge(_scope_from_dict(item))
    return total.to_dict(duration)


def _merge_scopes(scopes: Sequence[Mapping[str, Any]], duration: float) -> dict[str, Any]:
    out: dict[str, Any] = {"overall": _merge_scope_dicts([s["overall"] for s in scopes], duration)}
    if any("good" in s["overall"] for s in scopes):  # requests that met the SLOs (goodput)
        good = sum(int(s["overall"].get("good", 0)) for s in scopes)
        out["overall"] |= {"good": good, "goodput": good / duration if duration > 0 else 0.0}
    for table in _SCOPE_TABLES:
        keys = sorted({k for s in scopes for k in s.get(table, {})})
        out[table] = {
            k: _merge_scope_dicts([s[table][k] for s in scopes if k in s.get(table, {})], duration)
            for k in keys
        }
    return out


def _merge_hist(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    total = Histogram()
    for item in items:
        if item.get("hdr"):
            total.merge(Histogram.decode(item["hdr"]))
    return dict(total.summary()) | {"hdr": total.encode()}


def _merge_error_rows(tables: Sequence[Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    rows: dict[tuple[Any, Any, Any], dict[str, Any]] = {}
    for table in tables:
        for row in table:
            key = (row["kind"], row["name"], row["status"])
            if key in rows:
                rows[key]["count"] += int(row["count"])
            else:
                rows[key] = dict(row)
    return sorted(rows.values(), key=lambda r: -int(r["count"]))


def _merge_custom(items: Sequence[Mapping[str, Any]]) -> Custom:
    checks: dict[str, Tally] = {}
    hists: dict[str, ValueHistogram] = {}
    for item in items:
        for name, c in item.get("checks", {}).items():
            tally = checks.setdefault(name, {"passes": 0, "fails": 0})
            tally["passes"] += int(c["passes"])
            tally["fails"] += int(c["fails"])
        for name, h in (item.get("histograms") or {}).items():
            if h.get("hdr"):
                part = ValueHistogram.decode(h["hdr"], scale=int(h["scale"]))
                hists[name] = part if name not in hists else _merged(hists[name], part)
    counters = sum_counters(i.get("counters", {}) for i in items)
    return {
        "counters": dict(sorted(counters.items())),
        "checks": dict(sorted(checks.items())),
        "histograms": {
            k: cast(Summary, h.summary() | {"hdr": h.encode(), "scale": h.scale})
            for k, h in sorted(hists.items())
        },
    }


def _merged(total: ValueHistogram, part: ValueHistogram) -> ValueHistogram:
    total.merge(part)
    return total


def _part_health(p: Mapping[str, Any]) -> PartHealth:
    h = p["health"]
    return {
        "segment": p["segment"]["index"],
        "limited": h.get("limited", False),
        "warnings": [w.get("plain", "") for w in h.get("warnings", [])],
        "cpu": h.get("cpu", {}),
    }


def _part_entry(p: Mapping[str, Any], start: float, offset: float) -> Part:
    run = p["run"]
    return {
        "segment": p["segment"]["index"],
        "status": "ok",
        "start": start,  # seconds after the merged start, on the driver's clock
        "clock_offset": offset,
        "duration": run.get("duration"),
        "stop_reason": run.get("stop_reason"),
        "interrupted": bool(run.get("interrupted")),
        "requests": p["scopes"]["overall"]["requests"],
        "environment": p.get("environment", {}),
    }
