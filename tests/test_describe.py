"""What `loadgen validate` says a profile will do: the model's own plan, stop, checks."""

from __future__ import annotations

from pathlib import Path

from loadgen import profile_from_dict
from loadgen.cli.commands import main
from loadgen.core.describe import describe

PROFILES = Path(__file__).resolve().parent.parent / "profiles"
USERS = [{"name": "regular", "tasks": [{"chat": {"category": "simple"}}]}]


def test_an_open_model_plan_is_said_in_arrivals_per_second():
    """A rate plan is not "closed model, users 0 → 10": its unit, arrivals and drops show."""
    profile = profile_from_dict(
        {
            "target": {"base_url": "builtin"},
            "users": USERS,
            "load": {
                "model": "open",
                "arrival": "poisson",
                "stages": [
                    {"duration": "10s", "rate": "10/s"},
                    {"duration": "1m", "rate": "10/s", "name": "steady"},
                ],
                "graceful_stop": "5s",
            },
            "thresholds": {"ttft.p95": {"condition": "< 1s", "abort_on_fail": True}},
            "slo": {"error_rate": "2%"},
        }
    )
    text = "\n".join(describe(profile))
    assert "closed model" not in text
    assert "users 0" not in text
    assert "load plan (open model, arrivals per second):" in text
    assert "poisson arrivals; at most 1000 in flight, more are dropped" in text
    assert "0s → 10s    0/s → 10/s" in text
    assert "10s → 1m10s  hold 10/s  (steady)" in text
    assert "graceful stop: 5s" in text
    assert "threshold: ttft.p95 < 1s (aborts the run)" in text
    assert "SLO: errors.rate <= 2%" in text


def test_the_shipped_breakpoint_profile_prints_its_search_not_an_empty_plan(capsys):
    """`validate profiles/breakpoint.yaml` shows the steps, warm-up, refinement, minimum, SLOs."""
    assert main(["validate", str(PROFILES / "breakpoint.yaml")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "  breakpoint search (closed model, users):" in out
    assert (
        "    from 4 users, +4 every 10s up to 64 users; each step judged after a 3s warm-up" in out
    )
    assert "    broken after 1 broken step in a row, then 2 bisection steps" in out
    assert "    exit 1 when the breakpoint is below 8 users" in out
    assert "  SLO: ttft.p95 <= 500ms — judges each step" in out
    assert not any(line.strip() == "load plan (closed model):" for line in out)


def test_a_closed_plan_names_its_phases_and_says_when_nothing_is_judged(capsys):
    """The shipped spike profile: stages in users with their names, its SLOs marked as
    informing; smoke gates on its threshold beside the run's own checks."""
    assert main(["validate", str(PROFILES / "spike.yaml")]) == 0
    out = capsys.readouterr().out
    assert "30s → 35s    50 users → 1000 users  (spike)" in out
    assert "35s → 1m35s  hold 1000 users  (after spike)" in out
    assert "graceful stop: 20s" in out
    assert "  SLO: ttft.p95 <= 3000ms — informs (slo.gate: true to gate)" in out
    assert main(["validate", str(PROFILES / "smoke.yaml")]) == 0
    out = capsys.readouterr().out
    assert "at least one request succeeds; no internal error in a VU" in out
    assert "  threshold: errors.count == 0" in out
