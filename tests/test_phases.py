"""Named phases summarised from interval records: counts shared by overlap, rates per span."""

from __future__ import annotations

import pytest

from loadgen.core.phases import phase_summaries
from loadgen.core.shapes import PlanStep


def records(counts, length=1.0):
    return [
        {"t": float(t), "length": length, "requests": n, "errors": 0} for t, n in enumerate(counts)
    ]


def test_a_phase_on_whole_seconds_counts_its_seconds_exactly():
    """Seconds 2–5 of 10 requests each: 30 requests over a 3 s span, 10 req/s."""
    plan = [PlanStep(0, 2, 0, 5), PlanStep(2, 5, 5, 5, name="hold"), PlanStep(5, 6, 5, 0)]
    (ph,) = phase_summaries(plan, records([10] * 6))
    assert (ph["requests"], ph["seconds"], ph["rps"]) == (30, 3.0, 10.0)


def test_a_phase_cut_mid_second_divides_by_its_own_span():
    """A stage from 1.5 s to 4.25 s: the cut seconds count by their share, rps over 2.75 s.

    Seconds 1, 2, 3, 4 hold 8, 10, 10, 20 requests; inside: half of 8, 10, 10, a quarter of
    20 = 29 requests in 2.75 s (before: whole seconds 2 and 3 only, 20 in 2 s)."""
    plan = [PlanStep(1.5, 4.25, 5, 5, name="after spike")]
    (ph,) = phase_summaries(plan, records([0, 8, 10, 10, 20, 0]))
    assert ph["seconds"] == 2.75
    assert ph["requests"] == 29
    assert ph["rps"] == pytest.approx(29 / 2.75)


def test_a_phase_shorter_than_a_second_is_not_empty():
    """A 0.6 s spike stage inside one second gets that second's share and its percentiles."""
    plan = [PlanStep(3.2, 3.8, 2, 50, name="spike")]
    (ph,) = phase_summaries(plan, records([0, 0, 0, 20, 0]))
    assert ph["requests"] == 12
    assert ph["rps"] == pytest.approx(20.0)


def test_a_phase_the_run_did_not_finish_divides_by_the_part_it_reached():
    """The run stopped 2 s into a 10 s stage: the rate is over those 2 s, not 10."""
    plan = [PlanStep(0, 10, 5, 5, name="steady")]
    (ph,) = phase_summaries(plan, records([6, 6]))
    assert (ph["seconds"], ph["rps"]) == (2.0, 6.0)
