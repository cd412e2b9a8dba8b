"""Optional extras: which one a feature needs, and whether it is installed.

A profile that needs a missing extra is refused when it is loaded (``validate``, ``run``,
``check`` and the API alike), with the one-line ``pip install`` fix, instead of a traceback
mid-run or a run of zero requests. ``find_spec`` answers without importing the package, so
the check costs microseconds and pulls in nothing heavy.
"""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRAS", "install_hint", "missing"]

# extra → the modules it brings that loadgen imports
EXTRAS: dict[str, tuple[str, ...]] = {
    "aws": ("aioboto3",),
    "ray": ("ray",),
    "tokenizer": ("tiktoken",),
}


def missing(extra: str) -> str | None:
    """The first module of ``extra`` that cannot be imported, or None when all can."""
    for module in EXTRAS[extra]:
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except (ImportError, ValueError):  # a broken or half-removed install
            return module
    return None


def install_hint(extra: str) -> str:
    return f"pip install 'loadgen[{extra}]'"
