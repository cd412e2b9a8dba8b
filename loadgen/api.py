"""The embedding API: ``await loadgen.run(profile, users=50)``.

A convenience over ``Engine`` (as ``httpx.request`` wraps ``Client``): no printing, no signal
handlers, no event-loop policy changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Unpack

from loadgen.core.profile import Profile, load_profile
from loadgen.core.result import Result
from loadgen.engine.options import RunOptions
from loadgen.engine.run import Engine

__all__ = ["run"]


async def run(profile: Profile | str | Path, **options: Unpack[RunOptions]) -> Result:
    """Run a profile (a ``Profile`` or a path) to the end and return its result.

    ``options`` go to ``Engine`` (loadgen.engine.options.RunOptions): ``users`` (closed) or
    ``rate`` (open) scales the load plan's peak and ``duration`` its length, written as on the
    command line (``50``, ``"20/s"``, ``"3s"``) or as numbers (per second, seconds); a wrong
    one is a ``ValueError`` naming it. ``out`` is a directory for the result files (none are
    written without it); ``truth`` asks the built-in target for its per-request truth log.
    """
    unknown = sorted(options.keys() - RunOptions.__optional_keys__)
    if unknown:  # Engine's other options (segment, steps, …) are not this function's
        raise TypeError(f"run() got an unexpected keyword argument {unknown[0]!r}")
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    async with Engine(profile, **options) as engine:
        return await engine.run()
