"""Prompt datasets (issue #20.4): each format's entries, streamed reads, seeded sampling,
length filters, and errors that name the file and the line."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from loadgen.core.datasets import (
    Dataset,
    DatasetError,
    EntryError,
    Fields,
    Lengths,
    guess_format,
)
from loadgen.core.datasets import index as index_module
from loadgen.core.errors import ProfileError


def _jsonl(tmp_path: Path, rows: list[object], name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


SHAREGPT = [
    {
        "id": "a",
        "conversations": [
            {"from": "system", "value": "You are terse."},
            {"from": "human", "value": 'What is [this] {thing}? "quoted" \\ done'},
            {"from": "gpt", "value": "A thing."},
            {"from": "human", "value": "And then?"},
            {"from": "gpt", "value": "Then more."},
            {"from": "human", "value": "Thanks"},
        ],
    },
    {
        "id": "b",
        "conversations": [
            {"from": "gpt", "value": "An opening line nobody asked for."},
            {"from": "human", "value": "Hi"},
            {"from": "gpt", "value": "Hello there, friend"},
        ],
    },
]


def test_jsonl_rows_give_prompts_and_output_lengths(tmp_path: Path) -> None:
    """Each non-blank line is an entry; the prompt and the output length come from the
    default fields, whichever of their names the row uses."""
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"prompt": "one", "max_tokens": 5}\n\n  \n{"text": "two", "output_len": "7"}\n'
        '{"question": "three", "output_tokens": null}\n{"messages": ["four", "five"]}',
        encoding="utf-8",
    )
    with Dataset(path) as data:
        got = [data.read(i) for i in range(len(data))]
    assert [c.turns for c in got] == [("one",), ("two",), ("three",), ("four", "five")]
    assert [c.max_tokens for c in got] == [5, 7, None, None]
    assert [c.entry for c in got] == [0, 1, 2, 3]


def test_named_fields_override_the_defaults(tmp_path: Path) -> None:
    """A mapping names the prompt and output fields; output "" ignores output lengths."""
    path = _jsonl(tmp_path, [{"q": "x", "max_tokens": 3, "n": 9}])
    with Dataset(path, fields=Fields(prompt="q", output="n")) as data:
        assert (data.read(0).turns, data.read(0).max_tokens) == (("x",), 9)
    with Dataset(path, fields=Fields(prompt="q", output="")) as data:
        assert data.read(0).max_tokens is None


def test_openai_messages_keep_the_system_prompt_and_reply_lengths(tmp_path: Path) -> None:
    """A row of OpenAI messages replays the user turns; the assistant's become lengths."""
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "abcd"},
        {"role": "user", "content": "u2"},
    ]
    with Dataset(_jsonl(tmp_path, [{"messages": messages}])) as data:
        got = data.read(0)
    assert (got.turns, got.system, got.reply_chars) == (("u1", "u2"), "sys", (4, None))


def test_csv_fields_may_hold_quoted_commas_newlines_and_quotes(tmp_path: Path) -> None:
    """A line break inside a quoted field does not end the record; the header names the
    columns; an empty output field is no output length."""
    path = tmp_path / "d.csv"
    path.write_bytes(
        b'id,prompt,max_tokens\r\n1,"a, b",3\r\n'
        b'2,"multi\nline ""quoted"", text",\r\n\r\n3,plain,7\r\n'
    )
    with Dataset(path) as data:
        assert data.header == ["id", "prompt", "max_tokens"]
        got = [data.read(i) for i in range(len(data))]
    assert [c.turns[0] for c in got] == ["a, b", 'multi\nline "quoted", text', "plain"]
    assert [c.max_tokens for c in got] == [3, None, 7]


def test_tsv_uses_a_tab(tmp_path: Path) -> None:
    """A .tsv file is CSV with a tab between fields."""
    path = tmp_path / "d.tsv"
    path.write_text("prompt\tother\nhello, world\tx\n", encoding="utf-8")
    with Dataset(path) as data:
        assert data.read(0).turns == ("hello, world",)


