"""Breakpoint search: the stepping rules (pure) and the level found against a known capacity."""

from __future__ import annotations

import asyncio
import json

import pytest
from support import chat_profile, run_async

import loadgen
from loadgen import profile_from_dict
from loadgen.core.breakpoint import BreakpointSpec, Conductor, Search, knee, summary
from loadgen.core.hist import Histogram
from loadgen.core.slo import Slo
from loadgen.engine.steps import FileSteps

SPEC = BreakpointSpec(start=4, step=4, step_duration=3, max=40)


def walk(spec: BreakpointSpec, verdicts: dict[float, str]) -> list[float]:
    """Levels the search visits when each level's step gets the given verdict."""
    search, seen = Search(spec), []
    while (level := search.next_level()) is not None:
        seen.append(level)
        search.record(
            level, {"verdict": verdicts.get(level, "ok"), "broken_by": [], "ttft": {"p95": 100.0}}
        )
    return seen


@pytest.mark.parametrize(
    ("spec", "verdicts", "levels"),
    [
        (SPEC, {12: "broken"}, [4, 8, 12]),  # stop at the first
        (SPEC, {}, [4, 8, 12, 16, 20, 24, 28, 32, 36, 40]),  # or at the maximum
        (
            BreakpointSpec(start=4, step=4, step_duration=3, max=40, consecutive=2),
            {8: "broken", 16: "broken", 20: "broken"},
            [4, 8, 12, 16, 20],
        ),  # a lone broken step is noise
        (
            BreakpointSpec(start=4, step=8, step_duration=3, max=40, refine=2),
            {20: "broken", 16: "broken", 14: "broken"},
            [4, 12, 20, 16, 14],
        ),  # bisect 12..20
        (SPEC, {8: "generator-limited"}, [4, 8]),  # never blame the target
    ],
    ids=["first-broken", "maximum", "consecutive-2", "refine", "generator-limited"],
)
def test_search_rules(spec, verdicts, levels):
    """Stop rules and refinement, table-driven."""
    assert walk(spec, verdicts) == levels


def test_knee_is_where_latency_grows_faster_than_load():
    """ttft p95 100 → 105 → 110 → 400 ms over 4/8/12/16 users: the knee is 16."""
    steps = [
        {"level": lv, "ttft": {"p95": t}} for lv, t in ((4, 100), (8, 105), (12, 110), (16, 400))
    ]
    assert knee(steps) == 16


def test_breakpoint_lies_within_one_step_of_the_capacity_the_config_predicts(tmp_path):
    """8 slots, ttft 100 ms, 10 tokens 10 ms apart: a closed-loop user's ttft is
    N·190/8 − 90 ms, so ttft p95 ≤ 150 ms holds up to ~10 users. Steps of 4 users must call
    8 the highest good level and 12 the first broken one, broken by ttft."""
    data = chat_profile(
        builtin={
            "timing": {"ttft": "100ms", "itl": "10ms", "output_tokens": 10},
            "capacity": {"slots": 8, "contention": 0},
        }
    )
    del data["load"]["users"], data["load"]["duration"]
    data["slo"] = {"ttft_p95": "150ms", "error_rate": "5%"}
    data["breakpoint"] = {
        "start": 4,
        "step": 4,
        "step_duration": "3s",
        "warmup": "1s",
        "max": 24,
        "require_at_least": 16,
    }
    result = run_async(loadgen.run(profile_from_dict(data), out=tmp_path), timeout=120)
    bp = result.data["breakpoint"]
    predicted = (150 + 90) * 8 / 190  # ≈ 10.1 users
    assert abs(bp["highest_ok"] - predicted) <= 4
    assert abs(bp["first_broken"] - predicted) <= 4
    assert (bp["highest_ok"], bp["first_broken"]) == (8, 12)
    assert bp["broken_by"][0].startswith("ttft_p95")
    assert [s["verdict"] for s in bp["steps"]] == ["ok", "ok", "broken"]
    assert bp["steps"][2]["ttft"]["p95"] > 150
    assert bp["ok"] is False
    assert result.exit_code == 1


def merged_second(t: float, ttft_ms: float, requests: int = 20) -> dict:
    """A merged interval record as the driver gets it: counts and ttft/e2e/itl HDR."""
    record: dict = {"t": t, "length": 1.0, "requests": requests, "errors": 0, "good": requests}
    for metric, value in (("ttft", ttft_ms), ("e2e", ttft_ms + 90), ("itl", 10.0)):
        h = Histogram()
        h.record_us(round(value * 1000), requests)
        record[metric] = {"count": requests, "hdr": h.encode()}
    return record


def test_the_driver_judges_each_step_on_merged_seconds_and_sends_the_next_level():
    """Step 4 users from t=0 (3 s, 1 s warm-up) is judged on seconds 1-2 once second 2 is in;
    the next step starts on a whole second at least a second after the verdict; seconds
    between steps (the gap) belong to no window; a broken step ends the search."""
    spec = BreakpointSpec(start=4, step=4, step_duration=3, max=12, warmup=1)
    conductor = Conductor(spec, Slo(ttft_p95=150.0))
    assert conductor.begin(now=-2.0) == {"level": 4, "start": 0.0}
    assert conductor.add(merged_second(0, 900), now=1.2) is None  # warm-up: not judged
    assert conductor.add(merged_second(1, 100), now=2.2) is None
    assert conductor.add(merged_second(2, 100), now=3.6) == {"level": 8, "start": 5.0}
    assert conductor.add(merged_second(3, 900), now=4.4) is None  # the gap at level 4
    for t in (4, 5, 6):
        assert conductor.add(merged_second(t, 400 if t >= 6 else 900), now=t + 1.4) is None
    assert conductor.add(merged_second(7, 400), now=8.4) == {"end": True}
    assert conductor.add(merged_second(8, 100), now=9.4) is None  # after the end: nothing
    bp = summary(conductor.search, "users")
    assert [(s["level"], s["verdict"]) for s in bp["steps"]] == [(4, "ok"), (8, "broken")]
    assert [(s["start"], s["end"]) for s in bp["steps"]] == [(0, 3), (5, 8)]
    assert bp["steps"][1]["ttft"]["p95"] == pytest.approx(400, rel=0.01)  # seconds 6-7 only
    assert (bp["highest_ok"], bp["first_broken"]) == (4, 8)


def test_the_longest_search_bounds_every_step_and_gap():
    spec = BreakpointSpec(start=4, step=4, step_duration=3, max=12, refine=1)
    assert Conductor(spec, Slo()).longest() >= 4 * 3 + 4 * 2


def test_a_follower_reads_appended_commands_and_gives_up_on_a_silent_driver(tmp_path):
    """Commands appended after the follower started are read in order; with no new command
    for `patience` seconds (a killed driver) the search counts as ended."""
    path = tmp_path / "steps.jsonl"
    path.write_text(json.dumps({"level": 4, "start": 0}) + "\n")

    async def follow() -> list:
        steps = FileSteps(path, poll=0.01, patience=0.3)
        seen = [await steps.next()]
        with path.open("a") as f:  # a line written in two parts, as a driver's append may be
            f.write('{"level": 8, ')
            f.flush()
            await asyncio.sleep(0.05)
            f.write('"start": 5}\n')
        seen.append(await steps.next())
        seen.append(await steps.next())  # nothing more: the patience runs out
        return seen

    assert run_async(follow()) == [(4.0, 0.0), (8.0, 5.0), None]
