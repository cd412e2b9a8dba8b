"""The paced-capacity estimate: reads per second a plan asks of one process, the start-line
warning naming --processes, and --processes auto choosing as many processes as it needs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from support import chat_profile

from loadgen import profile_from_dict
from loadgen.cli.distributed import auto_count, run_distributed
from loadgen.core.pacing import (
    ASSUMED_ITL,
    PACED_EVENTS_PER_CORE,
    auto_parts,
    estimate,
    paced_warning,
)
from loadgen.engine.limits import check_start, cpus

CAP = PACED_EVENTS_PER_CORE


def profile(
    *,
    users: int = 10,
    itl: str | None = "20ms",
    max_tokens: int = 32,
    think: str | None = None,
    base_url: str = "builtin",
    load: dict | None = None,
):
    builtin = {"timing": {"ttft": "0s", "itl": itl, "output_tokens": 4}} if itl else None
    data = chat_profile(
        base_url,
        users=users,
        builtin=builtin,
        think=think,
        tasks=[{"chat": {"prompt": "hi", "max_tokens": max_tokens}}],
    )
    if load is not None:
        data["load"] = load
    return profile_from_dict(data)


@pytest.mark.parametrize(
    ("plan", "segments", "reads"),
    [
        # Closed, no think time: every user reads a token per ITL.
        (profile(users=1000), 1, 1000 / 0.02),
        # Two processes take half each.
        (profile(users=1000), 2, 500 / 0.02),
        # Thinking as long as the answer lasts (32 tokens x 20 ms) halves the reads.
        (profile(users=1000, think="640ms"), 1, 0.5 * 1000 / 0.02),
        # Uniform think time counts its mean.
        (profile(users=1000, think={"uniform": ["0s", "1280ms"]}), 1, 0.5 * 1000 / 0.02),
        # Open model: each arrival brings its answer's tokens, whatever the ITL.
        (profile(load={"model": "open", "rate": "100/s", "duration": "5s"}), 1, 100 * 32),
        # A target that sends answers at once is not paced: no estimate.
        (profile(users=5000, itl="0s"), 1, 0.0),
    ],
    ids=[
        "closed users stream a token per ITL",
        "segments split the reads",
        "think time as long as the answer halves them",
        "uniform think time counts its mean",
        "open model: arrivals times tokens",
        "zero ITL is not paced",
    ],
)
def test_reads_per_second_from_the_profile(plan, segments, reads):
    """The estimate's reads per second for each kind of plan."""
    assert estimate(plan, segments).reads_per_s == pytest.approx(reads)


def test_a_plan_without_streamed_chats_is_not_paced():
    """Plain HTTP tasks (or chats with stream: false) read no tokens: no estimate, no
    warning, one process for --processes auto, however many users."""
    data = chat_profile(users=50_000, tasks=[{"http": {"path": "/health"}}])
    plain = profile_from_dict(data)
    assert estimate(plain).reads_per_s == 0
    assert auto_parts(estimate(plain), cpus=8) == 1
    unstreamed = profile_from_dict(
        chat_profile(users=50_000, tasks=[{"chat": {"prompt": "hi", "stream": False}}])
    )
    assert estimate(unstreamed).reads_per_s == 0


def test_a_remote_target_assumes_the_itl_and_says_so():
    """Without the built-in target's timing the ITL is assumed, and the warning says it."""
    guess = estimate(profile(users=3 * CAP // 50, itl=None, base_url="http://127.0.0.1:9"))
    assert guess.itl == ASSUMED_ITL
    assert guess.itl_assumed
    assert guess.cores == pytest.approx(3 * CAP // 50 / ASSUMED_ITL / CAP)
    warning = paced_warning(guess, cpus=8)
    assert warning is not None
    assert "(assumed)" in warning
    assert "--processes 3" in warning


def test_command_line_users_and_rate_override_the_profile():
    """--users / --rate scale the plan's peak before the estimate, as they scale the run."""
    assert estimate(profile(users=10), users=2000).reads_per_s == pytest.approx(2000 / 0.02)
    open_plan = profile(load={"model": "open", "rate": "10/s", "duration": "5s"})
    assert estimate(open_plan, rate=50.0).reads_per_s == pytest.approx(50 * 32)


@pytest.mark.parametrize(
    ("reads", "cpus", "parts"),
    [
        (0.0, 8, 1),  # nothing paced: one process
        (CAP * 0.9, 8, 1),  # one core holds it
        (CAP * 1.01, 8, 2),  # just over one core: two
        (CAP * 5.5, 8, 6),
        (CAP * 20, 4, 4),  # never more processes than CPUs
    ],
)
def test_auto_parts_needs_the_estimate_and_caps_at_the_cpus(reads, cpus, parts):
    """--processes auto: ceil(reads / capacity), between 1 and the CPU count."""
    guess = estimate(profile(users=1))
    guess = type(guess)(reads * 0.02, reads, 0.02, False)
    assert auto_parts(guess, cpus) == parts


def test_the_start_warning_names_the_processes_needed():
    """A plan over one core's capacity warns at start (check_start returns it for the CLI to
    print) and names --processes N; within it, nothing is said."""
    over = profile(users=math.ceil(2.5 * CAP * 0.02))
    warnings = check_start(over.load, 1, profile=over)
    assert len(warnings) == 1
    assert "--processes 3" in warnings[0]
    assert "paced capacity" in warnings[0]
    within = profile(users=int(0.5 * CAP * 0.02))
    assert check_start(within.load, 1, profile=within) == []
    # The same plan in 3 segments: each process holds its share.
    assert check_start(over.load, 3, profile=over) == []


@pytest.mark.skipif(cpus() < 2, reason="--processes auto caps at the CPUs: needs two")
def test_processes_auto_runs_the_parts_the_estimate_needs(tmp_path: Path):
    """6 users of a built-in target whose ITL makes the plan 1.5 cores' paced capacity:
    --processes auto picks 2, and the merged result says 2 parts ran, each ok."""
    itl_us = 6 / (1.5 * CAP) * 1e6  # 6 users x 1/ITL = 1.5 x capacity
    data = chat_profile(
        users=6,
        duration="1s",
        builtin={"timing": {"ttft": "5ms", "itl": f"{itl_us:.3f}us", "output_tokens": 4}},
        tasks=[{"chat": {"prompt": "hi", "max_tokens": 4}}],
    )
    data["report"] = {"dir": str(tmp_path / "reports"), "formats": ["json"]}
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    plan = profile_from_dict(data)
    assert math.ceil(estimate(plan).cores) == 2 == auto_count(plan, None, None)
    out = tmp_path / "out"
    args = argparse_namespace(path, out)
    assert run_distributed(args) == 0
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert [(p["segment"], p["status"]) for p in result["parts"]] == [(1, "ok"), (2, "ok")]
    assert result["scopes"]["overall"]["requests"] > 0


def argparse_namespace(path: Path, out: Path):
    import argparse

    return argparse.Namespace(
        profile=str(path), sets=[], users=None, duration=None, rate=None, seed=None,
        out=str(out), truth=None, quiet=True, json=False, segment=(1, 1), start_at=None,
        processes="auto", ray=None,
    )  # fmt: skip
