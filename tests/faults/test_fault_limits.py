"""Bounded resources checked at start (loadgen.engine.limits): users per process, open files."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import pytest

from loadgen import profile_from_dict
from loadgen.core.errors import StartError
from loadgen.core.profile.model import Load, Stage
from loadgen.engine import limits


def closed(*levels: float) -> Load:
    return Load(stages=tuple(Stage(duration=10, target=x) for x in levels))


@pytest.mark.parametrize(
    ("load", "segments", "peak"),
    [
        pytest.param(closed(10, 500, 0), 1, 500, id="closed: the highest stage"),
        pytest.param(
            closed(10, 501, 0), 2, 251, id="closed: a segment holds its share, rounded up"
        ),
        pytest.param(Load(model="open", max_in_flight=300), 1, 300, id="open: max_in_flight"),
        pytest.param(Load(model="open", max_in_flight=300), 4, 75, id="open: per segment"),
    ],
)
def test_peak_users_per_process(load, segments, peak):
    """What one process must hold at once, from the plan alone."""
    assert limits.peak_users(load, segments) == peak


def test_more_users_than_the_cap_is_a_start_error_naming_segment():
    """Past MAX_USERS_PER_PROCESS the run does not start; the message gives the exact split."""
    limits.check_user_cap(limits.MAX_USERS_PER_PROCESS)  # at the cap: fine
    with pytest.raises(StartError) as info:
        limits.check_start(closed(25_000))
    text = str(info.value)
    assert "25000 users in one process" in text
    assert "--segment 1/3" in text


def test_a_low_soft_limit_is_raised_toward_the_hard_one(monkeypatch):
    """soft 256, hard 65536, 1000 users: the soft limit is raised to what they need, quietly."""
    calls = []
    monkeypatch.setattr(resource, "getrlimit", lambda _: (256, 65536))
    monkeypatch.setattr(resource, "setrlimit", lambda _, v: calls.append(v))
    assert limits.check_fd_limit(1000) is None
    assert calls == [(limits.fds_needed(1000), 65536)]


def test_an_unchangeable_limit_gives_a_warning_with_the_fix(monkeypatch):
    """setrlimit refused (a sandbox): the warning says what is short and the ulimit to run."""
    monkeypatch.setattr(resource, "getrlimit", lambda _: (256, 65536))

    def refuse(*_):
        raise ValueError("not allowed")

    monkeypatch.setattr(resource, "setrlimit", refuse)
    warning = limits.check_fd_limit(1000)
    assert warning is not None
    assert "open-file limit is 256" in warning
    assert f"ulimit -n {limits.fds_needed(1000)}" in warning


CHILD = """
import json, resource
from loadgen.engine import limits
from loadgen import profile_from_dict
resource.setrlimit(resource.RLIMIT_NOFILE, (100, 200))
w1 = limits.check_fd_limit(50)
w2 = limits.check_fd_limit(5000)
print(json.dumps([w1, w2, resource.getrlimit(resource.RLIMIT_NOFILE)]))
"""


def test_real_limits_in_a_child_process():
    """With a real hard limit of 200: 50 users fit once the soft limit is raised to 164;
    5000 users cannot, the soft limit goes to the hard one and the warning names the fix."""
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, timeout=30, check=True)
    fits, short, final = json.loads(out.stdout)
    assert fits is None
    assert "5000 users need about 10064 file descriptors (hard limit 200)" in short
    assert "ulimit -n 10064" in short
    assert final == [200, 200]


@pytest.mark.parametrize(
    ("tasks", "auth", "sockets"),
    [
        pytest.param([{"chat": {"prompt": "hi"}}], None, 1, id="chats only: the stream"),
        pytest.param(
            [{"chat": {"prompt": "hi"}}, {"http": {"path": "/health"}}],
            None,
            2,
            id="chats and plain requests: stream + httpx",
        ),
        pytest.param(
            [{"chat": {"prompt": "hi"}}],
            {"kind": "login", "login": {"path": "/login", "json": {"u": "a"}}},
            2,
            id="a login: its requests go through httpx",
        ),
        pytest.param(
            [{"ws": {"path": "/ws"}}, {"chat": {"prompt": "hi"}}, {"http": {"path": "/"}}],
            None,
            3,
            id="all three kinds",
        ),
    ],
)
def test_sockets_per_user_follow_the_profile(tasks, auth, sockets):
    """The descriptor estimate counts the connection kinds a user really opens: 10,000
    chat-only users need ~10,000 descriptors, not 20,000."""
    data = {
        "name": "fds",
        "target": {"base_url": "builtin"},
        "users": [{"name": "u", "tasks": tasks}],
        "load": {"users": 1, "duration": "1s"},
    }
    if auth is not None:
        data["auth"] = auth
    assert limits.sockets_per_user(profile_from_dict(data)) == sockets
    assert limits.fds_needed(10_000, 1) == 10_000 + limits.FD_RESERVE
