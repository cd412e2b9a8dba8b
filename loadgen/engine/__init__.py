"""The engine: follows the load plan, stamps times, records samples, writes the result.

``Engine`` (one process) lives in ``loadgen.engine.run``; the drivers, the virtual user, the
writer, the preflight check and the distributed runners (processes, Ray actors) beside it.
``from loadgen.engine import Engine`` keeps working (resolved lazily, so importing a submodule
does not load the whole engine).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Engine"]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from loadgen.engine.run import Engine

        return Engine
    raise AttributeError(f"module 'loadgen.engine' has no attribute {name!r}")