def test_sharegpt_replays_human_turns_and_keeps_gpt_turns_as_lengths(tmp_path: Path) -> None:
    """Human turns in order, the system turn apart, each gpt reply's length beside the
    human turn it answers (tokens too when a counter is given); a leading gpt turn answers
    nothing sent and is dropped. Brackets and escapes inside strings do not confuse the
    scan."""
    path = tmp_path / "chats.json"
    path.write_text(json.dumps(SHAREGPT, indent=2), encoding="utf-8")
    with Dataset(path, count_tokens=lambda text: len(text.split())) as data:
        first, second = data.read(0), data.read(1)
    assert data.format == "sharegpt"
    assert first.turns == ('What is [this] {thing}? "quoted" \\ done', "And then?", "Thanks")
    assert first.system == "You are terse."
    assert first.reply_chars == (8, 10, None)
    assert first.reply_tokens == (2, 2, None)
    assert [first.max_tokens_for(turn) for turn in range(3)] == [2, 2, None]
    assert (second.turns, second.reply_chars, second.reply_tokens) == (("Hi",), (19,), (3,))


def test_sharegpt_spans_survive_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a 7-byte read size every string and escape straddles a chunk; the entries found
    are the same as with one read."""
    rows = [
        {"conversations": [{"from": "human", "value": f'q{i} [\\"{"x" * i}\\"]'}]}
        for i in range(40)
    ]
    path = tmp_path / "chats.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    monkeypatch.setattr(index_module, "CHUNK", 7)
    with Dataset(path) as data:
        got = [data.read(i).turns[0] for i in range(len(data))]
    assert got == [row["conversations"][0]["value"] for row in rows]


def test_jsonl_and_csv_survive_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records that straddle reads, blank lines and quoted newlines split across chunks."""
    monkeypatch.setattr(index_module, "CHUNK", 5)
    lines = [f"prompt {i}, with\nbreaks" for i in range(30)]
    csv_path = tmp_path / "d.csv"
    csv_path.write_text("prompt\n" + "".join(f'"{t}"\n\n' for t in lines), encoding="utf-8")
    jsonl_path = _jsonl(tmp_path, [{"prompt": t} for t in lines])
    for path in (csv_path, jsonl_path):
        with Dataset(path) as data:
            assert [data.read(i).turns[0] for i in range(len(data))] == lines


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.jsonl", "jsonl"), ("a.NDJSON", "jsonl"), ("a.csv", "csv"), ("a.json", "sharegpt")],
    ids=["jsonl", "ndjson in capitals", "csv", "a json array is ShareGPT"],
)
def test_the_format_is_guessed_from_the_extension(name: str, expected: str) -> None:
    """The extension says the format when none is given."""
    assert guess_format(name) == expected


def test_skip_and_max_rows_bound_the_entries(tmp_path: Path) -> None:
    """skip drops the first entries, max_rows keeps at most that many after them."""
    path = _jsonl(tmp_path, [{"prompt": str(i)} for i in range(10)])
    with Dataset(path, skip=3, max_rows=4) as data:
        assert [data.read(i).turns[0] for i in range(len(data))] == ["3", "4", "5", "6"]
    csv_path = tmp_path / "d.csv"
    csv_path.write_text("prompt\n" + "".join(f"{i}\n" for i in range(10)), encoding="utf-8")
    with Dataset(csv_path, skip=8, max_rows=5) as data:
        assert [data.read(i).turns[0] for i in range(len(data))] == ["8", "9"]


def _entries(tmp_path: Path, count: int) -> Dataset:
    return Dataset(_jsonl(tmp_path, [{"prompt": "x" * (i + 1)} for i in range(count)]))


@pytest.mark.parametrize("mode", ["sequential", "random", "shuffle"])
def test_the_same_seed_gives_the_same_sequence(tmp_path: Path, mode: str) -> None:
    """Two streams with one seed agree draw for draw; another seed differs (but not in
    file order, which has no seed)."""
    with _entries(tmp_path, 50) as data:
        first = [next(d).entry for d in [data.draws(mode, seed=11)] for _ in range(200)]
        again = [next(d).entry for d in [data.draws(mode, seed=11)] for _ in range(200)]
        other = [next(d).entry for d in [data.draws(mode, seed=12)] for _ in range(200)]
    assert first == again
    assert (first == other) == (mode == "sequential")


def test_sequential_wraps_around_in_file_order(tmp_path: Path) -> None:
    """File order, then the first entry again; epochs count the passes."""
    with _entries(tmp_path, 3) as data:
        draws = data.draws("sequential")
        assert [next(draws).entry for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]
        assert draws.epoch == 2


