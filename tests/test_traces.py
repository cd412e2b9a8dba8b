"""Trace files read a row at a time, their rows' due times, and Mooncake's shared blocks
(loadgen.core.traces); and the ``load: {model: replay}`` section's errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadgen import profile_from_dict
from loadgen.core.bpe import default_tokenizer
from loadgen.core.errors import Problem, ProfileError
from loadgen.core.prompts import PromptBuilder, default_corpus
from loadgen.core.traces import (
    BlockPrompts,
    TraceError,
    TraceRequest,
    Window,
    columns_for,
    read_trace,
    schedule,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows(path: Path, fmt: str, mapping: dict[str, str] | None = None, unit: str | None = None):
    return list(read_trace(path, columns_for(fmt, mapping, unit)))  # type: ignore[arg-type]


def test_mooncake_rows_keep_ms_timestamps_lengths_and_hash_ids(tmp_path: Path):
    """Mooncake's `timestamp` is in ms; lengths and hash ids are the row's."""
    path = write(
        tmp_path / "m.jsonl",
        '{"timestamp": 0, "input_length": 700, "output_length": 5, "hash_ids": [0, 1]}\n'
        '{"timestamp": 1500, "input_length": 300, "output_length": 7, "hash_ids": [0]}\n',
    )
    got = rows(path, "mooncake")
    assert got == [
        TraceRequest(line=1, at=0.0, input_tokens=700, output_tokens=5, hash_ids=(0, 1)),
        TraceRequest(line=2, at=1.5, input_tokens=300, output_tokens=7, hash_ids=(0,)),
    ]


def test_azure_rows_read_iso_datetimes_with_seven_fraction_digits(tmp_path: Path):
    """Azure's TIMESTAMP is a datetime with 100 ns digits; rows are 0.25 s apart."""
    path = write(
        tmp_path / "a.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2023-11-16 18:15:46.6805900,374,44\n"
        "2023-11-16 18:15:46.9305900,396,109\n",
    )
    first, second = rows(path, "azure")
    assert isinstance(first, TraceRequest)
    assert isinstance(second, TraceRequest)
    assert second.at - first.at == pytest.approx(0.25, abs=1e-6)
    assert (second.line, second.input_tokens, second.output_tokens) == (3, 396, 109)


def test_burstgpt_rows_skip_failed_requests_and_leave_the_model_unsent(tmp_path: Path):
    """BurstGPT's 0-token responses are failed requests, left out; its model names the
    OpenAI model of the original service, not one to ask a test server for."""
    path = write(
        tmp_path / "b.csv",
        "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
        "5,ChatGPT,472,18,490,Conversation log\n"
        "45,ChatGPT,1087,0,1087,Conversation log\n"
        "118,GPT-4,417,30,447,API log\n",
    )
    got = rows(path, "burstgpt")
    assert [(r.at, r.input_tokens, r.output_tokens, r.model) for r in got] == [
        (5.0, 472, 18, None),
        (118.0, 417, 30, None),
    ]


def test_generic_csv_maps_columns_and_reads_prompt_text_sessions_and_models(tmp_path: Path):
    """A gateway log: ms timestamps, prompt text, session and model under its own names."""
    path = write(
        tmp_path / "g.csv",
        "ts_ms,text,max_out,conv,llm\n1000,Hello there,12,s1,small\n1250,And then?,8,s1,\n",
    )
    mapping = {
        "timestamp": "ts_ms",
        "prompt": "text",
        "output_tokens": "max_out",
        "session": "conv",
        "model": "llm",
    }
    got = rows(path, "csv", mapping, "ms")
    assert got == [
        TraceRequest(
            line=2, at=1.0, output_tokens=12, prompt="Hello there", session="s1", model="small"
        ),
        TraceRequest(line=3, at=1.25, output_tokens=8, prompt="And then?", session="s1"),
    ]


