"""Steering by hand (loadgen.core.steering): the level the drivers follow, the events the
result keeps, the requests refused, and the plan cut at an offset for the open model."""

from __future__ import annotations

import math

import pytest

from loadgen.core.arrivals import RateStage
from loadgen.core.profile.model import Load, Stage
from loadgen.core.steering import Steering, remaining


def test_a_hold_replaces_the_plan_until_resume():
    s = Steering("users")
    assert s.level(7.0) == 7.0  # nothing held: the plan's level
    hold = s.apply(3.25, "hold", 12)
    assert hold == {"t": 3.25, "action": "hold", "unit": "users", "value": 12.0, "by": "ui"}
    assert s.level(7.0) == 12.0
    s.apply(9.0, "resume")
    assert s.level(7.0) == 7.0
    s.apply(11.0, "stop")
    assert [e["action"] for e in s.events] == ["hold", "resume", "stop"]
    assert [e["value"] for e in s.events] == [12.0, None, None]


@pytest.mark.parametrize(
    ("unit", "action", "value", "message"),
    [
        pytest.param("users", "hold", 2.5, "whole number", id="half a user is refused"),
        pytest.param("users", "hold", -1, "between 0", id="a negative level is refused"),
        pytest.param("rate", "hold", math.nan, "between 0", id="NaN is refused"),
        pytest.param("rate", "hold", 1e9, "between 0", id="a typo of a billion is refused"),
        pytest.param("rate", "hold", "20", "a number", id="text is refused"),
        pytest.param("rate", "hold", True, "a number", id="a boolean is refused"),
        pytest.param("users", "pause", None, "unknown action", id="an unknown action is refused"),
    ],
)
def test_wrong_requests_are_refused_and_change_nothing(unit, action, value, message):
    s = Steering(unit)
    with pytest.raises(ValueError, match=message):
        s.apply(1.0, action, value)
    assert s.held is None
    assert s.events == []


def test_a_rate_may_be_fractional_and_zero():
    s = Steering("rate")
    s.apply(0.0, "hold", 0.5)
    assert s.level(10.0) == 0.5
    s.apply(1.0, "hold", 0)
    assert s.level(10.0) == 0.0


LOAD = Load(
    model="open",
    start=2.0,
    stages=(Stage(duration=10.0, target=12.0), Stage(duration=20.0, target=12.0)),
)


@pytest.mark.parametrize(
    ("offset", "rate", "stages"),
    [
        pytest.param(0.0, 2.0, [RateStage(10.0, 12.0), RateStage(20.0, 12.0)], id="at the start"),
        pytest.param(
            5.0, 7.0, [RateStage(5.0, 12.0), RateStage(20.0, 12.0)], id="half-way up the ramp"
        ),
        pytest.param(10.0, 12.0, [RateStage(20.0, 12.0)], id="on a stage boundary"),
        pytest.param(25.0, 12.0, [RateStage(5.0, 12.0)], id="inside the last stage"),
        pytest.param(30.0, 12.0, [], id="at the end: nothing left"),
    ],
)
def test_remaining_cuts_the_plan_at_an_offset(offset, rate, stages):
    assert remaining(LOAD, offset) == (rate, stages)
