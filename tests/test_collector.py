"""The cycle collector's run settings are applied for the run and restored after it."""

from __future__ import annotations

import gc

from loadgen.core import collector


def test_a_run_raises_the_young_threshold_freezes_start_up_and_restores_both():
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with collector.tuned():
        assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, before[1], collector.FULL_EVERY)
        assert gc.get_freeze_count() > frozen_before  # start-up objects: skipped from now on
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_settings_are_restored_when_the_run_fails():
    before = gc.get_threshold()
    try:
        with collector.tuned():
            raise RuntimeError("the run failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_run_frees_short_lived_cycles_without_a_full_collection():
    """What a run allocates in ~20 middle collections (twice what triggered a full one
    before): the young generations free its cycles; no full collection pauses the loop."""
    with collector.tuned():
        stats = gc.get_stats()
        for _ in range(collector.YOUNG_THRESHOLD * gc.get_threshold()[1] * 20):
            a: list[object] = []
            a.append(a)  # a cycle: garbage at once, freed only by the cycle collector
        after = gc.get_stats()
    assert after[1]["collections"] - stats[1]["collections"] >= 15
    assert after[2]["collections"] == stats[2]["collections"]
    freed = sum(after[g]["collected"] - stats[g]["collected"] for g in (0, 1))
    assert freed >= collector.YOUNG_THRESHOLD * 100  # the cycles were freed young
