"""Datasets in profiles and on the quick path (issue #20 item 4): what a loopback server
received equals the dataset's rows — in file order for ``sequential``, every row once per
pass for ``shuffle``, the same draws for the same seed — with per-row output lengths, length
filters, ShareGPT conversations replayed turn by turn, and clear profile errors for a
missing file or field. Small datasets are written by each test; none is downloaded."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from llmserver import ANSWER, ModelServer
from support import chat_profile, run_async

import loadgen
from loadgen.cli.commands import main
from loadgen.core.bpe import default_tokenizer
from loadgen.core.errors import ProfileError
from loadgen.engine.prompting import Prompts

ROWS = [f"question number {i}: {' '.join(['word'] * i)}" for i in range(12)]
TOKENS = 4


@pytest.fixture(scope="module")
def server() -> Iterator[ModelServer]:
    with ModelServer(tokens=TOKENS) as s:
        yield s


@pytest.fixture
def fresh(server: ModelServer) -> ModelServer:
    server.received.clear()
    return server


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def profile(base_url: str, dataset: object, duration: str = "0.5s", **chat: object) -> dict:
    data = chat_profile(base_url, users=1, duration=duration)
    data["users"][0]["tasks"] = [{"chat": {"model": "m", "dataset": dataset, **chat}}]
    return data


def run(data: dict) -> loadgen.Result:
    return run_async(loadgen.run(loadgen.profile_from_dict(data)))


def sent(server: ModelServer) -> list[str]:
    """The last user message of every chat request, in the order they came."""
    return [b["messages"][-1]["content"] for b in server.bodies()]


def test_sequential_jsonl_sends_the_rows_in_file_order_with_their_output_lengths(fresh, tmp_path):
    """One VU, sequential: request i carries row i mod n; a row's max_tokens is asked
    exactly (max_tokens, min_tokens, ignore_eos); a row without one gets output_tokens."""
    rows = [
        {"prompt": text, "max_tokens": 5 + i} if i % 2 else {"prompt": text}
        for i, text in enumerate(ROWS)
    ]
    path = write_jsonl(tmp_path / "prompts.jsonl", rows)
    dataset = {"path": str(path), "sample": "sequential"}
    result = run(profile(fresh.url, dataset, duration="1.5s", output_tokens=3))
    bodies = fresh.bodies()
    assert len(bodies) == result.requests > len(ROWS)  # wrapped round at least once
    assert result.errors == {}
    for i, body in enumerate(bodies):
        assert body["messages"] == [{"role": "user", "content": ROWS[i % len(ROWS)]}]
        want = 5 + i % len(ROWS) if i % len(ROWS) % 2 else 3
        assert (body["max_tokens"], body["min_tokens"], body["ignore_eos"]) == (want, want, True)


def test_csv_columns_named_in_the_profile(fresh, tmp_path):
    """A CSV whose prompt holds commas, quotes and a line break; the prompt and output
    columns are named; a cell left empty asks no output length."""
    path = tmp_path / "prompts.csv"
    texts = ['a, b and "c"', "two\nlines", "plain"]
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "question", "answer_len"])
        writer.writerows([[i, t, "" if i == 2 else 10 * (i + 1)] for i, t in enumerate(texts)])
    dataset = {
        "path": str(path),
        "prompt": "question",
        "output": "answer_len",
        "sample": "sequential",
    }
    run(profile(fresh.url, dataset, exact_output=False))
    bodies = fresh.bodies()
    assert [b["messages"][-1]["content"] for b in bodies[:3]] == texts
    assert [b.get("max_tokens") for b in bodies[:3]] == [10, 20, None]
    assert "min_tokens" not in bodies[0]


def test_shuffle_sends_every_row_once_per_pass(fresh, tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"text": t} for t in ROWS])
    run(profile(fresh.url, {"path": str(path), "sample": "shuffle", "seed": 3}, duration="1.5s"))
    got = sent(fresh)
    n = len(ROWS)
    assert len(got) >= 2 * n
    assert sorted(got[:n]) == sorted(ROWS)
    assert sorted(got[n : 2 * n]) == sorted(ROWS)
    assert got[:n] != ROWS  # shuffled, not file order (a 1 in 12! chance to fail)


def test_the_same_seed_draws_the_same_rows(server, tmp_path):
    """random (with replacement): two runs with seed 5 send the same sequence; seed 6 not."""
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": t} for t in ROWS])
    runs = []
    for seed in (5, 5, 6):
        server.received.clear()
        run(
            profile(
                server.url, {"path": str(path), "sample": "random", "seed": seed}, duration="1s"
            )
        )
        runs.append(sent(server))
    k = min(len(r) for r in runs)
    assert k >= 10
    assert runs[0][:k] == runs[1][:k]
    assert runs[0][:k] != runs[2][:k]
    expected = random.Random(5)  # Draws: uniform over the entries, from the seed
    assert runs[0][:k] == [ROWS[expected.randrange(len(ROWS))] for _ in range(k)]


def test_length_filters_keep_only_prompts_within_the_token_bounds(fresh, tmp_path):
    tokenizer = default_tokenizer()
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": t} for t in ROWS])
    counts = {t: tokenizer.count(t) for t in ROWS}
    low, high = sorted(counts.values())[3], sorted(counts.values())[8]
    dataset = {"path": str(path), "min_input_tokens": low, "max_input_tokens": high}
    run(profile(fresh.url, dataset))
    got = set(sent(fresh))
    assert got == {t for t, n in counts.items() if low <= n <= high}


def test_sharegpt_conversations_replay_the_human_turns_with_the_servers_answers(fresh, tmp_path):
    """Turn 2 carries turn 1 and the server's own answer (not the recorded gpt text); each
    turn asks for as many tokens as its recorded answer had; the system turn opens."""
    tokenizer = default_tokenizer()
    recorded = ["a recorded answer of several tokens", "short one"]
    chats = [
        {
            "id": "c1",
            "conversations": [
                {"from": "system", "value": "You are terse."},
                {"from": "human", "value": "hello there"},
                {"from": "gpt", "value": recorded[0]},
                {"from": "human", "value": "and then?"},
                {"from": "gpt", "value": recorded[1]},
            ],
        }
    ]
    path = tmp_path / "chats.json"
    path.write_text(json.dumps(chats, indent=1))
    run(profile(fresh.url, {"path": str(path)}, exact_output=False))
    first, second = fresh.bodies()[:2]
    answer = "".join(ANSWER[:TOKENS])
    assert first["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "hello there"},
    ]
    assert second["messages"] == [
        *first["messages"],
        {"role": "assistant", "content": answer},
        {"role": "user", "content": "and then?"},
    ]
    assert first["max_tokens"] == tokenizer.count(recorded[0])
    assert second["max_tokens"] == tokenizer.count(recorded[1])


def test_a_drawn_row_carries_its_token_counts(tmp_path):
    """requested_input of a dataset turn is loadgen's count of its text (the system
    prompt's tokens with the first turn); the output length is the row's."""
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "one two three", "max_tokens": 9}])
    data = profile("http://127.0.0.1:9", {"path": str(path)})
    prof = loadgen.profile_from_dict(data)
    prompts = Prompts(prof, seed=1)
    try:
        chat = prof.users[0].tasks[0].chat
        todo = prompts.row(chat, random.Random(1))
    finally:
        prompts.close()
    assert [(t.text, t.output_tokens) for t in todo.turns] == [("one two three", 9)]
    assert todo.turns[0].input_tokens == default_tokenizer().count("one two three")


def test_the_engine_reads_a_dataset_by_its_index_not_whole(tmp_path):
    """Opening a 24 MB dataset for a run and drawing from it allocates a small fraction of
    it: the offset index (8 bytes a row), a read buffer and one row at a time (the 1 GB
    claim is benchmarks/dataset_memory.py's; see the next test)."""
    row = json.dumps({"prompt": "x" * 1000}) + "\n"
    path = tmp_path / "big.jsonl"
    path.write_text(row * 24_000)
    prof = loadgen.profile_from_dict(profile("http://127.0.0.1:9", {"path": str(path)}))
    default_tokenizer().count("warm")  # loaded once per process, whatever the dataset
    tracemalloc.start()
    try:
        prompts = Prompts(prof, seed=1)
        chat = prof.users[0].tasks[0].chat
        for _ in range(200):
            prompts.row(chat, random.Random(1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        prompts.close()
    assert path.stat().st_size > 24_000_000
    assert peak < 4_000_000


def test_the_memory_benchmark_runs_and_meets_its_goal_at_a_small_size():
    """benchmarks/dataset_memory.py (the issue's 1 GB figure at --mb 1024) works and meets
    the < 150 MiB goal at 8 MiB; the suite never writes a gigabyte."""
    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "dataset_memory.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--mb", "8", "--draws", "2000"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "goal < 150 MiB: met" in done.stdout


@pytest.mark.parametrize(
    ("dataset", "field", "said"),
    [
        ({"path": "nowhere.jsonl"}, "dataset.path", "not found"),
        ({"path": "{csv}", "prompt": "query"}, "dataset.prompt", "has no column 'query'"),
        ({"path": "{jsonl}", "prompt": "query"}, "dataset", "query: missing"),
        ({"path": "{jsonl}", "sample": "often"}, "dataset.sample", "unknown sample mode"),
        ({"path": "{jsonl}", "format": "xml"}, "dataset.format", "unknown format"),
        ({"path": "{jsonl}", "min_input_tokens": 9, "max_input_tokens": 3}, "min_input", "> max"),
        ({"path": "{bad}"}, "dataset", "bad.jsonl:2: not valid JSON"),
    ],
)
def test_a_wrong_dataset_is_a_profile_error_naming_the_field_and_fix(
    tmp_path, dataset, field, said
):
    files = {
        "csv": tmp_path / "p.csv",
        "jsonl": write_jsonl(tmp_path / "p.jsonl", [{"prompt": "hi"}]),
        "bad": tmp_path / "bad.jsonl",
    }
    files["csv"].write_text("id,question\n1,hi\n")
    files["bad"].write_text('{"prompt": "ok"}\n{"prompt": \n')
    dataset = {k: v.format(**files) if isinstance(v, str) else v for k, v in dataset.items()}
    chat = profile("http://127.0.0.1:9", dataset)
    with pytest.raises(ProfileError) as caught:
        loadgen.profile_from_dict(chat)
    text = str(caught.value)
    assert field in text
    assert said in text
    assert " — " in text  # every problem says how to fix it


def test_a_dataset_conflicts_with_another_prompt_source(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "hi"}])
    with pytest.raises(ProfileError, match="conflicts with dataset"):
        loadgen.profile_from_dict(profile("http://127.0.0.1:9", str(path), input_tokens=10))


def test_the_quick_path_takes_a_dataset(fresh, tmp_path, capsys):
    """--dataset FILE (--dataset-sample sequential) sends the file's rows, in order."""
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": t} for t in ROWS[:3]])
    argv = ["run", "--url", fresh.url, "--model", "m", "--dataset", str(path)]
    argv += ["--dataset-sample", "sequential", "--users", "1", "--duration", "1s"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    assert sent(fresh)[:3] == ROWS[:3]
    assert main([*argv, "--print-profile"]) == 0
    printed = capsys.readouterr().out
    assert "dataset:" in printed
    assert "prompt:" not in printed.split("dataset:")[1]  # the file's rows, not a prompt


def test_the_builtin_target_answers_each_row_with_its_length(tmp_path):
    """Against the built-in target (chat completions): its truth log, in arrival order, has
    each row's prompt length (the shipped tokenizer's count, plus the 3 tokens its chat
    template adds) and exactly the row's max_tokens as output, row after row."""
    tokenizer = default_tokenizer()
    rows = [{"prompt": text, "max_tokens": 2 + i} for i, text in enumerate(ROWS[:6])]
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    data = profile("builtin", {"path": str(path), "sample": "sequential"}, model="builtin")
    data["target"]["builtin"] = {"timing": {"ttft": "1ms", "itl": "0ms"}}
    truth = tmp_path / "truth.jsonl"
    result = run_async(loadgen.run(loadgen.profile_from_dict(data), truth=truth))
    lines = sorted(map(json.loads, truth.read_text().splitlines()), key=lambda t: t["arrival"])
    assert len(lines) == result.requests > len(rows)
    assert result.errors == {}
    for i, line in enumerate(lines):
        row = rows[i % len(rows)]
        assert line["prompt_tokens"] == tokenizer.count(row["prompt"]) + 3
        assert line["completion_tokens"] == row["max_tokens"]
    tokens = result.metrics["output_tokens"]
    assert (tokens.min, tokens.max) == (2, 7)


def test_a_run_that_cannot_start_leaves_no_dataset_file_open(tmp_path, recwarn):
    """The dataset is opened before the target is reached; an unreachable target is a start
    error, and the file is closed (no ResourceWarning, which the suite turns into errors)."""
    import gc

    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "hi"}])
    data = profile("http://127.0.0.1:9", {"path": str(path)})
    data["target"]["connect_timeout"] = "1s"
    with pytest.raises(loadgen.StartError):
        run_async(loadgen.run(loadgen.profile_from_dict(data)))
    gc.collect()
    assert not [w for w in recwarn if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("sample", ["sequential", "shuffle"])
def test_the_parts_of_a_distributed_run_do_not_send_the_same_rows_in_step(tmp_path, sample):
    """Part 2 of 2 starts sequential half way through the file and shuffles with its own
    seed; each part alone still covers every row once per pass."""
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": t} for t in ROWS])
    prof = loadgen.profile_from_dict(
        profile("http://127.0.0.1:9", {"path": str(path), "sample": sample})
    )
    chat = prof.users[0].tasks[0].chat
    orders = []
    for part in (0, 1):
        prompts = Prompts(prof, seed=4, segment=(part, 2))
        try:
            orders.append([prompts.row(chat, random.Random(1)).turns[0].text for _ in ROWS])
        finally:
            prompts.close()
    assert sorted(orders[0]) == sorted(orders[1]) == sorted(ROWS)
    assert orders[0] != orders[1]
    if sample == "sequential":
        assert orders[0] == ROWS
        assert orders[1] == ROWS[6:] + ROWS[:6]
