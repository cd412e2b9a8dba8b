"""How many streamed reads per second a plan asks of one process, against what one core holds.

A model server sends each token as it is decoded, so the client does one read per token per
stream: a plan's cost is its reads per second, not its requests per second. This estimate is
made before the run from the profile alone (pure): the start line warns when a process's
share exceeds one core's paced capacity, and ``--processes auto`` picks enough processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from loadgen.core import units
from loadgen.core.profile.model import Load, Profile, UserClass

__all__ = [
    "ASSUMED_ITL",
    "MEASURED_ON",
    "PACED_EVENTS_PER_CORE",
    "PacedEstimate",
    "auto_parts",
    "estimate",
    "paced_warning",
]

#: One token's read every 20 ms per stream (the paced benchmark's regime) on one core: the
#: streams one core holds with event-loop lag p99 <= 2 ms, times 50 reads/s. Measured by
#: ``python benchmarks/generator_speed.py capacity``; see ``MEASURED_ON``.
PACED_EVENTS_PER_CORE = 25_000
MEASURED_ON = (
    "500 streams at 20 ms on one core of the 2-core development machine, quiet, 2026-12-03 "
    "(benchmarks/generator_speed.py capacity 6: 500 held, 531 did not; lag sampled every "
    "10 ms; by accuracy alone, TTFT error p99 <= 3 ms, 1,218 held)"
)
#: The gap between tokens assumed when the profile does not say (a ~50 tokens/s decoder).
ASSUMED_ITL = 0.02
_ASSUMED_TOKENS = 256  # an answer's length when no chat task bounds it


@dataclass(frozen=True, slots=True)
class PacedEstimate:
    """Reads per second one process will take at the plan's peak, if tokens come paced."""

    streams: float  # streams open at once in one process, at the peak
    reads_per_s: float
    itl: float
    itl_assumed: bool  # not from the profile: ASSUMED_ITL
    capacity: float = PACED_EVENTS_PER_CORE

    @property
    def cores(self) -> float:
        """How many cores' paced capacity the plan needs (per process); rounded to 6 places,
        so that a plan of exactly one core's capacity (in float arithmetic) is one."""
        return round(self.reads_per_s / self.capacity, 6)


def estimate(
    profile: Profile,
    segments: int = 1,
    *,
    users: int | None = None,
    rate: float | None = None,
    capacity: float = PACED_EVENTS_PER_CORE,
) -> PacedEstimate:
    """The reads per second at the plan's peak, split over ``segments`` processes.

    Closed model: each user streams ``tokens`` answers a token per ITL, then thinks; open
    model: each arrival brings ``tokens`` reads. ``users``/``rate`` override the profile's
    peak as the command line does. The ITL is the built-in target's when the profile runs
    it, else ``ASSUMED_ITL``.
    """
    itl, assumed = _itl(profile)
    tokens = _tokens(profile)
    load = profile.load
    parts = max(1, segments)
    if itl <= 0 or not tokens:
        # A zero ITL sends an answer at once (a read or two per answer); a plan without
        # streamed chats has no token reads: neither is paced.
        return PacedEstimate(0.0, 0.0, itl, assumed, capacity)
    if load.model == "open":
        peak_rate = rate if rate is not None else _peak(load)
        reads = peak_rate * tokens
        streams = min(float(load.max_in_flight), reads * itl)
    else:
        streams = float(users if users is not None else _peak(load))
        reads = streams * _busy(profile.users, tokens * itl) / itl
    return PacedEstimate(streams / parts, reads / parts, itl, assumed, capacity)


def auto_parts(guess: PacedEstimate, cpus: int) -> int:
    """``--processes auto``: as many processes as the estimate needs, at most one per CPU
    (at least one; a plan one core holds runs in one process, with no merge)."""
    return max(1, min(cpus, math.ceil(guess.cores)))


def paced_warning(guess: PacedEstimate, cpus: int) -> str | None:
    """The start-line warning when one process's share exceeds one core's paced capacity."""
    if guess.cores <= 1:  # also a plan of unpaced answers
        return None
    need = math.ceil(guess.cores)
    itl = f"{guess.itl * 1000:g} ms between tokens" + (" (assumed)" if guess.itl_assumed else "")
    fix = (
        f"run with --processes {need} (or --processes auto)"
        if need <= cpus
        else f"it needs --processes {need}, more than this machine's {cpus} CPUs: split the "
        "load over machines (--segment i/n)"
    )
    return (
        f"the plan asks one process for ~{guess.reads_per_s:,.0f} streamed reads/s "
        f"({guess.streams:,.0f} streams, {itl}), {guess.cores:.1f}x one core's paced capacity "
        f"(~{guess.capacity:,.0f} reads/s): the generator would lag and late TTFT and ITL "
        f"would be its own; {fix}"
    )


def _peak(load: Load) -> float:
    return max([load.start, *(s.target for s in load.stages)])


def _itl(profile: Profile) -> tuple[float, bool]:
    if profile.target.is_builtin:
        timing = profile.target.builtin.get("timing") or {}
        written = timing.get("itl") if isinstance(timing, dict) else None
        if isinstance(written, str | int | float):
            try:
                itl = units.parse_duration(written)
            except ValueError:
                pass
            else:
                return itl, False
    return ASSUMED_ITL, True


def _tokens(profile: Profile) -> int:
    """The longest answer a streamed chat task asks for (``max_tokens``, else an assumed
    length); 0 when no task streams a chat."""
    chats = [
        t.chat
        for c in profile.users
        for t in c.every_task()
        if t.chat is not None and t.chat.stream
    ]
    if not chats:
        return 0
    return max(c.max_tokens or _ASSUMED_TOKENS for c in chats)


def _busy(classes: tuple[UserClass, ...], answer: float) -> float:
    """The share of time a user spends reading an answer rather than thinking (weighted)."""
    total = sum(c.weight for c in classes) or 1.0
    share = 0.0
    for c in classes:
        think = c.think_time
        pause = {"uniform": (think.low + think.high) / 2, "exponential": think.mean}.get(
            think.kind, think.low
        )
        share += c.weight / total * (answer / (answer + pause) if answer + pause > 0 else 1.0)
    return share
