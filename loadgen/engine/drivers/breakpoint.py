"""The breakpoint search: step the load up until the SLOs break."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from loadgen.core.arrivals import RateStage
from loadgen.core.breakpoint import BreakpointSpec, Search, judge_step
from loadgen.core.slo import Slo
from loadgen.engine.control import RunControl
from loadgen.engine.steps import StepSource

__all__ = ["BreakpointDriver"]

_SETTLE = 0.05  # after a step, time for its last interval to close (s)


class _Driver(Protocol):
    async def drive(self, start: float) -> None: ...


class _Stepper(Protocol):
    async def run_stages(
        self, start: float, stages: list[RateStage], start_rate: float, offset: float = 0.0
    ) -> None: ...


class BreakpointDriver:
    """Each step holds its level for ``step_duration``; its verdict is judged on the interval
    records after the warm-up (loadgen.core.breakpoint decides each next level). Closed model:
    a closed driver follows ``level`` all along; open model: each step is a constant-rate
    schedule of its own. With ``steps`` (one part of a distributed search) it runs the levels
    it is sent and judges nothing."""

    def __init__(
        self,
        *,
        spec: BreakpointSpec,
        slo: Slo,
        intervals: list[dict[str, Any]],
        control: RunControl,
        follow: Callable[[Callable[[float], float]], _Driver] | None = None,
        stepper: _Stepper | None = None,
        steps: StepSource | None = None,
    ) -> None:
        """``follow(level)``: the closed model's driver following ``level``; ``stepper``: the
        open model's driver, run for each step."""
        self.spec = spec
        self.slo = slo
        self.intervals = intervals
        self.control = control
        self.follow = follow
        self.stepper = stepper
        self.steps = steps
        self.level = 0.0  # the level running now (the intervals' planned level)
        self.search: Search | None = None

    async def drive(self, start: float) -> None:
        if self.steps is not None:
            await self._follow_steps(start, self.steps)
            return
        spec, wait, clock = self.spec, self.control.wait, self.control.run_clock
        search = self.search = Search(spec)
        async with self._at_level(start):
            while (level := search.next_level()) is not None:
                # Steps start on whole seconds, so their windows are whole intervals.
                step_start = float(int(clock.now() - start + 0.999))
                if await wait(start + step_start):
                    return
                self.level = level
                step_end = step_start + spec.step_duration
                await self._open_step(start, level, step_start)
                stopped = await wait(start + step_end)
                await wait(clock.now() + _SETTLE)  # let the last interval close
                if stopped:
                    return
                step = judge_step(self.intervals, self.slo, spec, step_start, step_end)
                search.record(level, step)

    async def _open_step(self, start: float, level: float, step_start: float) -> None:
        if self.stepper is not None:
            stages = [RateStage(self.spec.step_duration, level)]
            await self.stepper.run_stages(start, stages, level, offset=step_start)

    async def _follow_steps(self, start: float, steps: StepSource) -> None:
        """A part of a distributed search: run the levels the driver sends, judge nothing."""
        follow = asyncio.ensure_future(steps.next())
        try:
            async with self._at_level(start):
                while True:
                    stop = asyncio.ensure_future(self.control.stopped())
                    await asyncio.wait([follow, stop], return_when=asyncio.FIRST_COMPLETED)
                    stop.cancel()
                    if not follow.done():
                        return  # the run was stopped
                    step = follow.result()
                    if step is None:
                        return
                    level, step_start = step
                    follow = asyncio.ensure_future(steps.next())
                    if await self.control.wait(start + step_start):
                        return
                    self.level = level
                    await self._open_step(start, level, step_start)
        finally:
            follow.cancel()

    @contextlib.asynccontextmanager
    async def _at_level(self, start: float) -> AsyncIterator[None]:
        """Closed model: the VUs follow ``level`` until the block ends (open model: each step
        drives its own arrivals, nothing runs between them)."""
        self.level = 0.0
        driver = None
        if self.follow is not None:
            driver = asyncio.create_task(self.follow(lambda _: self.level).drive(start))
        try:
            yield
        finally:
            self.level = 0.0
            if driver is not None:
                driver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await driver
