"""Validation of the load plan: ``load:`` (closed or open model, stages) and ``breakpoint:``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from loadgen.core import units
from loadgen.core.breakpoint import BreakpointSpec
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.model import Load, Stage
from loadgen.core.profile.replayspec import KEYS as _REPLAY_KEYS
from loadgen.core.profile.replayspec import replay
from loadgen.core.profile.source import Path_

__all__ = ["breakpoint", "load"]


_LOAD_KEYS = (
    "model",
    "stages",
    "users",
    "rate",
    "duration",
    "ramp_up",
    "graceful_stop",
    "arrival",
    "burstiness",
    "max_in_flight",
    "queue",
    "warm_connections",
    *(k for k in _REPLAY_KEYS if k not in ("model", "duration", "max_in_flight", "graceful_stop")),
)
_BREAKPOINT_KEYS = (
    "start",
    "step",
    "step_duration",
    "max",
    "warmup",
    "consecutive",
    "refine",
    "require_at_least",
)


def load(check: Checker, value: Any, path: Path_, *, plan: bool = True) -> Load:
    """The load plan; with ``plan=False`` (a breakpoint search makes its own steps) only
    the model and its options."""
    known = len(check.problems)
    if isinstance(value, dict) and value.get("model") == "replay":
        return replay(check, value, path)
    ld = check.mapping(value, path, _LOAD_KEYS)
    model, level_key = _model(check, ld, path)
    extra = _open_options(check, ld, path) if model == "open" else _closed(check, ld, path)
    graceful = check.unit(
        ld.get("graceful_stop"), (*path, "graceful_stop"), units.parse_duration, 10.0
    )
    if "stages" in ld:
        stages, start = _stages(check, ld, path, model, level_key), 0.0
    else:
        if not plan and level_key not in ld and "duration" not in ld:
            return Load(model=model, graceful_stop=graceful, **extra)
        if level_key not in ld or "duration" not in ld:
            check.bad(
                path,
                f"missing stages (or {level_key} + duration)",
                f"write stages: [{{duration: 30s, {level_key}: 10}}] or "
                f"{level_key}: 10, duration: 1m",
            )
            return Load(model=model, graceful_stop=graceful, **extra)
        stages, start = _steady(check, ld, path, model, level_key)
    # A zero total that only follows from a duration already reported is not news.
    if len(check.problems) == known:
        _sends_something(check, stages, path, level_key)
    return Load(model=model, stages=tuple(stages), start=start, graceful_stop=graceful, **extra)


def _model(
    check: Checker, ld: Mapping[str, Any], path: Path_
) -> tuple[Literal["closed", "open"], str]:
    """The model (closed or open) and the key its levels are given in (users or rate)."""
    model = check.one_of(
        ld.get("model"),
        (*path, "model"),
        ("closed", "open"),
        "load model",
        "use closed (a number of users), open (an arrival rate) or replay (a trace)",
    )
    level_key = "users" if model == "closed" else "rate"
    other_key = "rate" if model == "closed" else "users"
    if other_key in ld:
        check.bad(
            (*path, other_key),
            f"{other_key} does not apply to the {model} model",
            f"use {level_key}, or set model: {'open' if model == 'closed' else 'closed'}",
        )
    return ("open" if model == "open" else "closed"), level_key


def _sends_something(check: Checker, stages: list[Stage], path: Path_, level_key: str) -> None:
    """The stages must take some time and reach a level above zero."""
    if stages and sum(s.duration for s in stages) <= 0:
        check.bad((*path, "stages"), "the stages add up to no time", "give a duration > 0")
    elif stages and max(s.target for s in stages) <= 0:
        check.bad(
            (*path, "stages"),
            f"no stage has any {level_key}: the run would send nothing",
            f"give at least one stage {level_key} > 0",
        )


def _open_options(check: Checker, ld: Mapping[str, Any], path: Path_) -> dict[str, Any]:
    """The open model's own keys: arrival process, burstiness, in-flight cap, queueing."""
    _no_replay_keys(check, ld, path)
    if "warm_connections" in ld:
        check.bad(
            (*path, "warm_connections"),
            "warm_connections applies to the closed model only (an arrival has no VU to warm)",
            "set model: closed, or remove it",
        )
    arrival = check.one_of(
        ld.get("arrival"),
        (*path, "arrival"),
        ("constant", "poisson", "gamma"),
        "arrival process",
        "use constant, poisson or gamma",
    )
    max_in_flight = check.typed(ld.get("max_in_flight"), (*path, "max_in_flight"), int, 1000)
    if max_in_flight <= 0:
        check.bad((*path, "max_in_flight"), "must be > 0", "write max_in_flight: 1000")
    return {
        "arrival": arrival,
        "max_in_flight": max_in_flight,
        "burstiness": check.positive(
            ld.get("burstiness", 1.0), (*path, "burstiness"), 1.0, "burstiness"
        ),
        "queue": check.typed(ld.get("queue"), (*path, "queue"), bool, False),
    }


