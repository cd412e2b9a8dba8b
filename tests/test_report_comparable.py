"""Whether two results are like for like, and what a run is called (report/comparable.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from loadgen.report.comparable import differences, run_label


def result(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "profile": {
            "name": "chat",
            "raw": {
                "name": "chat",
                "target": {
                    "base_url": "builtin",
                    "timeout": "20s",
                    "builtin": {"timing": {"ttft": "20ms"}},
                },
                "load": {"users": 4, "duration": "2s"},
            },
        },
        "target": {"base_url": "http://127.0.0.1:40001", "builtin": True},
        "seed": 1,
        "started": 1_700_000_000.0,
        "plan": [{"at": 0.0, "until": 2.0, "start": 4.0, "end": 4.0, "name": None}],
        "health": {"limited": False},
    }
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = doc
        for key in parents:
            node = node[key]
        node[leaf] = value
    return doc


@pytest.mark.parametrize(
    ("new", "lines"),
    [
        pytest.param(
            result(target__base_url="http://127.0.0.1:40002"),
            [],
            id="two runs of the built-in target on different ports are like for like",
        ),
        pytest.param(
            result(profile__name="spike"),
            ["the profiles differ (name 'chat' → 'spike')"],
            id="a different profile name is one line",
        ),
        pytest.param(
            result(profile__raw__load={"users": 8, "duration": "2s"}),
            ["the profiles differ (load.users 4 → 8)"],
            id="a different user count in the profile names the key",
        ),
        pytest.param(
            result(plan=[]),
            ["the profiles differ (load plan)"],
            id="a different load plan from the command line is caught by the plan",
        ),
        pytest.param(
            result(
                profile__raw__target={
                    "base_url": "builtin",
                    "timeout": "20s",
                    "builtin": {"timing": {"ttft": "80ms"}},
                }
            ),
            ["the targets differ (built-in target.timing.ttft 20ms → 80ms)"],
            id="a slower built-in target is a target line, not a profile line",
        ),
        pytest.param(
            result(target={"base_url": "https://b.example", "builtin": False}),
            [
                "the targets differ (built-in target.timing.ttft 20ms → –; url – → https://b.example)"
            ],
            id="a real target against the built-in one",
        ),
        pytest.param(
            result(health={"limited": True}),
            ["the new run was limited by the generator"],
            id="a generator-limited run is named",
        ),
    ],
)
def test_differences(new, lines):
    """One line per way the runs differ; a line starts with what it names."""
    found = differences(result(), new)
    assert len(found) == len(lines)
    for got, want in zip(found, lines, strict=True):
        assert got.startswith(want.removesuffix(")")), got


def test_many_differences_stay_on_one_line():
    """Past three differences the line counts the rest instead of growing."""
    new = copy.deepcopy(result(profile__name="spike", seed=2, plan=[]))
    new["profile"]["raw"]["load"] = {"users": 9, "duration": "9s"}
    (line,) = differences(result(), new)
    assert line.count("→") == 3
    assert "and 2 more" in line


@pytest.mark.parametrize(
    ("doc", "where", "label"),
    [
        pytest.param(
            result(),
            "reports/a",
            "chat 2023-11-14 22:13:20 UTC (reports/a)",
            id="name time and directory",
        ),
        pytest.param({}, "", "unnamed", id="an old result without a header"),
    ],
)
def test_run_label(doc, where, label):
    """The compare page's title names each run by profile, start time and directory."""
    assert run_label(doc, where) == label
