"""Resource bounds checked before a run starts: users per process and open files.

A run that hits ``EMFILE`` half-way reports a wall of ``connect`` errors that are the
generator's fault, not the target's; a run with more users than one event loop can time
reports the generator's own lag as latency. Both are knowable before the first request, so
they are checked at start: too many users per process is a ``StartError`` (exit 2) naming
``--segment`` as the fix; too low an open-file limit is first raised toward the hard limit
(what the kernel allows without privileges) and, if still short, a warning with the
``ulimit -n`` to run.

A plan whose streamed reads per second exceed one core's paced capacity (the estimate of
``loadgen.core.pacing``) gets a warning naming ``--processes N`` too.

The engine calls ``check_start`` once; the CLI prints the warnings it returns. Embedders get
the same warnings and decide themselves (the library never prints).
"""

from __future__ import annotations

import math
import os
import resource

from loadgen.core import pacing
from loadgen.core.errors import StartError
from loadgen.core.profile.model import Load, Profile, UserClass

__all__ = [
    "FDS_PER_USER",
    "FD_RESERVE",
    "MAX_USERS_PER_PROCESS",
    "check_fd_limit",
    "check_start",
    "check_user_cap",
    "connection_kinds",
    "cpus",
    "fds_needed",
    "peak_users",
    "sockets_per_user",
]

#: Users one process runs at most. Beyond it one event loop's timer and socket work grows
#: into the measured latencies; several processes (``--segment i/n``) keep them honest.
MAX_USERS_PER_PROCESS = 10_000
#: Descriptors one user may hold at once when the profile is not known: its stream
#: connection and an httpx connection (plain tasks, login) or a WebSocket.
FDS_PER_USER = 2
#: Descriptors besides users': the event loop, the result journal, logs, the built-in target's
#: pipes, the interpreter's own files.
FD_RESERVE = 64


def peak_users(load: Load, segments: int = 1) -> int:
    """The most users (closed model) or requests in flight (open model) this process holds."""
    if load.arrivals:  # open and replay
        peak = float(load.max_in_flight)
    else:
        peak = max([load.start, *(s.target for s in load.stages)])
    return math.ceil(peak / max(1, segments))


def connection_kinds(profile: Profile, cls: UserClass) -> set[str]:
    """The kinds of connection a user of ``cls`` opens: ``fast`` (the stream client),
    ``httpx`` (plain requests, logins, chats over httpx) and ``ws``."""
    fast = profile.target.transport == "fast"
    kinds: set[str] = set()
    auth = cls.auth or profile.auth
    if auth.kind in ("login", "cognito"):
        kinds.add("httpx")  # login requests (Cognito's go through its own client: counted)
    for task in cls.every_task():
        if task.chat is not None and task.chat.api != "bedrock":
            kinds.add("fast" if fast else "httpx")
        elif task.http is not None:
            kinds.add("httpx")
        elif task.ws is not None:
            kinds.add("ws")
    return kinds


def sockets_per_user(profile: Profile) -> int:
    """The connections one user of ``profile`` may hold at once: one per kind it uses, the
    most of any class. A chat-only profile needs one per user, not the two a mixed one may."""
    return max([1, *(len(connection_kinds(profile, cls)) for cls in profile.users)])


def fds_needed(users: int, per_user: int = FDS_PER_USER) -> int:
    return users * per_user + FD_RESERVE


def check_user_cap(users: int, cap: int = MAX_USERS_PER_PROCESS) -> None:
    """Raise ``StartError`` when one process would run more than ``cap`` users."""
    if users > cap:
        parts = math.ceil(users / cap)
        raise StartError(
            f"{users} users in one process is above the limit of {cap}: one event loop cannot "
            "time that many streams without its own lag showing up as latency",
            f"split the load over {parts} processes with --segment 1/{parts} … "
            f"{parts}/{parts} (the same --seed for each), or lower the users",
        )


def check_fd_limit(users: int, per_user: int = FDS_PER_USER) -> str | None:
    """Make room for ``users``' connections; return a warning with the fix if there is none.

    The soft ``RLIMIT_NOFILE`` is raised as far as needed and the hard limit allows (no
    privilege is needed for that). The hard limit is never touched.
    """
    need = fds_needed(users, per_user)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return None
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # some sandboxes refuse even this; the warning below says what to do
    if soft >= need:
        return None
    return (
        f"the open-file limit is {soft} but {users} users need about {need} file "
        f"descriptors (hard limit {hard}): connections past it fail as 'generator' errors "
        f"(the generator's, not the target's) and the run fails — run `ulimit -n {need}` in "
        "this shell "
        "(raising the hard limit needs root or /etc/security/limits.conf), or use fewer "
        "users per process (--segment)"
    )


def check_start(
    load: Load, segments: int = 1, per_user: int = FDS_PER_USER, *, profile: Profile | None = None
) -> list[str]:
    """Check a run's plan before it starts: raise for too many users, return warnings.
    ``per_user``: the descriptors one user may hold; with ``profile``, its own
    (``sockets_per_user``), and a warning when the plan exceeds one core's paced capacity."""
    if profile is not None:
        per_user = sockets_per_user(profile)
    users = peak_users(load, segments)
    check_user_cap(users)
    warnings = [w for w in (check_fd_limit(users, per_user),) if w]
    if profile is not None:
        paced = pacing.paced_warning(pacing.estimate(profile, segments), cpus())
        warnings += [paced] if paced else []
    return warnings


def cpus() -> int:
    """The CPUs this process may run on (``--processes auto`` counts these)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
