"""Rebuild a result from a run's journal (``result.jsonl``), however it was cut short.

The writer appends the header, then one line per closed interval, each fsynced; a run killed
with SIGKILL (or a machine that lost power) leaves that journal and no ``result.json``. This
module turns the journal back into a result document every report can render, so the
intervals a run did record are never lost.

What the journal holds decides what can be rebuilt honestly: counts and error kinds are sums
of the intervals; TTFT and E2E distributions are exact merges of the intervals' HdrHistograms.
ITL, TTFB and the per-name, per-class and per-category scopes are not journaled, so they are
left empty (``count: 0``) instead of being guessed. Health, named phases and the SLO-good
count follow from the intervals as for a finished run (``loadgen.core.assemble``). A torn
last line (the write the kill interrupted) is dropped. The rebuilt result says
``run.truncated = true`` and ``run.complete = false``; reports show a banner saying so.

Sans-I/O apart from reading the file: ``rebuild(lines)`` does the work on decoded lines.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

from loadgen.core import assemble
from loadgen.core import metrics as registry
from loadgen.core.hist import Histogram
from loadgen.core.resultdoc import SCHEMA, Header, Interval, RunInfo, Scope, Summary
from loadgen.core.slo import Slo
from loadgen.core.tokentally import TokenTally

__all__ = ["JournalError", "Tail", "read_journal", "rebuild"]


class JournalError(ValueError):
    """The journal cannot give a result (no header, not a loadgen journal); says why."""


class Tail:
    """The complete JSON lines another process appended to a file since the last ``read``
    (a line still being written waits for its newline; a file not there yet reads empty)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._rest = b""

    def read(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        *lines, self._rest = (self._rest + chunk).split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]


def read_journal(path: str | Path) -> dict[str, Any]:
    """The result document rebuilt from the journal at ``path``; ``JournalError`` if none can be.

    Undecodable lines (the torn last one, bytes a crash left) are skipped and counted in
    ``run.journal.skipped_lines``.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"{path}: cannot read ({exc.strerror})") from None
    records: list[dict[str, Any]] = []
    skipped = 0
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError):
            skipped += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            skipped += 1
    data = rebuild(records)
    data["run"]["journal"] = {"path": str(path), "skipped_lines": skipped}
    return data


def rebuild(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The result document from decoded journal records (header, intervals, maybe an end)."""
    header = next((r for r in records if r.get("type") == "header"), None)
    if header is None or header.get("schema") != SCHEMA:
        found = header.get("schema") if header is not None else None
        raise JournalError(
            "not a loadgen journal: its first record is not a header of schema "
            f"{SCHEMA!r} (found {found!r})"
        )
    intervals = [_strip(r) for r in records if r.get("type") == "interval"]
    end = next((r for r in records if r.get("type") == "end"), None)
    duration = max((float(i["t"]) + float(i["length"]) for i in intervals), default=0.0)
    run = _run(float(header.get("started", 0.0)), intervals, duration, end)
    head = cast(Header, _strip(header))
    raw_profile = (head.get("profile") or {}).get("raw") or {}
    load = raw_profile.get("load") if isinstance(raw_profile, dict) else None
    model: Literal["closed", "open"] = (
        "open" if isinstance(load, dict) and load.get("model") == "open" else "closed"
    )
    counters: Counter[str] = Counter()
    for i in intervals:
        counters.update(i.get("counters") or {})
    doc = assemble.document(
        head,
        run=run,
        recorded={
            "scopes": {
                "overall": _overall(intervals, float(run.get("duration") or duration)),
                "by_name": {},
                "by_class": {},
                "by_category": {},
            },
            "schedule_lag": _brief_max(intervals, "schedule_lag"),
            "loop_lag": _brief_max(intervals, "loop_lag"),
            "errors": [],
            "custom": {"counters": dict(sorted(counters.items())), "checks": {}, "histograms": {}},
        },
        load={"model": model, "dropped": sum(int(i.get("dropped", 0)) for i in intervals)},
        users_by_class={},
        intervals=cast(list[Interval], intervals),
        slo=Slo(),  # SLOs and thresholds are judged on a whole run's numbers: not here
    )
    return cast(dict[str, Any], doc)


def _run(
    started: float,
    intervals: Sequence[Mapping[str, Any]],
    duration: float,
    end: Mapping[str, Any] | None,
) -> RunInfo:
    """The end record's run, or, when the run never wrote one, what the intervals tell."""
    if end is not None and isinstance(end.get("run"), dict):
        run = cast(RunInfo, dict(end["run"]))
        run["truncated"] = False
    else:
        run = {
            "duration": duration,
            "ended": started + duration,
            "stop_reason": f"cut short: the journal ends after {len(intervals)} intervals "
            f"({duration:.1f} s); the run was killed or crashed",
            "interrupted": True,
            "complete": False,
            "truncated": True,
            "internal_errors": [],
        }
    run["complete"] = False
    run["rebuilt_from_journal"] = True
    return run


def _strip(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "type"}


def _overall(intervals: Sequence[Mapping[str, Any]], duration: float) -> Scope:
    def total(key: str) -> int:
        return sum(int(i.get(key, 0)) for i in intervals)

    kinds: Counter[str] = Counter()
    for i in intervals:
        kinds.update(i.get("errors_by_kind") or {})
    requests, errors, tokens = total("requests"), total("errors"), total("output_tokens")
    metrics: dict[str, Summary] = {}
    for name in (m.name for m in registry.journaled()):  # their per-interval histograms
        merged = _merge(i.get(name) or {} for i in intervals)
        metrics[name] = cast(Summary, {**merged.summary(), "hdr": merged.encode()})
    for name in (m.name for m in registry.scoped() if not m.journaled):
        metrics[name] = {"count": 0, "not_journaled": True}
    return {
        "requests": requests,
        "ok": total("ok"),
        "errors": errors,
        "errors_by_kind": dict(sorted(kinds.items())),
        "error_rate": errors / requests if requests else 0.0,
        "interrupted": total("interrupted"),
        "cancelled": total("cancelled"),
        "statuses": {},
        "rps": requests / duration if duration > 0 else 0.0,
        "output_tokens": tokens,
        "content_events": 0,
        "output_tps": tokens / duration if duration > 0 else 0.0,
        "token_source": {},
        "usage_vs_events": {
            "usage_tokens": 0,
            "content_events": 0,
            "difference": 0,
            "rejected": 0,
        },
        "without_done": {},
        # the intervals keep input tokens' total only: no sources, no calibration
        **TokenTally(input_tokens=total("input_tokens")).to_dict(duration),
        "metrics": metrics,
        "good": total("good"),  # requests that met the SLOs, as the engine counts them
        "goodput": total("good") / duration if duration > 0 else 0.0,
    }


def _merge(briefs: Iterable[Mapping[str, Any]]) -> Histogram:
    """Exact merge of the intervals' histograms (an interval without one had no sample)."""
    merged = Histogram()
    for brief in briefs:
        if brief.get("count") and isinstance(brief.get("hdr"), str):
            try:
                merged.merge(Histogram.decode(brief["hdr"]))
            except (ValueError, TypeError) as exc:
                raise JournalError(f"an interval holds an unreadable histogram: {exc}") from None
    return merged


def _brief_max(intervals: Sequence[Mapping[str, Any]], key: str) -> Summary:
    """Lag summaries: without histograms only the count and the worst value are exact."""
    briefs = [i.get(key) or {} for i in intervals]
    count = sum(int(b.get("count", 0)) for b in briefs)
    worst = max((float(b.get("max", 0.0)) for b in briefs if b.get("count")), default=0.0)
    return {"count": count, "max": worst}
