"""The built-in chatbot target: an OpenAI-compatible and chatbot-API server with known truth.

Run it with ``loadgen serve`` (or ``python -m loadgen.target serve``), or from Python with
``async with BuiltinTarget(TargetConfig(...)) as t:``. It imports only the standard
library, httptools, websockets, uvloop, pyyaml and ``loadgen.core.units``.
"""

from loadgen.target.config import (
    AuthConfig,
    Capacity,
    ChatConfig,
    ConfigError,
    Faults,
    TargetConfig,
    Timing,
)
from loadgen.target.dists import Dist
from loadgen.target.process import BuiltinTarget, TargetStartError

__all__ = [
    "AuthConfig",
    "BuiltinTarget",
    "Capacity",
    "ChatConfig",
    "ConfigError",
    "Dist",
    "Faults",
    "TargetConfig",
    "TargetStartError",
    "Timing",
]
