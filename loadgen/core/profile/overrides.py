"""Command-line load overrides: scale a load plan's users and duration, keeping its shape."""

from __future__ import annotations

from dataclasses import replace

from loadgen.core.profile.model import Load, Stage

__all__ = ["scale_load"]


def scale_load(load: Load, *, level: float | None = None, duration: float | None = None) -> Load:
    """Scale stage levels so the peak is ``level`` and stage lengths so the total is ``duration``.

    ``--users 50`` on a profile ramping 0 → 100 → 100 gives 0 → 50 → 50 (``--rate`` does the same
    to an open model's arrival rate); ``--duration 30s`` on a 10-minute plan shrinks every stage
    by the same factor, so a spike stays a spike.
    """
    stages = load.stages
    start = load.start
    if level is not None:
        peak = max([start, *(s.target for s in stages)]) or 1
        factor = level / peak
        users = load.model == "closed"

        def scaled(value: float) -> float:
            return float(round(value * factor)) if users else value * factor

        stages = tuple(
            Stage(duration=s.duration, target=scaled(s.target), name=s.name) for s in stages
        )
        start = scaled(start)
    if duration is not None:
        total = sum(s.duration for s in stages) or 1
        factor = duration / total
        stages = tuple(
            Stage(duration=s.duration * factor, target=s.target, name=s.name) for s in stages
        )
    return replace(load, stages=stages, start=start)
