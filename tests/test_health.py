"""Generator health: windows past a limit become plain-words warnings over time ranges."""

from loadgen.core.health import Limits, assess
from loadgen.core.windows import windows


def interval(t, *, cpu=0.2, sched=1.0, loop=1.0, length=1.0):
    return {
        "t": t,
        "length": length,
        "cpu": cpu,
        "schedule_lag": {"count": 10, "p99": sched},
        "loop_lag": {"count": 10, "p99": loop},
    }


def test_a_healthy_run_has_no_warnings():
    """Below every limit: not limited, CPU summarised."""
    h = assess([interval(0), interval(1, cpu=0.4)])
    assert h["limited"] is False
    assert h["warnings"] == []
    assert h["startup"] is None
    assert h["cpu"]["max"] == 0.4


def test_consecutive_bad_intervals_merge_into_one_range_with_reasons():
    """Seconds 2–5 over the CPU and lag limits read as one range, naming each reason."""
    records = [
        interval(0),
        interval(1),
        interval(2, cpu=0.97),
        interval(3, sched=25.0),
        interval(4, cpu=0.95, loop=30.0),
        interval(5),
        interval(6, sched=11.0),
    ]
    h = assess(records)
    assert h["limited"] is True
    assert [(w["t"], w["until"]) for w in h["warnings"]] == [(2.0, 5.0), (6.0, 7.0)]
    first = h["warnings"][0]
    assert "CPU 97% of a core" in first["what"]
    assert "schedule lag p99 25 ms" in first["what"]
    assert "event-loop lag p99 30 ms" in first["what"]
    assert first["plain"].startswith(
        "the generator, not the target, limited the test from 2s to 5s"
    )


def test_each_reason_is_said_once_per_range_at_its_worst():
    """Three seconds over the CPU limit name CPU once, with the worst value, not three times."""
    records = [interval(0), interval(1, cpu=0.93), interval(2, cpu=0.99), interval(3, cpu=0.95)]
    (warning,) = assess(records)["warnings"]
    assert warning["what"] == "CPU 99% of a core > 90%"
    assert warning["plain"].count("CPU") == 1


def test_a_short_final_interval_is_judged_over_its_real_length():
    """10 ms of teardown at 86% of a core is not a second at 86%: it joins the second before."""
    records = [interval(0), interval(1), interval(2, cpu=0.05), interval(3, cpu=0.95, length=0.01)]
    h = assess(records)
    assert h["limited"] is False
    assert h["cpu"]["max"] < 0.25  # the last pair: (0.05 × 1 s + 0.95 × 0.01 s) / 1.01 s
    # ... but a final interval long enough to be a window of its own is judged on its own
    longer = [*records[:3], interval(3, cpu=0.95, length=0.6)]
    assert [(w["t"], w["until"]) for w in assess(longer)["warnings"]] == [(3.0, 3.6)]


def test_a_starved_final_second_still_warns_with_its_short_tail():
    """The folded window keeps the real range: the starved second plus its 10 ms tail."""
    records = [interval(0), interval(1), interval(2, cpu=0.98), interval(3, length=0.01)]
    (warning,) = assess(records)["warnings"]
    assert (warning["t"], warning["until"]) == (2.0, 3.01)


def test_the_start_up_second_is_reported_apart_not_as_a_limit():
    """Imports and logins in the first second are a note, never ``limited``; later seconds are."""
    h = assess([interval(0, cpu=0.99, loop=49.0), interval(1), interval(2)])
    assert h["limited"] is False
    assert h["warnings"] == []
    assert h["startup"]["what"] == "CPU 99% of a core > 90%; event-loop lag p99 49 ms > 10 ms"
    assert h["startup"]["plain"].startswith("start-up (imports, first connections, logins)")
    starved = assess([interval(0, cpu=0.99), interval(1, cpu=0.99), interval(2)])
    assert [(w["t"], w["until"]) for w in starved["warnings"]] == [(1.0, 2.0)]


def test_limits_are_configurable_and_empty_intervals_do_not_warn():
    """A stricter CPU limit warns; an interval with no requests has no schedule lag to judge."""
    records = [
        interval(0),
        {"t": 1, "length": 1.0, "cpu": 0.5, "schedule_lag": {"count": 0}, "loop_lag": {"count": 0}},
    ]
    assert assess(records)["limited"] is False
    assert assess(records, Limits(cpu=0.3))["limited"] is True


def test_windows_fold_only_a_group_much_shorter_than_the_one_before():
    """Groups of ``per`` records; a tail under half the previous group's length joins it."""
    recs = [{"t": t, "length": 1.0} for t in range(7)] + [{"t": 7, "length": 0.3}]
    assert [len(w) for w in windows(recs)] == [1] * 6 + [2]
    assert [len(w) for w in windows(recs, per=2)] == [2, 2, 2, 2]  # 1.3 s ≥ half of 2 s
    assert [len(w) for w in windows(recs[:7], per=3)] == [3, 4]  # a lone 1 s after 3 s joins


def test_requests_failed_on_the_generators_own_limits_are_named_even_at_start_up():
    """Errors of kind ``generator`` (EMFILE) make the run limited from the first second, with
    the count and the kind named, apart from CPU and lag."""
    records = [interval(0), interval(1), interval(2)]
    records[0]["errors_by_kind"] = {"generator": 4, "connect": 1}
    records[1]["errors_by_kind"] = {"generator": 2}
    h = assess(records)
    assert h["limited"] is True
    (warning,) = h["warnings"]
    assert (warning["t"], warning["until"]) == (0, 2.0)
    assert "6 requests failed on the generator's own limits" in warning["plain"]
    assert "kind generator" in warning["plain"]
    assert h["startup"] is None
