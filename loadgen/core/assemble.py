"""Assemble a result document: the one builder the engine, ``merge`` and ``journal`` share.

Each producer brings what only it knows (the engine its recorder, ``merge`` the added-up
parts, ``journal`` the intervals it could read); this module puts them in the one shape
(``loadgen.core.resultdoc``) and derives what follows from them the same way for all three:
the generator's health and the named phases from the intervals, the SLO records from the
overall scope, the thresholds from the whole document. So the three cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, cast

from loadgen.core.health import assess
from loadgen.core.phases import phase_summaries
from loadgen.core.resultdoc import (
    SCHEMA,
    Environment,
    Header,
    Health,
    Interval,
    Limit,
    Load,
    Phase,
    PlanStepDoc,
    ProfileInfo,
    Recorded,
    ResultDoc,
    RunInfo,
    Segment,
    ServerSection,
    TargetInfo,
)
from loadgen.core.shapes import PlanStep
from loadgen.core.slo import Slo, overall_values
from loadgen.core.steering import ControlEvent
from loadgen.core.thresholds import Threshold, evaluate

__all__ = ["document", "header", "plan_of", "plan_steps"]


def header(
    *,
    version: str,
    profile: ProfileInfo,
    target: TargetInfo,
    seed: int,
    started: float,
    segment: Segment,
    plan: Sequence[PlanStep] | Sequence[PlanStepDoc],
    environment: Environment,
) -> Header:
    """What a run knows before its first request (the journal's first line)."""
    return {
        "schema": SCHEMA,
        "loadgen_version": version,
        "profile": profile,
        "target": target,
        "seed": seed,
        "started": started,
        "segment": segment,
        "plan": plan_steps(plan),
        "environment": environment,
    }


def plan_steps(plan: Sequence[PlanStep] | Sequence[PlanStepDoc]) -> list[PlanStepDoc]:
    """The plan as the document holds it."""
    out: list[PlanStepDoc] = []
    for step in plan:
        d = asdict(step) if isinstance(step, PlanStep) else step
        out.append(
            {
                "at": d["at"],
                "until": d["until"],
                "start": d["start"],
                "end": d["end"],
                "name": d.get("name"),
            }
        )
    return out


def plan_of(doc: Header) -> list[PlanStep]:
    """The document's plan as ``PlanStep``s (an older result may have none)."""
    return [PlanStep(**step) for step in doc.get("plan") or []]


def document(
    head: Header,
    *,
    run: RunInfo,
    recorded: Recorded,
    load: Load,
    users_by_class: dict[str, int],
    intervals: list[Interval],
    slo: Slo,
    thresholds: Sequence[Threshold] = (),
    aborted_by: Limit | None = None,
    server: ServerSection | dict[str, Any] | None = None,
    control: Sequence[ControlEvent] = (),
) -> ResultDoc:
    """The result document; thresholds are judged on it, SLOs on its overall scope;
    ``server`` is the scraped server section (``target.metrics``), when there is one."""
    overall = recorded["scopes"]["overall"]
    doc: ResultDoc = {
        "schema": head["schema"],
        "loadgen_version": head["loadgen_version"],
        "profile": head["profile"],
        "target": head["target"],
        "seed": head["seed"],
        "started": head["started"],
        "segment": head["segment"],
        "plan": head["plan"],
        "environment": head["environment"],
        "run": run,
        "scopes": recorded["scopes"],
        "schedule_lag": recorded["schedule_lag"],
        "loop_lag": recorded["loop_lag"],
        "custom": recorded["custom"],
        "errors": recorded["errors"],
        "load": load,
        "users_by_class": users_by_class,
        "intervals": intervals,
        "health": cast(Health, assess(intervals)),
        "phases": cast(list[Phase], phase_summaries(plan_of(head), intervals)),
        "slo": cast(list[Limit], slo.records(overall_values(overall)) if slo.declared else []),
        "thresholds": [],
        "aborted_by": aborted_by,
    }
    if server is not None:
        doc["server"] = cast(ServerSection, server)
    if control:  # the live page's steering (--ui): holds, resumes, a stop
        doc["control"] = list(control)
    doc["thresholds"] = cast(list[Limit], evaluate(list(thresholds), doc))
    return doc
