"""Command-line load overrides: scale a load plan's users and duration, keeping its shape."""

from __future__ import annotations

from dataclasses import replace

from loadgen.profile.model import Load, Stage

__all__ = ["scale_load"]


def scale_load(load: Load, *, users: int | None = None, duration: float | None = None) -> Load:
    """Scale stage levels so the peak is ``users`` and stage lengths so the total is ``duration``.

    ``--users 50`` on a profile ramping 0 → 100 → 100 gives 0 → 50 → 50; ``--duration 30s`` on
    a 10-minute plan shrinks every stage by the same factor, so a spike stays a spike.
    """
    stages = load.stages
    start = load.start
    if users is not None:
        peak = max([start, *(s.target for s in stages)]) or 1
        factor = users / peak
        stages = tuple(Stage(duration=s.duration, target=round(s.target * factor)) for s in stages)
        start = round(start * factor)
    if duration is not None:
        total = sum(s.duration for s in stages) or 1
        factor = duration / total
        stages = tuple(Stage(duration=s.duration * factor, target=s.target) for s in stages)
    return replace(load, stages=stages, start=start)
