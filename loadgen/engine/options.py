"""The run options an embedder passes (``Engine``, ``loadgen.run``), read and checked once.

They take what the command line takes (``50``, ``"20/s"``, ``"3s"``) or numbers (users, per
second, seconds); a wrong one is a ``ValueError`` naming the argument (loadgen.core.units).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

from loadgen.core import units
from loadgen.core.profile.model import Load, Profile
from loadgen.core.profile.overrides import scale_load

__all__ = ["RunOptions", "check_scale_and_start", "run_options", "scaled_profile"]


class RunOptions(TypedDict, total=False):
    """What ``loadgen.run`` passes on to ``Engine`` (see ``Engine.__init__``)."""

    users: int | str | None
    rate: float | str | None
    duration: float | str | None
    seed: int | None
    out: str | Path | None
    truth: str | Path | None


def run_options(
    users: int | str | None, rate: float | str | None, duration: float | str | None
) -> tuple[int | None, float | None, float | None]:
    """Read ``users``, ``rate`` and ``duration`` as the command line does (loadgen.core.units)."""
    try:
        if users is not None:
            if isinstance(users, bool) or not str(users).strip().isdigit() or int(users) <= 0:
                raise ValueError(f"users: {users!r} must be a whole number > 0")
            users = int(users)
        if rate is not None:
            rate = _named("rate", units.parse_rate, rate)
            if rate <= 0:
                raise ValueError(f"rate: {rate!r} is no arrivals: the run would send nothing")
        if duration is not None:
            duration = _named("duration", units.parse_duration, duration)
            if duration <= 0:
                raise ValueError(f"duration: {duration!r} is no time: the run would send nothing")
    except TypeError as exc:
        raise ValueError(str(exc)) from exc
    return users, rate, duration


def check_scale_and_start(scale: float | None, start_at: float | None) -> None:
    """What the command line refuses, refused for embedders too (``ValueError``)."""
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale: {scale!r} must be a number > 0, such as 0.5 or 2")
    if start_at is not None and not math.isfinite(start_at):
        raise ValueError(f"start_at: {start_at!r} is not a time; give epoch seconds")


def scaled_profile(
    profile: Profile,
    *,
    users: int | None,
    rate: float | None,
    duration: float | None,
    scale: float | None,
    seed: int | None,
) -> Profile:
    """``profile`` with its load plan scaled to the options (as ``--users``, ``--rate``,
    ``--duration``, ``--scale``) and the seed given, if any."""
    load = profile.load
    if load.model == "replay":
        return replace(
            profile,
            load=_replay_scaled(load, users, rate, duration, scale),
            seed=seed if seed is not None else profile.seed,
        )
    if users is not None or duration is not None:
        load = scale_load(load, level=users, duration=duration)
    if rate is not None:
        if load.model != "open":
            raise ValueError("rate applies to open-model profiles; use users")
        load = scale_load(load, level=rate)
    if scale is not None:
        peak = max([load.start, *(s.target for s in load.stages)], default=0.0)
        level = peak * scale
        load = scale_load(load, level=max(1, round(level)) if load.model == "closed" else level)
    return replace(profile, load=load, seed=seed if seed is not None else profile.seed)


def _named(name: str, parse: Callable[[Any], float], value: Any) -> float:
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc


def _replay_scaled(
    load: Load, users: int | None, rate: float | None, duration: float | None, scale: float | None
) -> Load:
    """A replay's arrivals are the trace's: only its length may be cut (``duration``, in
    the run's seconds: the window is that many trace seconds divided by the time scale)."""
    if users is not None or rate is not None or scale is not None:
        raise ValueError(
            "users, rate and scale do not apply to a replay: its arrivals are the trace's "
            "(load.time_scale speeds it up)"
        )
    spec = load.replay
    if duration is None or spec is None:
        return load
    return replace(load, replay=replace(spec, duration=duration / spec.time_scale))
