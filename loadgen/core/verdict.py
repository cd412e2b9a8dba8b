"""The run's verdict, decided in one place (SPEC §6 "One verdict").

The exit code, the console, ``--json``, the HTML report and JUnit all show ``judge(data)``:
the same checks, the same outcomes, the same words. A check either *gates* (a failure makes
the run fail, exit 1) or informs (shown with its outcome, never deciding the exit code).

What gates:

* every threshold (``thresholds:``), except in a breakpoint search;
* every SLO (``slo:``) when the profile says ``slo: {gate: true}``, except in a breakpoint
  search, which goes past its SLOs on purpose;
* a breakpoint search's own answer: ``require_at_least`` met, when the profile declares it;
* the run itself: at least one request succeeded; no virtual user hit an internal error;
  no request failed on the generator's own limits (kind ``generator``: open files, local
  ports, memory — the numbers would blame the target for them); no ``abort_on_fail``
  threshold stopped it; in a distributed run, every part finished.

An interrupted run exits 130 whatever its checks say (SPEC §3). Pure: result data in,
``Verdict`` out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Check", "Verdict", "judge"]

CheckKind = Literal["run", "threshold", "slo", "breakpoint"]


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the verdict: what was checked, what was seen, against what, and whether it
    held. ``gates``: a failure fails the run (exit 1); otherwise it only informs."""

    kind: CheckKind
    name: str
    observed: str
    limit: str
    ok: bool
    gates: bool
    scope: str = "all"
    why: str = ""  # for checks that do not gate: why not

    @property
    def mark(self) -> str:
        """PASS / FAIL for gating checks; ok / missed for those that only inform."""
        if self.gates:
            return "PASS" if self.ok else "FAIL"
        return "ok" if self.ok else "missed"


@dataclass(frozen=True, slots=True)
class Verdict:
    checks: tuple[Check, ...]
    interrupted: bool = False

    @property
    def failed(self) -> list[Check]:
        """The gating checks that failed: the reasons for exit 1."""
        return [c for c in self.checks if c.gates and not c.ok]

    @property
    def status(self) -> Literal["passed", "failed", "interrupted"]:
        if self.interrupted:
            return "interrupted"
        return "failed" if self.failed else "passed"

    @property
    def exit_code(self) -> int:
        """SPEC §3: 130 interrupted, 1 a gating check failed, else 0."""
        return {"interrupted": 130, "failed": 1, "passed": 0}[self.status]

    @property
    def text(self) -> str:
        """One line: ``PASSED — all 4 checks held`` / ``FAILED — no request succeeded``."""
        gating = [c for c in self.checks if c.gates]
        if self.interrupted:
            return "INTERRUPTED — the results cover the time until the stop (exit 130)"
        if self.failed:
            reasons = "; ".join(f"{c.name}: {c.observed}" for c in self.failed)
            return f"FAILED — {len(self.failed)} of {len(gating)} checks failed: {reasons}"
        return f"PASSED — all {len(gating)} checks held"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "text": self.text,
            "checks": [asdict(c) for c in self.checks],
        }


def judge(data: Mapping[str, Any]) -> Verdict:
    """The verdict of a result (a finished, interrupted, merged or rebuilt run)."""
    bp = data.get("breakpoint") or None
    checks = [*_run_checks(data)]
    search_note = "a breakpoint search is judged by its answer, not by whole-run limits"
    for t in data.get("thresholds") or []:
        checks.append(_limit_check("threshold", t, gates=bp is None, why=search_note))
    for s in data.get("slo") or []:
        if bp is not None:
            why = search_note
        elif not s.get("gates"):
            why = "SLOs inform unless the profile sets slo: {gate: true}"
        else:
            why = ""
        checks.append(_limit_check("slo", s, gates=bp is None and bool(s.get("gates")), why=why))
    if bp is not None:
        checks.append(_breakpoint_check(bp))
    return Verdict(tuple(checks), interrupted=bool(data["run"].get("interrupted")))


