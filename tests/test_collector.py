"""The cycle collector's run settings are applied for the run and restored after it."""

from __future__ import annotations

import gc

from loadgen.engine import collector


def test_a_run_raises_the_young_threshold_freezes_start_up_and_restores_both():
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with collector.tuned():
        assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, before[1], before[2])
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
