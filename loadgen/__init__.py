"""loadgen: a pure-asyncio load generator for chatbot and LLM APIs.

Importing it has no side effects: no event-loop policy, no signal handlers, no output.
"""

from loadgen._version import __version__
from loadgen.api import run
from loadgen.core.errors import ErrorKind, LoadgenError, ProfileError, StartError
from loadgen.core.profile import Profile, load_profile, profile_from_dict
from loadgen.core.result import MetricSummary, Result, load_result
from loadgen.engine.run import Engine

__all__ = [
    "Engine",
    "ErrorKind",
    "LoadgenError",
    "MetricSummary",
    "Profile",
    "ProfileError",
    "Result",
    "StartError",
    "__version__",
    "load_profile",
    "load_result",
    "profile_from_dict",
    "run",
]
