"""loadgen: a pure-asyncio load generator for chatbot and LLM APIs.

Importing it has no side effects: no event-loop policy, no signal handlers, no output.
"""

from loadgen._version import __version__
from loadgen.api import run
from loadgen.engine import Engine
from loadgen.errors import ErrorKind, LoadgenError, ProfileError, StartError
from loadgen.profile import Profile, load_profile, profile_from_dict
from loadgen.result import MetricSummary, Result, load_result

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