def test_a_bad_row_is_a_problem_naming_its_line_and_field_and_the_rest_still_read(tmp_path):
    """A malformed row is handed back as a problem in place; the rows after it are read."""
    path = write(
        tmp_path / "t.jsonl",
        '{"timestamp": 1, "input_tokens": 10}\n'
        '{"timestamp": "noon", "input_tokens": 10}\n'
        "not json\n"
        '{"timestamp": 2, "input_tokens": -4}\n'
        '{"timestamp": 3, "input_tokens": 10, "output_tokens": 2}\n',
    )
    got = rows(path, "jsonl")
    assert [type(r).__name__ for r in got] == [
        "TraceRequest",
        "Problem",
        "Problem",
        "Problem",
        "TraceRequest",
    ]
    assert isinstance(got[1], Problem)
    assert (got[1].line, got[1].field) == (2, "columns.timestamp")
    assert isinstance(got[3], Problem)
    assert (got[3].line, got[3].field) == (4, "columns.input_tokens")


def test_a_csv_without_a_named_column_fails_at_once_naming_the_header_and_the_fix(tmp_path):
    """The error names the file, line 1, the field and what the header has."""
    path = write(tmp_path / "a.csv", "TIMESTAMP,Context,GeneratedTokens\n2023-11-16 18:15:46,1,2\n")
    with pytest.raises(TraceError) as caught:
        rows(path, "azure")
    text = str(caught.value)
    assert f"{path}:1: columns.input_tokens: no column 'ContextTokens'" in text
    assert "TIMESTAMP, Context, GeneratedTokens" in text
    assert "columns: {input_tokens: NAME}" in text


# Each row: (trace seconds, window) → due times in run seconds.
SCHEDULES = [
    pytest.param([0, 1, 2], Window(), [0.0, 1.0, 2.0], id="as-recorded"),
    pytest.param([10, 11, 14], Window(), [0.0, 1.0, 4.0], id="from-the-first-timestamp"),
    pytest.param([0, 1, 2], Window(time_scale=0.5), [0.0, 0.5, 1.0], id="half-scale-twice-as-fast"),
    pytest.param([0, 60, 120], Window(time_scale=1 / 60), [0.0, 1.0, 2.0], id="an-hour-a-minute"),
    pytest.param(
        [0, 1, 2, 3, 4], Window(start=1, duration=2), [0.0, 1.0], id="window-start-1s-for-2s"
    ),
    pytest.param([0, 1, 100, 101], Window(max_gap=5), [0.0, 1.0, 6.0, 7.0], id="idle-gap-capped"),
    pytest.param(
        [0, 1, 100, 101],
        Window(max_gap=5, time_scale=0.5),
        [0.0, 0.5, 3.0, 3.5],
        id="cap-then-scale",
    ),
    pytest.param(
        [0, 2, 1, 3], Window(), [0.0, 2.0, 1.0, 3.0], id="out-of-order-row-due-in-the-past"
    ),
]


@pytest.mark.parametrize(("times", "window", "dues"), SCHEDULES)
def test_due_times(times: list[float], window: Window, dues: list[float]):
    """Due = (timestamp − first − start − capped idle time) × time_scale."""
    got = list(schedule([TraceRequest(line=i, at=t) for i, t in enumerate(times)], window))
    assert [d.offset for d in got if not isinstance(d, Problem)] == pytest.approx(dues)


@pytest.fixture(scope="module")
def builder() -> PromptBuilder:
    return PromptBuilder(default_tokenizer(), default_corpus(), 0)


def test_prompts_of_hash_blocks_count_exactly_and_share_tokens_where_hash_ids_repeat(builder):
    """Blocks of 64 tokens: [1, 2, 3] and [1, 2, 9] share exactly their first 128 tokens;
    every prompt counts the row's input length, a partial last block included."""
    blocks = BlockPrompts(builder, block_tokens=64, seed=5)
    tokenizer = builder.tokenizer
    a = blocks.joined((1, 2, 3), 192)
    b = blocks.joined((1, 2, 9), 170)
    c = blocks.joined((4,), 100)  # more tokens than blocks: a fresh tail after block 4
    assert [tokenizer.count(t) for t in (a, b, c)] == [192, 170, 100]
    ids_a, ids_b = tokenizer.encode(a), tokenizer.encode(b)
    shared = next(i for i, (x, y) in enumerate(zip(ids_a, ids_b, strict=False)) if x != y)
    assert shared == 128
    assert blocks.joined((1, 2, 3), 192) == a  # the same ids, the same text


