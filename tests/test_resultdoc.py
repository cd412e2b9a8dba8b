"""The result schema: the published JSON Schema is the types' own, and every producer (a run,
``merge``, a rebuilt journal, a ``--processes`` run) writes documents that it accepts."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from support import chat_profile, run_async

from loadgen import Engine, profile_from_dict
from loadgen.core.journal import read_journal
from loadgen.core.merge import merge_results
from loadgen.core.profile import load_profile
from loadgen.core.resultschema import json_schema
from loadgen.engine.distributed import LocalOptions, LocalRun

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "result.schema.json"
FAST = {"timing": {"ttft": "10ms", "itl": "2ms", "output_tokens": 4}, "capacity": {"slots": 0}}


def profile_data() -> dict[str, Any]:
    """One second of 3 users, with thresholds and SLOs so those records are produced too."""
    data = chat_profile(users=3, duration="1s", builtin=FAST, think="50ms")
    data["load"]["graceful_stop"] = "1s"
    data["thresholds"] = ["ttft.p95 < 5s", "errors.rate < 1%"]
    data["slo"] = {"ttft_p95": "1s", "error_rate": "5%"}
    return data


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def assert_valid(data: dict[str, Any]) -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator().iter_errors(json.loads(json.dumps(data)))
    ]
    assert not errors, "\n".join(errors[:10])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A whole run and the two segments of the same test, side by side in one event loop."""
    out = tmp_path_factory.mktemp("results")
    profile = profile_from_dict(profile_data())

    async def one(segment: tuple[int, int], name: str) -> dict[str, Any]:
        async with Engine(profile, segment=segment, out=out / name) as engine:
            result = await engine.run()
        assert result.path is not None
        saved: dict[str, Any] = json.loads(result.path.read_text(encoding="utf-8"))
        return saved

    async def all_three() -> list[dict[str, Any]]:
        return await asyncio.gather(one((1, 1), "whole"), one((1, 2), "s1"), one((2, 2), "s2"))

    whole, s1, s2 = run_async(all_three())
    return {"whole": whole, "segments": [s1, s2], "out": out}


def test_the_published_schema_is_generated_from_the_types():
    """docs/result.schema.json is ``json_schema()`` (rewrite it with LOADGEN_REGEN=1)."""
    generated = json.dumps(json_schema(), indent=1) + "\n"
    if os.environ.get("LOADGEN_REGEN"):
        SCHEMA_FILE.write_text(generated, encoding="utf-8")
    jsonschema.Draft202012Validator.check_schema(json_schema())
    assert SCHEMA_FILE.read_text(encoding="utf-8") == generated, (
        "the result types changed: regenerate with LOADGEN_REGEN=1 pytest tests/test_resultdoc.py"
    )


def test_a_run_writes_a_valid_result(runs):
    """The engine's result.json, verdict included, with thresholds and SLOs."""
    assert runs["whole"]["thresholds"]
    assert runs["whole"]["slo"]
    assert_valid(runs["whole"])


def test_merged_segments_are_a_valid_result(runs):
    """``merge`` of two segments: parts, per-part health and the merged segment record."""
    merged = merge_results(runs["segments"])
    assert merged["segment"]["merged"] == [1, 2]
    assert_valid(merged)


def test_a_rebuilt_journal_is_a_valid_result(runs):
    """The journal of a finished run (with its end record) and of a cut-short one."""
    journal = runs["out"] / "whole" / "result.jsonl"
    assert_valid(read_journal(journal))
    lines = journal.read_text(encoding="utf-8").splitlines()
    cut = runs["out"] / "cut.jsonl"
    kept = [line for line in lines if json.loads(line)["type"] != "end"]
    cut.write_text("\n".join(kept) + "\n", encoding="utf-8")
    rebuilt = read_journal(cut)
    assert rebuilt["run"]["truncated"]
    assert_valid(rebuilt)


def test_the_producers_write_the_same_keys(runs):
    """A run, a merge and a rebuilt journal hold the same top-level and run-record keys
    apart from those the schema marks as one producer's own."""
    whole = runs["whole"]
    merged = merge_results(runs["segments"])
    rebuilt = read_journal(runs["out"] / "whole" / "result.jsonl")
    assert set(whole) - {"verdict"} == set(merged) - {"parts"} == set(rebuilt)
    assert set(whole["custom"]) == set(merged["custom"]) == set(rebuilt["custom"])
    assert set(whole["scopes"]["overall"]) == set(rebuilt["scopes"]["overall"])


@pytest.mark.slow
def test_a_distributed_run_writes_a_valid_result(tmp_path):
    """``--processes 2``: the driver's merged result with parts and the distributed record."""
    data = profile_data()
    data["report"] = {"dir": str(tmp_path / "reports"), "formats": ["json"]}
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    opts = LocalOptions(
        profile_path=str(path), processes=2, out=tmp_path / "out", seed=11, start_delay=1.5
    )
    run_async(LocalRun(load_profile(path), opts).run(), timeout=120)
    result = json.loads((tmp_path / "out" / "result.json").read_text(encoding="utf-8"))
    assert result["distributed"]["kind"] == "processes"
    assert_valid(result)
