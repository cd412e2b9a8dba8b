"""Start the built-in target a profile names (``base_url: builtin``) for the run's length.

The target lives in a child process (``loadgen.target.BuiltinTarget``) so its CPU never
competes with the generator's event loop; a configuration it refuses or a start that fails is
a ``StartError`` with the fix, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadgen.core.errors import StartError

__all__ = ["start_builtin"]


async def start_builtin(builtin: dict[str, Any], truth: str | Path | None) -> Any:
    """The started target (its ``url`` is the run's base URL); close it with ``__aexit__``."""
    from loadgen.target import BuiltinTarget, TargetConfig  # only runs that use it import it

    try:
        config = TargetConfig.from_mapping(builtin)
    except ValueError as exc:
        raise StartError(f"target.builtin: {exc}", "see docs/target.md for its keys") from None
    target = BuiltinTarget(config, truth=truth)
    try:
        await target.__aenter__()
    except Exception as exc:
        raise StartError(
            f"the built-in target failed to start: {exc}",
            "run `loadgen serve --port 0` to see why",
        ) from exc
    return target
