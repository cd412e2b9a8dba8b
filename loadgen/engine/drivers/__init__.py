"""How the engine drives load: one object per model, held by ``Engine`` (not mixed into it).

``ClosedDriver`` keeps VU slots on the stage plan, ``OpenDriver`` starts arrivals at the
arrival schedule's due times, ``BreakpointDriver`` steps the level up until the SLOs break.
Each waits on the run control's clock, so tests drive them in virtual time; the scheduling
maths itself is pure (loadgen.core.shapes, arrivals, breakpoint).
"""

from __future__ import annotations

from typing import Protocol

from loadgen.engine.drivers.breakpoint import BreakpointDriver
from loadgen.engine.drivers.choose import Chosen, Pool, choose
from loadgen.engine.drivers.closed import ClosedDriver
from loadgen.engine.drivers.open import OpenDriver, OpenUsers

__all__ = [
    "BreakpointDriver",
    "Chosen",
    "ClosedDriver",
    "Driver",
    "OpenDriver",
    "OpenUsers",
    "Pool",
    "choose",
]


class Driver(Protocol):
    async def drive(self, start: float) -> None:
        """Follow the plan from ``start`` (the run's t=0 on the clock) until it ends or the
        run stops; the caller drains what is still running."""
