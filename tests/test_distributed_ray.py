"""Segments as Ray actors on a local 2-CPU Ray cluster: merged counts match the truth log,
clocks are measured, results are gathered to the driver, each actor exports its part to a
real Prometheus; without Ray, --ray says how to get it."""

from __future__ import annotations

import asyncio
import importlib.util
import json

import pytest
from promserver import counts_match, p95_within_a_bucket, running_prometheus
from support import chat_profile, held_levels, run_async

from loadgen import StartError, profile_from_dict
from loadgen.engine.distributed.ray import RayOptions, RayRun
from loadgen.engine.export import ExportOptions

FAST = {"timing": {"ttft": "10ms", "itl": "2ms", "output_tokens": 4}, "capacity": {"slots": 0}}
HAS_RAY = importlib.util.find_spec("ray") is not None


@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="Ray is not installed: pip install 'loadgen[ray]'")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray's own imports
def test_ray_actors_follow_the_driver_s_breakpoint_search(tmp_path):
    """8 slots (ttft p95 <= 150 ms holds up to ~10 users): 4 users is good and 12 broken on
    the merged numbers of 2 actors, each of which held half of each level the driver sent."""
    data = chat_profile(
        builtin={
            "timing": {"ttft": "100ms", "itl": "10ms", "output_tokens": 10},
            "capacity": {"slots": 8, "contention": 0},
        }
    )
    del data["load"]["users"], data["load"]["duration"]
    data["slo"] = {"ttft_p95": "150ms"}
    data["breakpoint"] = {"start": 4, "step": 8, "step_duration": "3s", "warmup": "1s", "max": 12}
    runner = RayRun(
        profile_from_dict(data), RayOptions(address="auto", seed=5, actors=2, out=tmp_path)
    )
    result = run_async(runner.run(), timeout=90)
    bp = result.data["breakpoint"]
    assert [(s["level"], s["verdict"]) for s in bp["steps"]] == [(4, "ok"), (12, "broken")]
    for i in (1, 2):
        part = json.loads((tmp_path / f"part-{i}" / "result.json").read_text("utf-8"))
        assert "breakpoint" not in part
        for step in bp["steps"]:
            assert held_levels(part, step) == {step["level"] // 2}, (i, step["level"])


@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="Ray is not installed: pip install 'loadgen[ray]'")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray's own imports
def test_two_ray_actors_count_what_the_target_saw(tmp_path):
    """2 actors on a local Ray cluster against one built-in target: merged requests equal the
    truth log, both segments ran, every clock offset is measured, the parts are on disk."""
    truth = tmp_path / "truth.jsonl"
    profile = profile_from_dict(chat_profile(users=4, duration="2s", builtin=FAST, think="50ms"))
    runner = RayRun(
        profile,
        RayOptions(address="auto", seed=5, actors=2, out=tmp_path / "out", truth=str(truth)),
    )
    records = []

    async def main():
        async def watch():
            async for record in runner.snapshots():
                records.append(record)

        watcher = asyncio.create_task(watch())
        result = await runner.run()
        await watcher
        return result

    result = run_async(main(), timeout=90)
    lines = truth.read_text(encoding="utf-8").splitlines()
    assert result.requests == len(lines) > 20
    assert result.exit_code == 0
    assert [p["segment"] for p in result.data["parts"]] == [1, 2]
    assert all(p["requests"] > 0 for p in result.data["parts"])
    clock = result.data["clock"]
    assert len(clock["offsets"]) == len(clock["round_trips"]) == 2
    assert clock["max_abs_offset"] < 0.05  # one machine: one clock, up to the round trip
    assert result.data["distributed"]["kind"] == "ray"
    assert records
    # As in the local test: a second whose part reported late is handed out with one part.
    assert {r["parts"] for r in records} <= {1, 2}
    assert any(r["parts"] == 2 for r in records)
    saved = json.loads((tmp_path / "out" / "part-2" / "result.json").read_text("utf-8"))
    assert saved["segment"] == {"index": 2, "count": 2}


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    with running_prometheus(tmp_path_factory.mktemp("prometheus")) as running:
        yield running


@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="Ray is not installed: pip install 'loadgen[ray]'")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray's own imports
def test_ray_actors_export_their_parts_to_a_real_prometheus(prom, tmp_path):
    """Each actor pushes and serves its own part (port + i - 1), labelled with its segment:
    per segment and summed, pushed and scraped, the counts are the parts' and the merged
    result's, and the p95 over the summed buckets is the merged result's (issue 22)."""
    profile = profile_from_dict(chat_profile(users=4, duration="2s", builtin=FAST, think="50ms"))
    export = ExportOptions(
        remote_write=(prom.write_url,), metrics_port=prom.scrape_port, run_id="ray"
    )
    options = RayOptions(address="auto", seed=5, actors=2, out=tmp_path / "out", export=export)
    result = run_async(RayRun(profile, options).run(), timeout=90)
    sel = 'run_id="ray",scope="overall"'
    for part in result.data["parts"]:
        where = f'{sel},segment="{part["segment"]}/2"'
        counts_match(prom, "loadgen_requests_total", where, part["requests"])
    counts_match(prom, "loadgen_requests_total", sel, result.requests)
    p95_within_a_bucket(prom, "ttft", "ray", result.overall["metrics"]["ttft"])


def test_without_ray_the_error_says_how_to_install_it(monkeypatch):
    """--ray with Ray missing is a start error whose hint is the pip command."""
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    profile = profile_from_dict(chat_profile(base_url="http://127.0.0.1:9"))
    runner = RayRun(profile, RayOptions(address="auto", seed=1))
    with pytest.raises(StartError, match=r"pip install 'loadgen\[ray\]'"):
        run_async(runner.run())