def test_shuffle_draws_every_entry_once_per_epoch(tmp_path: Path) -> None:
    """Without replacement: each epoch is a permutation, and epochs differ."""
    with _entries(tmp_path, 97) as data:
        draws = data.draws("shuffle", seed=3)
        epochs = [[next(draws).entry for _ in range(97)] for _ in range(3)]
    assert all(sorted(epoch) == list(range(97)) for epoch in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    assert draws.epoch == 3


def test_random_draws_with_replacement(tmp_path: Path) -> None:
    """With replacement: some entry repeats within as many draws as there are entries."""
    with _entries(tmp_path, 50) as data:
        draws = data.draws("random", seed=5)
        counts = Counter(next(draws).entry for _ in range(50))
    assert max(counts.values()) > 1


def test_length_filters_skip_and_count_entries_that_fail(tmp_path: Path) -> None:
    """Entries outside min..max are skipped when drawn and counted; the rest come in
    their order."""
    with _entries(tmp_path, 10) as data:  # prompt i has i + 1 characters
        draws = data.draws("sequential", lengths=Lengths(min=3, max=5))
        got = [len(next(draws).turns[0]) for _ in range(6)]
    assert got == [3, 4, 5, 3, 4, 5]
    assert draws.skipped == 2 + 5 + 2  # two short, five long, the two short again (bitmap)
    assert draws.drawn == 6


def test_a_token_filter_uses_the_counter(tmp_path: Path) -> None:
    """With a counter the bounds are in tokens, over all the user turns together."""
    path = _jsonl(tmp_path, [{"prompt": ["a b", "c"]}, {"prompt": "a b c d e"}])
    with Dataset(path) as data:
        words = Lengths(max=3, count=lambda text: len(text.split()))
        draws = data.draws("random", seed=1, lengths=words)
        assert {next(draws).entry for _ in range(20)} == {0}


def test_an_entry_is_counted_once_however_often_it_is_drawn(tmp_path: Path) -> None:
    """A tokenizer's count is costly: the filter and ``size`` share one count per entry."""
    path = _jsonl(tmp_path, [{"prompt": "a b"}, {"prompt": ["c", "d e f"]}, {"prompt": "g"}])
    counted: Counter[str] = Counter()

    def count(text: str) -> int:
        counted[text] += 1
        return len(text.split())

    with Dataset(path) as data:
        draws = data.draws("sequential", lengths=Lengths(max=3, count=count))
        sizes = [draws.size(next(draws)) for _ in range(9)]
    assert sizes == [2, 1] * 4 + [2]  # entry 1 (4 words) filtered out, entries 0 and 2 kept
    assert counted == {"a b": 1, "c": 1, "d e f": 1, "g": 1}


def test_a_filter_no_entry_passes_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """Once every entry has failed, drawing raises, in every mode."""
    with _entries(tmp_path, 20) as data:
        for mode in ("sequential", "random", "shuffle"):
            draws = data.draws(mode, seed=1, lengths=Lengths(min=1000))
            with pytest.raises(DatasetError, match="no entry's prompt is within"):
                next(draws)


def test_a_missing_file_names_the_path_and_is_a_profile_error(tmp_path: Path) -> None:
    """The error a profile layer turns into a problem: a ProfileError and a ValueError."""
    with pytest.raises(DatasetError, match="not found") as caught:
        Dataset(tmp_path / "missing.jsonl")
    assert isinstance(caught.value, ProfileError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.problem.file.endswith("missing.jsonl")


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ('{"prompt": "ok"}\n\n{"prompt": "x",}\n', 3, "", "not valid JSON"),
        ('{"prompt": "ok"}\n{"answer": "x"}\n', 2, "prompt", "missing"),
        ('{"prompt": "ok"}\n{"prompt": ""}\n', 2, "prompt", "empty"),
        ('{"prompt": "ok"}\n{"prompt": "x", "max_tokens": -1}\n', 2, "max_tokens", "> 0"),
        ('{"prompt": "ok"}\n{"prompt": [{"from": "gpt", "value": "y"}]}\n', 2, "prompt", "user"),
        ('{"prompt": "ok"}\n["prompt"]\n', 2, "", "expected an object"),
    ],
    ids=[
        "bad JSON on line 3, after a blank line",
        "a row without any prompt field",
        "an empty prompt",
        "a negative output length",
        "a conversation without a human turn",
        "a row that is not an object",
    ],
)
def test_a_bad_entry_names_its_line(
    tmp_path: Path, text: str, line: int, field: str, words: str
) -> None:
    """The error says file:line: field: what — fix, for the entry as it is drawn."""
    path = tmp_path / "d.jsonl"
    path.write_text(text, encoding="utf-8")
    with Dataset(path) as data:
        data.read(0)
        with pytest.raises(EntryError, match=words) as caught:
            data.read(1)
        assert [exc.entry for exc in data.check()] == [1]
    problem = caught.value.problem
    assert (problem.line, problem.field, caught.value.entry) == (line, field, 1)
    assert str(problem).startswith(f"{path}:{line}:")
    assert " — " in str(problem)