def write_trace(tmp_path: Path, lines: list[dict]) -> Path:
    return write(tmp_path / "t.jsonl", "".join(json.dumps(x) + "\n" for x in lines))


def replay_profile(load: dict, tmp_path: Path) -> dict:
    return {
        "name": "r",
        "target": {"base_url": "builtin"},
        "users": [{"name": "u", "tasks": [{"chat": {"model": "builtin"}}]}],
        "load": {"model": "replay", **load},
    }


def problems(data: dict, tmp_path: Path) -> str:
    with pytest.raises(ProfileError) as caught:
        profile_from_dict(data, base_dir=tmp_path)
    return str(caught.value)


def test_replay_profile_reads_its_options(tmp_path: Path):
    """Every option lands in the typed load, paths relative to the profile."""
    write_trace(tmp_path, [{"timestamp": 0, "input_tokens": 5, "session_id": "a"}])
    load = {
        "trace": "t.jsonl",
        "time_scale": "1/4",
        "start": "10s",
        "duration": "1m",
        "max_gap": "5s",
    }
    data = replay_profile({**load, "max_in_flight": 7, "sessions": "after_previous"}, tmp_path)
    profile = profile_from_dict(data, base_dir=tmp_path)
    spec = profile.load.replay
    assert spec is not None
    assert (profile.load.model, profile.load.max_in_flight) == ("replay", 7)
    assert (spec.trace, spec.format, spec.time_scale) == (tmp_path / "t.jsonl", "jsonl", 0.25)
    assert (spec.start, spec.duration, spec.max_gap, spec.sessions) == (10, 60, 5, "after_previous")


@pytest.mark.parametrize(
    ("load", "expected"),
    [
        pytest.param(
            {"trace": "gone.jsonl"}, "load.trace: 'gone.jsonl' not found", id="missing-file"
        ),
        pytest.param(
            {"trace": "t.jsonl", "format": "parquet"},
            "load.format: unknown trace format 'parquet' — use jsonl, csv, mooncake, azure, "
            "burstgpt",
            id="unknown-format",
        ),
        pytest.param(
            {"trace": "t.jsonl", "columns": {"timestamp": "ts"}},
            "t.jsonl:1: columns.timestamp: no 'ts'",
            id="missing-column",
        ),
        pytest.param(
            {"trace": "t.jsonl", "rate": "5/s"}, "load.rate: rate does not apply", id="rate"
        ),
        pytest.param({}, "the replay model needs a trace file", id="no-trace"),
        pytest.param({"trace": "t.jsonl", "time_scale": 0}, "time_scale must be > 0", id="scale-0"),
    ],
)
def test_replay_profile_errors_name_the_field_and_the_fix(
    tmp_path: Path, load: dict, expected: str
):
    """Each mistake is one clear problem (file:line: field: what — fix), never a traceback."""
    write_trace(tmp_path, [{"timestamp": 0, "input_tokens": 5}])
    assert expected in problems(replay_profile(load, tmp_path), tmp_path)


def test_replay_needs_exactly_one_chat_task(tmp_path: Path):
    """Every row is sent through the one chat task; two are ambiguous."""
    write_trace(tmp_path, [{"timestamp": 0, "input_tokens": 5}])
    data = replay_profile({"trace": "t.jsonl"}, tmp_path)
    data["users"][0]["tasks"].append({"chat": {"model": "other"}})
    assert "found 2 chat tasks" in problems(data, tmp_path)
