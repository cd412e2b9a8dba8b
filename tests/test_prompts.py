"""Synthetic prompts of an exact token count: the default tokenizer and tokenizer.json files
trained here (byte-level BPE, Unigram/Metaspace, a Llama-2-style BPE), with no download
(issue 20.2)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadgen.core.bpe import default_tokenizer
from loadgen.core.prompts import PromptBuilder, default_corpus

tokenizers = pytest.importorskip("tokenizers")
from tokenizers import models, pre_tokenizers, trainers  # noqa: E402

from loadgen.edge.hftokenizer import HFTokenizer  # noqa: E402

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _train(model, pre, trainer):
    tok = tokenizers.Tokenizer(model)
    tok.pre_tokenizer = pre
    tok.train_from_iterator(default_corpus().splitlines(keepends=True), trainer)
    return tok


def _byte_level():
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=1500, initial_alphabet=alphabet, show_progress=False)
    return _train(models.BPE(), pre_tokenizers.ByteLevel(add_prefix_space=False), trainer)


def _unigram():
    trainer = trainers.UnigramTrainer(
        vocab_size=1500, unk_token="<unk>", special_tokens=["<unk>"], show_progress=False
    )
    return _train(models.Unigram(), pre_tokenizers.Metaspace(), trainer)


def _llama2_style():
    """SentencePiece BPE as Llama 2 ships it: no pre-tokenizer, a normalizer that prepends
    '▁' to the text and turns spaces into '▁' (so a leading space costs a token)."""
    trainer = trainers.BpeTrainer(vocab_size=1500, show_progress=False)
    trained = _train(models.BPE(), pre_tokenizers.Metaspace(prepend_scheme="first"), trainer)
    config = json.loads(trained.to_str())
    config["pre_tokenizer"] = None
    config["normalizer"] = {
        "type": "Sequence",
        "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        ],
    }
    return tokenizers.Tokenizer.from_str(json.dumps(config))


@pytest.fixture(scope="module", params=["default", "byte-level", "unigram", "llama2-style"])
def builder(request):
    if request.param == "default":
        tokenizer = default_tokenizer()
    else:
        make = {"byte-level": _byte_level, "unigram": _unigram, "llama2-style": _llama2_style}
        tokenizer = HFTokenizer(make[request.param](), request.param)
    return PromptBuilder(tokenizer, default_corpus(), seed=3)


@SETTINGS
@given(n=st.integers(1, 3000) | st.integers(1, 12), seed=st.integers(0, 2**32))
def test_a_prompt_has_exactly_the_tokens_asked_for(builder, n, seed):
    """Any n, any offset: the tokenizer counts exactly n."""
    prompt = builder.build(n, random.Random(seed))
    assert builder.tokenizer.count(prompt) == n


@SETTINGS
@given(n=st.integers(40, 2500), seed=st.integers(0, 2**32), which=st.integers(0, 2))
def test_a_prefixed_prompt_is_exact_and_starts_with_the_prefix_tokens(builder, n, seed, which):
    """prefix + body counts n at the join, and its first tokens are the prefix's own."""
    prefixes = builder.prefixes(40, 3, weights=[1, 1, 1])
    rng = random.Random(seed)
    prompt = builder.build(n, rng, prefixes)
    tok = builder.tokenizer
    assert tok.count(prompt) == n
    (prefix,) = [p for p in prefixes.texts if prompt.startswith(p)]
    assert tok.encode(prompt)[:40] == tok.encode(prefix)
    assert tok.count(prefix) == 40


def test_a_prompt_longer_than_the_corpus_is_still_exact(builder):
    """The corpus repeats for a long-context prompt (about twice the shipped corpus)."""
    n = 150_000
    assert builder.tokenizer.count(builder.build(n, random.Random(1))) == n


def test_the_same_seed_builds_the_same_prompts_and_prefixes():
    """Prompts come from the rng passed in; prefixes from the builder's seed."""
    one = PromptBuilder(default_tokenizer(), default_corpus(), seed=9)
    two = PromptBuilder(default_tokenizer(), default_corpus(), seed=9)
    assert one.prefixes(100, 4) == two.prefixes(100, 4)
    assert one.prefixes(100, 4) != PromptBuilder(default_tokenizer(), default_corpus(), 8).prefixes(
        100, 4
    )
    a, b = random.Random(5), random.Random(5)
    assert [one.build(300, a) for _ in range(20)] == [two.build(300, b) for _ in range(20)]


def test_prompts_differ_from_their_first_words():
    """No two of 2,000 prompts share their first 8 tokens, so a server's prefix cache only
    ever hits the prefixes a profile asks for."""
    tok = default_tokenizer()
    builder = PromptBuilder(tok, default_corpus())
    rng = random.Random(0)
    heads = {tuple(tok.encode(builder.build(500, rng))[:8]) for _ in range(2000)}
    assert len(heads) == 2000


def test_prefixes_are_distinct_and_drawn_by_weight():
    """Each prefix is its own text; weights 1:3 give a quarter of prompts the first."""
    builder = PromptBuilder(default_tokenizer(), default_corpus())
    prefixes = builder.prefixes(1000, 2, weights=[1, 3])
    assert len(set(prefixes.texts)) == 2
    rng = random.Random(2)
    firsts = sum(
        builder.build(1200, rng, prefixes).startswith(prefixes.texts[0]) for _ in range(4000)
    )
    assert firsts / 4000 == pytest.approx(0.25, abs=0.03)


def test_a_prompt_shorter_than_its_prefix_is_an_error_and_equal_is_the_prefix():
    builder = PromptBuilder(default_tokenizer(), default_corpus())
    prefixes = builder.prefixes(100, 1)
    with pytest.raises(ValueError, match="99 tokens is fewer than the 100-token prefix"):
        builder.build(99, random.Random(0), prefixes)
    assert builder.build(100, random.Random(0), prefixes) == prefixes.texts[0]


def test_bad_prefix_arguments_are_value_errors():
    builder = PromptBuilder(default_tokenizer(), default_corpus())
    with pytest.raises(ValueError, match="give 2 weights"):
        builder.prefixes(10, 2, weights=[1])
    with pytest.raises(ValueError, match="at least 1"):
        builder.prefixes(10, 0)


def test_a_corpus_with_no_word_to_start_at_is_refused():
    with pytest.raises(ValueError, match="no word"):
        PromptBuilder(default_tokenizer(), "12345 67890\n")


def test_prompts_read_as_the_corpus_prose():
    """Most of a prompt is consecutive corpus text, not filler words."""
    builder = PromptBuilder(default_tokenizer(), default_corpus(), distinct=0)
    prompt = builder.build(2000, random.Random(4))
    assert prompt[: len(prompt) * 9 // 10] in default_corpus()
