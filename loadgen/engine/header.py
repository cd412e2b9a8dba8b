"""The result's header: what ran (profile, seed, plan), against what, on which machine.

Written first (the journal's first line), so a run cut short still says what it was; the
profile's raw text is redacted here, before anything writes it.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
from typing import Any, cast

from loadgen._version import __version__
from loadgen.core import assemble
from loadgen.core.profile.model import Profile
from loadgen.core.redact import Secrets, redact
from loadgen.core.shapes import plan

__all__ = ["run_header"]


def run_header(
    p: Profile,
    *,
    base_url: str,
    seed: int,
    started_wall: float,
    segment: tuple[int, int],
    secrets: Secrets,
) -> dict[str, Any]:
    """The header of this run's result (call it inside the run's event loop)."""
    head = assemble.header(
        version=__version__,
        profile={
            "name": p.name,
            "path": str(p.path) if p.path else None,
            "raw": redact(p.raw, secrets),
        },
        target={"base_url": base_url, "builtin": p.target.is_builtin},
        seed=seed,
        started=started_wall,
        segment={"index": segment[0] + 1, "count": segment[1]},
        plan=plan(p.load),
        environment={
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "event_loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
            "cpu_count": os.cpu_count(),
        },
    )
    return cast(dict[str, Any], head)
