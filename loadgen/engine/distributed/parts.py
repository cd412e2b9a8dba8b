"""What the process and Ray runners share: one built-in target for every worker, and the
step from the parts' results to the merged result the driver writes."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loadgen.core.breakpoint import Conductor, summary
from loadgen.core.errors import StartError
from loadgen.core.live import Aborts, LiveMerge
from loadgen.core.merge import merge_results
from loadgen.core.profile import Profile
from loadgen.core.result import Result
from loadgen.engine.control import RunControl

__all__ = ["finish", "start_target"]


async def start_target(
    profile: Profile, truth: str | None, stack: contextlib.AsyncExitStack
) -> str | None:
    """Start one built-in target for every worker (``base_url: builtin``); its URL, or None.

    One target, not one per worker: the workers share the server as they would a real one,
    and its truth log holds every request of the test.
    """
    if not profile.target.is_builtin:
        return None
    from loadgen.target import BuiltinTarget, TargetConfig

    try:
        config = TargetConfig.from_mapping(profile.target.builtin)
    except ValueError as exc:
        raise StartError(f"target.builtin: {exc}", "see docs/target.md for its keys") from None
    target = BuiltinTarget(config, truth=truth)
    try:
        await stack.enter_async_context(target)
    except Exception as exc:
        raise StartError(
            f"the built-in target failed to start: {exc}",
            "run `loadgen serve --port 0` to see why",
        ) from exc
    return str(target.url)


def finish(
    profile: Profile,
    parts: Sequence[dict[str, Any]],
    failed: Sequence[dict[str, Any]],
    *,
    out: Path | None,
    mode: dict[str, Any],
    stop_reason: str,
    interrupted: bool,
    aborted_by: dict[str, Any] | None,
    offsets: Sequence[float] | None = None,
    clock: dict[str, Any] | None = None,
    conductor: Conductor | None = None,
) -> Result:
    """Merge the parts, say how the run ended (the driver knows; the workers only saw a
    SIGTERM), list failed workers, add the driver's breakpoint search, and write
    ``OUT/result.json``. ``parts`` may hold a failed worker's result rebuilt from its journal
    (listed in ``failed`` too, with status ``partial``): its intervals are merged."""
    data = merge_results(parts, thresholds=profile.thresholds, offsets=offsets)
    if conductor is not None:
        unit = "users" if profile.load.model == "closed" else "rate"
        data["breakpoint"] = summary(conductor.search, unit)
        data.pop("breakpoint_by_part", None)
    run = data["run"]
    if aborted_by is not None or (stop_reason and not interrupted):
        run["stop_reason"] = stop_reason
        run["interrupted"] = False
        data["aborted_by"] = aborted_by or data.get("aborted_by")
    elif stop_reason:
        run["stop_reason"] = stop_reason
        run["interrupted"] = True
    if failed:
        run["complete"] = False
        run["failed_parts"] = [f["segment"] for f in failed]
        merged = {int(p["segment"]): p for p in data["parts"]}
        for f in failed:  # a part rebuilt from its journal is merged: say how it ended there
            if int(f["segment"]) in merged:
                merged[int(f["segment"])].update(f)
            else:
                merged[int(f["segment"])] = dict(f)
        data["parts"] = [merged[k] for k in sorted(merged)]
    start_at = mode.get("start_at")
    if start_at is not None:
        late = [float(p["started"]) - o - start_at for p, o in _with_offsets(parts, offsets)]
        mode = {**mode, "start_late_max": max(late, default=0.0)}
    data["distributed"] = mode
    if clock:
        data["clock"] = {**data.get("clock", {}), **clock}
    path = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "result.json"
    result = Result(data, path)
    if path is not None:
        result.save(path)
    return result


def _with_offsets(
    parts: Sequence[dict[str, Any]], offsets: Sequence[float] | None
) -> list[tuple[dict[str, Any], float]]:
    return list(zip(parts, offsets if offsets is not None else [0.0] * len(parts), strict=True))


class MergedRun(RunControl):
    """A run of several parts: hands out their merged live records, judges the abort rules
    on them and, for a breakpoint profile, runs the search on them (the same for worker
    processes and Ray actors)."""

    def __init__(self, profile: Profile) -> None:
        super().__init__()
        self._aborted_by: dict[str, Any] | None = None
        #: The breakpoint search over the merged records (breakpoint profiles only).
        self.conductor = (
            Conductor(profile.breakpoint, profile.slo) if profile.breakpoint is not None else None
        )

    def give_up_at(self, profile: Profile, start_delay: float) -> float:
        """When (monotonic) parts still running have overrun: the start, the plan (or the
        longest search possible) and the graceful stop, with 30 s to spare."""
        planned = self.conductor.longest() if self.conductor is not None else _length(profile)
        return time.monotonic() + start_delay + planned + profile.load.graceful_stop + 30

    def _stop_overrun(self, now: float, deadline: float, parts: str) -> None:
        if now > deadline and not self._stop.is_set():
            self.stop(f"stopped: the {parts} ran past the plan's end", interrupted=True)

    async def _next_poll(self, poll: float, *, stopping: bool) -> None:
        """Wait ``poll`` seconds before the next look at the parts; until the parts are told
        to stop, wake at once on a stop."""
        if stopping:
            await asyncio.sleep(poll)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), poll)

    def _send_step(self, command: dict[str, Any]) -> None:
        """Give every part a breakpoint step command (the runner's own channel)."""
        raise NotImplementedError

    def _begin_steps(self, start: float, now: float) -> None:
        if self.conductor is not None:
            self._send_step(self.conductor.begin(now - start))

    def _hand_out(self, live: LiveMerge, aborts: Aborts, now: float, parts: str) -> None:
        """Publish every merged second that is ready; stop all ``parts`` when a rule fails."""
        for record in live.ready(now):
            verdict = aborts.add(record)
            if verdict is not None and not self._stop.is_set():
                self._aborted_by = verdict
                self.stop(
                    f"aborted: threshold {verdict['expr']} failed at "
                    f"{aborts.elapsed:.0f}s (abort_on_fail, all {parts})",
                    interrupted=False,
                )
            self._publish(record)
            if self.conductor is not None and not self._stop.is_set():
                command = self.conductor.add(record, now - live.start)
                if command is not None:
                    self._send_step(command)


def _length(profile: Profile) -> float:
    """The plan's length; a replay's is its window, scaled (unknown without one: the trace
    is not read ahead to find its end, so parts are never given up on)."""
    load, replay = profile.load, profile.load.replay
    if replay is None:
        return load.duration
    return math.inf if replay.duration is None else replay.duration * replay.time_scale
