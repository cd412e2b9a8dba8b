"""Steering a run by hand (the live page's controls): the level held, and the events kept.

Pure: ``Steering`` takes the elapsed time and a value and returns the event to record; the
drivers ask ``level(planned)`` what to follow. A hold replaces the plan's level until
``resume``; the plan then goes on from where the clock is (its own level at that time), so a
hold never shifts the plan's stages. ``remaining`` cuts a stage plan at an offset for the open
model, whose arrival schedule is rebuilt from each change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from loadgen.core.arrivals import RateStage
from loadgen.core.profile.model import Load
from loadgen.core.shapes import level_at

__all__ = ["ACTIONS", "ControlEvent", "Steering", "remaining"]

Action = Literal["hold", "resume", "stop"]
ACTIONS: tuple[Action, ...] = ("hold", "resume", "stop")
MAX_LEVEL = 1_000_000.0  # a typo must not ask for a billion users


class ControlEvent(TypedDict):
    """A change made by hand from the live page (``--ui``): the result's ``control`` items."""

    t: float  # seconds into the run
    action: Action
    unit: str  # "users" (closed model) or "rate" (open model, per second)
    value: float | None  # the level held; None for resume and stop
    by: str  # who asked: "ui" (the live page), or what an embedder passes


@dataclass(slots=True)
class Steering:
    """The level held by hand (None: the plan's), and every change as a result event."""

    unit: str  # "users" (closed model) or "rate" (open model, per second)
    held: float | None = None
    events: list[ControlEvent] = field(default_factory=list)

    def apply(self, at: float, action: str, value: Any = None, by: str = "ui") -> ControlEvent:
        """Record ``action`` at ``at`` seconds into the run and return its event.

        Raises ``ValueError`` (a message for the person who sent it) for an unknown action
        or a level that is not a finite number in [0, 1e6]; users are whole numbers."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
        level: float | None = None
        if action == "hold":
            level = _level(value, self.unit)
            self.held = level
        elif action == "resume":
            self.held = None
        event = ControlEvent(t=round(at, 3), action=action, unit=self.unit, value=level, by=by)
        self.events.append(event)
        return event

    def level(self, planned: float) -> float:
        """What the driver follows: the held level, else the plan's."""
        return planned if self.held is None else self.held


def _level(value: Any, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"hold needs a number of {unit}, got {value!r}")
    level = float(value)
    if not 0.0 <= level <= MAX_LEVEL:  # also refuses NaN
        raise ValueError(f"{unit} must be between 0 and {MAX_LEVEL:g}, got {value!r}")
    if unit == "users" and level != int(level):
        raise ValueError(f"users must be a whole number, got {value!r}")
    return level


def remaining(load: Load, offset: float) -> tuple[float, list[RateStage]]:
    """The plan from ``offset`` seconds on: (its level then, the stages left, the one cut
    short first), for a schedule that starts at ``offset``."""
    stages, t = [], 0.0
    for stage in load.stages:
        end = t + stage.duration
        if end > offset:
            stages.append(RateStage(end - max(t, offset), stage.target))
        t = end
    return level_at(load, offset), stages