def _run_checks(data: Mapping[str, Any]) -> list[Check]:
    """The run's own checks: something succeeded, nothing of loadgen's own failed."""
    run = data["run"]
    overall = data["scopes"]["overall"]
    requests, ok = int(overall["requests"]), int(overall.get("ok", 0))
    # A cancelled request (cancel:) is neither a success nor a failure, and outside
    # ``requests``: a run whose every answer was abandoned as asked did not fail.
    cancelled = int(overall.get("cancelled", 0))
    internal = list(run.get("internal_errors") or [])
    done = f"{ok} of {requests}" + (f" ({cancelled} cancelled as asked)" if cancelled else "")
    out = [
        Check("run", "requests succeeded", done, "at least 1", ok + cancelled > 0, gates=True),
        Check(
            "run",
            "virtual users ran without internal errors",
            f"{len(internal)} internal error" + ("" if len(internal) == 1 else "s"),
            "none",
            not internal,
            gates=True,
        ),
    ]
    own = int((overall.get("errors_by_kind") or {}).get("generator", 0))
    if own:
        out.append(_generator_check(own))
    aborted = data.get("aborted_by")
    if aborted:
        out.append(
            Check(
                "run",
                "ran to the end of its plan",
                f"stopped early: {aborted['expr']} failed (abort_on_fail)",
                "no abort",
                False,
                gates=True,
            )
        )
    segment = data.get("segment") or {}
    if int(segment.get("count") or 1) > 1 and "merged" in segment:
        out.append(_parts_check(segment, run))
    return out


def _generator_check(own: int) -> Check:
    return Check(
        "run",
        "no request failed on the generator's own limits",
        f"{own} request{'' if own == 1 else 's'} failed on them (open files, local "
        "ports or memory)",
        "none",
        False,
        gates=True,
    )


def _parts_check(segment: Mapping[str, Any], run: Mapping[str, Any]) -> Check:
    """A distributed (merged) run: did every part finish?"""
    missing = list(segment.get("missing") or [])
    partial = list(run.get("partial_parts") or [])
    complete = bool(run.get("complete", True)) and not missing and not partial
    finished = len(segment.get("merged") or []) - len(partial)
    seen = f"{finished} of {segment['count']} parts"
    notes = [f"missing: {', '.join(map(str, missing))}"] if missing else []
    if partial:
        notes.append(f"partial, cut short: {', '.join(map(str, partial))}")
    return Check(
        "run",
        "every part of the distributed run finished",
        seen + (f" ({'; '.join(notes)})" if notes else ""),
        "all parts",
        complete,
        gates=True,
    )


def _limit_check(kind: CheckKind, t: Mapping[str, Any], *, gates: bool, why: str) -> Check:
    scope = ", ".join(f"{k} {v}" for k, v in (t.get("scope") or {}).items()) or "all"
    unit = str(t.get("unit") or "")
    return Check(
        kind,
        str(t.get("expr", "")),
        value_text(t.get("value"), unit),
        f"{t.get('op', '')} {value_text(t.get('limit'), unit)}",
        bool(t.get("ok", False)),
        gates=gates,
        scope=scope,
        why="" if gates else why,
    )


def _breakpoint_check(bp: Mapping[str, Any]) -> Check:
    unit = "users" if bp.get("unit") == "users" else "req/s"
    highest = bp.get("highest_ok")
    seen = "no level met the SLOs" if highest is None else f"{highest:g} {unit}"
    required = bp.get("require_at_least")
    if required is None:
        return Check(
            "breakpoint",
            "highest load within the SLOs",
            seen,
            "(no breakpoint.require_at_least)",
            True,
            gates=False,
            why="the search answers a question; require_at_least makes it a gate",
        )
    return Check(
        "breakpoint",
        "highest load within the SLOs",
        seen,
        f">= {required:g} {unit}",
        bool(bp.get("ok", False)),
        gates=True,
    )


def value_text(value: Any, unit: str) -> str:
    """A measured value or limit as every output shows it."""
    if value is None:
        return "not measured (no such requests)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if unit == "%":
        return f"{value:.2%}"
    if unit == "ms":
        return f"{value:.1f} ms"
    return f"{value:g} {unit}".rstrip()
