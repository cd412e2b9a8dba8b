"""Generator health: intervals past a limit become plain-words warnings over time ranges."""

from loadgen.health import Limits, assess


def interval(t, *, cpu=0.2, sched=1.0, loop=1.0):
    return {
        "t": t,
        "length": 1.0,
        "cpu": cpu,
        "schedule_lag": {"count": 10, "p99": sched},
        "loop_lag": {"count": 10, "p99": loop},
    }


def test_a_healthy_run_has_no_warnings():
    """Below every limit: not limited, CPU summarised."""
    h = assess([interval(0), interval(1, cpu=0.4)])
    assert h["limited"] is False
    assert h["warnings"] == []
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


def test_limits_are_configurable_and_empty_intervals_do_not_warn():
    """A stricter CPU limit warns; an interval with no requests has no schedule lag to judge."""
    records = [
        {"t": 0, "length": 1.0, "cpu": 0.5, "schedule_lag": {"count": 0}, "loop_lag": {"count": 0}}
    ]
    assert assess(records)["limited"] is False
    assert assess(records, Limits(cpu=0.3))["limited"] is True
