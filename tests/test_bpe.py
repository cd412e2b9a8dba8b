"""loadgen's default tokenizer: the shipped files, and the pure-Python encoder against the
Rust library it must match id for id (issue 20.2)."""

from __future__ import annotations

import json

import pytest
from build_default_tokenizer import DATA, train
from hypothesis import given, settings
from hypothesis import strategies as st

from loadgen.core.bpe import DEFAULT_FILE, BPETokenizer, default_tokenizer

tokenizers = pytest.importorskip("tokenizers")

# ASCII and Unicode whitespace (Python's and Rust's \s disagree on \x1c-\x1f), contractions,
# digits, accents, CJK and emoji (multi-byte), the characters the regex treats specially
TEXT = st.lists(
    st.sampled_from(
        [
            *list("ab zAZ09'sdtmlvre.,!?()\"-\n\t\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000é漢😀"),
            " the",
            " The",
            "'ll",
            "  ",
            "\n\n",
            " 12345",
            "ing",
            "tion",
        ]
    )
    | st.characters(exclude_categories=("Cs",)),  # Rust strings cannot hold lone surrogates
    max_size=40,
).map("".join)


@pytest.fixture(scope="module")
def rust():
    return tokenizers.Tokenizer.from_file(str(DEFAULT_FILE))


def test_the_shipped_tokenizer_is_what_the_build_script_makes():
    """Retraining from the shipped corpus gives the shipped tokenizer.json byte for byte, so
    the file in the package is reproducible (tests/build_default_tokenizer.py)."""
    assert train((DATA / "corpus.txt").read_text()) == DEFAULT_FILE.read_text()


def test_the_shipped_files_are_small_prose_and_a_full_vocabulary():
    """The corpus is ASCII prose under 400 KB; the tokenizer is 8,000 tokens under 500 KB."""
    corpus = (DATA / "corpus.txt").read_bytes()
    assert 100_000 < len(corpus) <= 400_000
    assert corpus.isascii()
    assert b"::=" not in corpus
    assert b">>>" not in corpus
    assert DEFAULT_FILE.stat().st_size <= 500_000
    assert len(json.loads(DEFAULT_FILE.read_text())["model"]["vocab"]) == 8000
    assert (DATA / "corpus-LICENSE.txt").read_text().count("PYTHON SOFTWARE FOUNDATION") >= 1


def test_the_whole_corpus_encodes_to_the_same_ids_as_tokenizers(rust):
    """Every token of the shipped corpus matches the Rust library's encoding."""
    corpus = (DATA / "corpus.txt").read_text()
    ids = default_tokenizer().encode(corpus)
    assert ids == rust.encode(corpus, add_special_tokens=False).ids
    assert default_tokenizer().count(corpus) == len(ids)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_random_text_encodes_like_tokenizers_and_decodes_back(rust, text):
    """Any text, whitespace and multi-byte characters included: same ids as ``tokenizers``,
    and decoding gives the text back."""
    tok = default_tokenizer()
    ids = tok.encode(text)
    assert ids == rust.encode(text, add_special_tokens=False).ids
    assert tok.count(text) == len(ids)
    assert tok.decode(ids) == text


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_cuts_are_pre_token_boundaries_with_running_counts(text):
    """``cuts`` runs from 0 to the end; each slice between cuts counts its difference."""
    tok = default_tokenizer()
    offsets, counts = tok.cuts(text)
    assert offsets[0] == 0
    assert offsets[-1] == len(text)
    assert counts[-1] == tok.count(text)
    assert offsets == sorted(set(offsets))
    for k in range(len(offsets) - 1):
        assert tok.count(text[offsets[k] : offsets[k + 1]]) == counts[k + 1] - counts[k]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        pytest.param(lambda c: c.update(normalizer={"type": "NFC"}), "plain BPE", id="normalizer"),
        pytest.param(
            lambda c: c.update(pre_tokenizer={"type": "ByteLevel", "use_regex": True}),
            r"not Split \+ ByteLevel",
            id="gpt2-regex-with-unicode-classes",
        ),
        pytest.param(
            lambda c: c["pre_tokenizer"]["pretokenizers"][0].update(invert=True),
            "isolated",
            id="inverted-split",
        ),
    ],
)
def test_a_file_of_another_shape_is_refused_with_where_to_go(change, says):
    """The pure reader takes only the shipped shape; others are a ValueError pointing to it."""
    config = json.loads(DEFAULT_FILE.read_text())
    change(config)
    with pytest.raises(ValueError, match=says) as caught:
        BPETokenizer(config)
    assert "loadgen's own tokenizer.json" in str(caught.value)


def test_text_that_is_not_json_is_a_value_error():
    """A broken file is a ValueError naming it, not a JSONDecodeError from deep inside."""
    with pytest.raises(ValueError, match=r"mine\.json: not JSON"):
        BPETokenizer.from_json("{", "mine.json")


def test_merges_written_as_strings_read_like_merges_written_as_pairs():
    """Older tokenizer.json files write merges as "a b"; newer ones as ["a", "b"]."""
    config = json.loads(DEFAULT_FILE.read_text())
    config["model"]["merges"] = [" ".join(m) for m in config["model"]["merges"]]
    text = "Merges read either way give the same ids."
    assert BPETokenizer(config).encode(text) == default_tokenizer().encode(text)


def test_a_lone_surrogate_is_counted_not_raised():
    """JSON may carry "\\ud800"; counting it must not raise mid-run."""
    assert default_tokenizer().count("a\ud800b") >= 3