def _closed(check: Checker, ld: Mapping[str, Any], path: Path_) -> dict[str, Any]:
    """The closed model has none of the open model's keys; it may warm its connections."""
    _no_replay_keys(check, ld, path)
    for key in ("arrival", "burstiness", "max_in_flight", "queue"):
        if key in ld:
            check.bad(
                (*path, key),
                f"{key} applies to the open model only",
                "set model: open, or remove it",
            )
    warm = check.typed(ld.get("warm_connections"), (*path, "warm_connections"), bool, False)
    return {"warm_connections": warm}


def _no_replay_keys(check: Checker, ld: Mapping[str, Any], path: Path_) -> None:
    """A trace's keys belong to the replay model."""
    for key in ld:
        if key in _REPLAY_KEYS and key not in (
            "model",
            "duration",
            "max_in_flight",
            "graceful_stop",
        ):
            check.bad((*path, key), f"{key} applies to the replay model only", "set model: replay")


def _level(check: Checker, model: str, raw: Any, p: Path_) -> float:
    """A stage's level: whole users (closed model) or arrivals per second (open)."""
    if model == "closed":
        users = check.typed(raw, p, int, 0, "write a whole number of users")
        if users < 0:
            check.bad(p, "users must be ≥ 0", "write a whole number of users")
        return float(users)
    return check.unit(raw, p, units.parse_rate, 0.0)


def _stages(
    check: Checker, ld: Mapping[str, Any], path: Path_, model: str, level_key: str
) -> list[Stage]:
    """``stages: [{duration, users|rate, name}]``."""
    stages: list[Stage] = []
    if level_key in ld or "duration" in ld:
        check.bad(
            path,
            f"give either stages or {level_key} + duration, not both",
            f"drop {level_key}/duration or stages",
        )
    raw = ld["stages"]
    if not isinstance(raw, list) or not raw:
        check.bad(
            (*path, "stages"),
            "expected a non-empty list",
            f"write stages: [{{duration: 30s, {level_key}: 10}}]",
        )
        raw = []
    for i, item in enumerate(raw):
        p = (*path, "stages", i)
        st = check.mapping(item, p, ("duration", level_key, "name"))
        if "duration" not in st or level_key not in st:
            check.bad(
                p,
                f"a stage needs duration and {level_key}",
                f"write {{duration: 30s, {level_key}: 10}}",
            )
            continue
        stages.append(
            Stage(
                duration=check.unit(st["duration"], (*p, "duration"), units.parse_duration, 0.0),
                target=_level(check, model, st[level_key], (*p, level_key)),
                name=check.typed(st.get("name"), (*p, "name"), str, None),
            )
        )
    return stages