def test_a_sharegpt_entry_error_names_its_line_and_entry(tmp_path: Path) -> None:
    """The line is where the bad part of the element is; the message says which entry."""
    path = tmp_path / "c.json"
    path.write_text(
        '[\n{"conversations": [{"from": "human", "value": "ok"}]},\n'
        '{"conversations":\n  [{"from": "human", "value": 3}]}\n]',
        encoding="utf-8",
    )
    with Dataset(path) as data, pytest.raises(EntryError, match=r"entry 1 of the array") as caught:
        data.read(1)
    assert caught.value.problem.line == 3


@pytest.mark.parametrize(
    ("name", "text", "words", "line"),
    [
        ("e.jsonl", "\n  \n", "no entries", None),
        ("e.csv", "prompt\n", "no entries", None),
        ("e.json", "[]", "no entries", None),
        ("o.json", '\n{"conversations": []}', "found an object", 2),
        ("u.json", '[{"conversations": []}', "not closed", 1),
        ("h.csv", ",\n1,2\n", "name the columns", 1),
        ("x.txt", "prompt", "cannot tell the format", None),
    ],
    ids=[
        "only blank lines",
        "a CSV header and no row",
        "an empty JSON array",
        "a ShareGPT file that is one object (JSONL?)",
        "an array the file ends inside",
        "a CSV header without names",
        "an extension that says no format",
    ],
)
def test_a_file_that_is_no_dataset_is_a_clear_error(
    tmp_path: Path, name: str, text: str, words: str, line: int | None
) -> None:
    """Opening fails with what is wrong and the fix, never an empty stream."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError, match=words) as caught:
        Dataset(path)
    assert caught.value.problem.line == line
    assert caught.value.problem.fix


def test_a_quote_inside_an_unquoted_csv_field_is_reported(tmp_path: Path) -> None:
    """RFC 4180 quotes only whole fields; a stray quote is named with its line."""
    path = tmp_path / "d.csv"
    path.write_text('prompt,n\nok,1\na 5" screen,2\nlast,3\n', encoding="utf-8")
    with Dataset(path) as data, pytest.raises(EntryError, match="unquoted field") as caught:
        data.read(1)
    assert caught.value.problem.line == 3


def test_skipping_every_entry_is_an_error(tmp_path: Path) -> None:
    """skip past the end leaves nothing to draw: said at open, not at the first draw."""
    with pytest.raises(DatasetError, match="all 3 entries skipped"):
        Dataset(_jsonl(tmp_path, [{"prompt": "x"}] * 3), skip=3)


def test_an_unknown_sampling_mode_is_an_error(tmp_path: Path) -> None:
    """The mode names the choices."""
    with _entries(tmp_path, 2) as data, pytest.raises(DatasetError, match="shuffle"):
        data.draws("round-robin")


def test_the_index_is_bounded_and_the_file_is_not_loaded(tmp_path: Path) -> None:
    """A ~50 MB file costs under 16 bytes an entry of index (and draws 4 more in shuffle),
    and reads return the right entry from anywhere in the file."""
    path = tmp_path / "big.jsonl"
    rng = random.Random(0)
    filler = "".join(rng.choice("abcdefgh ") for _ in range(1000))
    count = 50_000
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(json.dumps({"prompt": f"{i} {filler}", "max_tokens": i % 500 + 1}) + "\n")
    with Dataset(path) as data:
        assert len(data) == count
        assert data.index_bytes < 16 * count
        draws = data.draws("shuffle", seed=2)
        for _ in range(2000):
            got = next(draws)
            assert got.turns[0].startswith(f"{got.entry} ")
            assert got.max_tokens == got.entry % 500 + 1
