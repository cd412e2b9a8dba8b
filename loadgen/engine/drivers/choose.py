"""Which driver a run needs, built from its profile (the engine holds what this returns)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from loadgen.core.profile.model import Profile
from loadgen.core.shapes import level_at
from loadgen.engine.control import RunControl
from loadgen.engine.crowd import Crowd
from loadgen.engine.drivers.breakpoint import BreakpointDriver
from loadgen.engine.drivers.closed import ClosedDriver
from loadgen.engine.drivers.open import OpenDriver, OpenUsers, Tally
from loadgen.engine.drivers.replay import ReplayDriver
from loadgen.engine.drivers.replayusers import ReplayUsers
from loadgen.engine.prompting import Prompts
from loadgen.engine.steps import StepSource
from loadgen.engine.vu import VU, VUContext

__all__ = ["Chosen", "Pool", "choose"]


class Pool(Protocol):
    """Clients the arrivals of a run share (``OpenUsers``, ``ReplayUsers``)."""

    async def aclose(self) -> None:
        """Close them (after the drain)."""


@dataclass(frozen=True, slots=True)
class Chosen:
    driver: Any  # a Driver: one of the three below
    open_users: Pool | None = None  # open model, replay: the runners and their client pool
    breakpoint: BreakpointDriver | None = None  # a search: its level and verdicts
    planned: Callable[[float], float] | None = None  # a replay's arrivals due, per second


def choose(
    profile: Profile,
    ctx: VUContext,
    *,
    seed: int,
    segment: tuple[int, int],
    steps: StepSource | None,
    tally: Tally,
    crowd: Crowd,
    control: RunControl,
    intervals: list[dict[str, Any]],
) -> Chosen:
    """The driver of the profile's load model (a breakpoint search drives one of the two)."""
    if (load := profile.load).model == "replay":
        return _replay(profile, ctx, seed, segment, tally, crowd, control)

    def closed(level: Callable[[float], float], duration: float) -> ClosedDriver:
        return ClosedDriver(
            classes=profile.users,
            level=level,
            duration=duration,
            seed=seed,
            segment=segment,
            spawn=lambda k, cls, rng, tag: VU(k, cls, ctx, rng, tag=tag),
            crowd=crowd,
            control=control,
        )

    if load.model == "closed":
        if profile.breakpoint is None:
            # control.level: a level held from the live page replaces the plan's
            return Chosen(
                closed(lambda elapsed: control.level(level_at(load, elapsed)), load.duration)
            )
        search = BreakpointDriver(
            spec=profile.breakpoint,
            slo=profile.slo,
            intervals=intervals,
            control=control,
            follow=lambda level: closed(level, math.inf),
            steps=steps,
        )
        return Chosen(search, breakpoint=search)
    users = OpenUsers(
        profile.users, ctx, seed=seed, segment=segment, max_in_flight=load.max_in_flight
    )
    driver = OpenDriver(
        load=load, segment=segment, arrivals=users, tally=tally, crowd=crowd, control=control
    )
    if profile.breakpoint is None:
        return Chosen(driver, open_users=users)
    search = BreakpointDriver(
        spec=profile.breakpoint,
        slo=profile.slo,
        intervals=intervals,
        control=control,
        stepper=driver,
        steps=steps,
    )
    return Chosen(search, open_users=users, breakpoint=search)


def _replay(
    profile: Profile,
    ctx: VUContext,
    seed: int,
    segment: tuple[int, int],
    tally: Tally,
    crowd: Crowd,
    control: RunControl,
) -> Chosen:
    """The replay driver, sending every trace row through the profile's one chat task."""
    spec, prompts = profile.load.replay, ctx.prompts
    assert spec is not None
    assert isinstance(prompts, Prompts)
    cls, task = next((c, t) for c in profile.users for t in c.every_task() if t.chat is not None)
    assert task.chat is not None
    seg, count = segment
    users = ReplayUsers(
        cls,
        task,
        ctx,
        spec,
        prompts.builder(task.chat),
        seed=seed,
        tag="r" if count == 1 else f"rs{seg + 1}",
        control=control,
        tally=tally,
    )
    driver = ReplayDriver(
        spec=spec,
        max_in_flight=profile.load.max_in_flight,
        segment=segment,
        users=users,
        tally=tally,
        crowd=crowd,
        control=control,
    )
    return Chosen(driver, open_users=users, planned=driver.plan.rate)