def _steady(
    check: Checker, ld: Mapping[str, Any], path: Path_, model: str, level_key: str
) -> tuple[list[Stage], float]:
    """``users|rate`` + ``duration`` (+ ``ramp_up``): the stages and the starting level."""
    stages: list[Stage] = []
    before = len(check.problems)
    peak = _level(check, model, ld[level_key], (*path, level_key))
    if peak <= 0 and len(check.problems) == before:  # one problem per value
        check.bad(
            (*path, level_key),
            f"{level_key} must be > 0",
            "write users: 10" if level_key == "users" else "write rate: 5/s",
        )
    duration = check.unit(ld["duration"], (*path, "duration"), units.parse_duration, 0.0)
    ramp = check.unit(ld.get("ramp_up"), (*path, "ramp_up"), units.parse_duration, 0.0)
    if ramp > duration:
        check.bad((*path, "ramp_up"), "ramp_up is longer than duration", "shorten it")
    if ramp > 0:
        stages.append(Stage(duration=ramp, target=peak))
    stages.append(Stage(duration=duration - ramp, target=peak))
    start = 0.0 if ramp > 0 else peak
    return stages, start


def breakpoint(check: Checker, value: Any, path: Path_, load: Load) -> BreakpointSpec | None:
    """``{start, step, step_duration, max, warmup, consecutive, refine, require_at_least}``
    in users (closed model) or arrivals per second (open)."""
    b = check.mapping(value, path, _BREAKPOINT_KEYS)
    closed = load.model == "closed"
    parse = _whole_users if closed else units.parse_rate
    missing = [k for k in ("start", "step", "step_duration", "max") if k not in b]
    if missing:
        check.bad(
            path,
            f"missing {', '.join(missing)}",
            "write breakpoint: {start: 10, step: 10, step_duration: 30s, max: 200}",
        )
        return None
    level = {
        k: check.unit(b[k], (*path, k), parse, 0.0) for k in ("start", "step", "max") if k in b
    }
    for k, v in level.items():
        if not v > 0:
            what = "a whole number of users > 0" if closed else "a rate > 0 such as 5/s"
            check.bad((*path, k), f"{b[k]!r} is not {what}")
    duration, warmup = _step_time(check, b, path)
    consecutive = check.typed(b.get("consecutive"), (*path, "consecutive"), int, 1)
    refine = _refine(check, b.get("refine", 0), (*path, "refine"))
    require = b.get("require_at_least")
    require_level = (
        None if require is None else check.unit(require, (*path, "require_at_least"), parse, 0.0)
    )
    return BreakpointSpec(
        start=level.get("start", 1.0),
        step=level.get("step", 1.0),
        step_duration=duration,
        max=level.get("max", 1.0),
        warmup=warmup,
        consecutive=max(1, consecutive),
        refine=refine,
        require_at_least=require_level,
        integer=closed,
    )


def _whole_users(value: Any) -> float:
    """A closed model's level: a whole number of users (NaN, reported as not > 0, if not)."""
    return float(int(value)) if isinstance(value, int) else float("nan")


def _step_time(check: Checker, b: Mapping[str, Any], path: Path_) -> tuple[float, float]:
    """A step's duration and the warm-up at its start that is not judged."""
    duration = check.unit(b["step_duration"], (*path, "step_duration"), units.parse_duration, 0.0)
    warmup = check.unit(
        b.get("warmup"), (*path, "warmup"), units.parse_duration, min(10.0, duration / 3)
    )
    if duration <= 0 or warmup >= duration:
        check.bad(
            (*path, "warmup"),
            "the warm-up must be shorter than step_duration",
            "each step is judged on the part after its warm-up",
        )
    return duration, warmup


def _refine(check: Checker, refine: Any, path: Path_) -> int:
    """Bisection steps after the first broken level: true is 2, false is 0."""
    refine = 2 if refine is True else (0 if refine is False else refine)
    if not isinstance(refine, int) or refine < 0:
        check.bad(path, "expected true, false or a number of bisection steps")
        return 0
    return refine
