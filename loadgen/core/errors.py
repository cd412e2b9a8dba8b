"""Exceptions and error kinds.

The tree::

    LoadgenError          anything loadgen raises on purpose
    ├── ProfileError      the profile or command line is wrong (exit 2); holds every Problem
    │   └── DataError     a data file (questions, CSV) is missing or malformed
    ├── StartError        the run could not start: target unreachable, target failed (exit 2)
    └── OutputError       a result or report file could not be written: full disk, a path
                          that is a file, no permission (exit 3)

Errors *of the target* never raise out of a virtual user: the transport maps each foreign
exception once to an ``ErrorKind`` and the statistics count kinds. Messages never contain
secrets: callers pass redacted values.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "DataError",
    "ErrorKind",
    "LoadgenError",
    "OutputError",
    "Problem",
    "ProfileError",
    "StartError",
]


class ErrorKind(enum.StrEnum):
    """The kinds of failed request SPEC §1 counts; ``interrupted`` is not an error.

    ``http_3xx`` is a redirect where an answer was expected (a chat stream). ``generator`` is
    the generator's own limit (open files, local ports, memory): not the target's error, and
    a run with any fails its verdict.
    """

    CONNECT = "connect"
    TIMEOUT = "timeout"
    HTTP_3XX = "http_3xx"
    HTTP_4XX = "http_4xx"
    HTTP_429 = "http_429"
    HTTP_5XX = "http_5xx"
    STREAM_BROKEN = "stream_broken"
    PROTOCOL = "protocol"
    AUTH = "auth"
    CHECK = "check"
    GENERATOR = "generator"

    @classmethod
    def for_status(cls, status: int) -> ErrorKind | None:
        """The kind an HTTP status counts as, or None for a success."""
        if status == 429:
            return cls.HTTP_429
        if status in (401, 403):
            return cls.AUTH
        if 400 <= status < 500:
            return cls.HTTP_4XX
        if status >= 500:
            return cls.HTTP_5XX
        return None


class LoadgenError(Exception):
    """Base of every exception loadgen raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in a profile, printed as ``file:line: field: what — fix``."""

    file: str
    line: int | None
    field: str
    what: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        fix = f" — {self.fix}" if self.fix else ""
        return f"{where}:{field} {self.what}{fix}"


class ProfileError(LoadgenError):
    """The profile or command line is wrong; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DataError(ProfileError):
    """A data file the profile names is missing or malformed."""


class StartError(LoadgenError):
    """The run could not start (target unreachable, built-in target failed); with a hint."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.hint = hint
        super().__init__(f"{message} — {hint}" if hint else message)


class OutputError(LoadgenError):
    """A file loadgen writes could not be written; names the path and the OS's cause.

    ``result`` is the finished run's result when the run itself completed (its numbers are
    good; only the files are missing), so the CLI can still show the summary."""

    def __init__(self, path: object, cause: OSError | str, result: object = None) -> None:
        self.path = str(path)
        if isinstance(cause, OSError):
            cause = cause.strerror or type(cause).__name__
        self.cause = cause
        self.result = result
        super().__init__(f"cannot write {self.path}: {self.cause}")

    @property
    def hint(self) -> str:
        return "free space there, or choose another --out (a directory you can write)"
