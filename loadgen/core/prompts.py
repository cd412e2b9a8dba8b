"""Synthetic prompts of an exact token count, from real-looking text (issue 20.2).

A prompt of ``n`` tokens is: a few random one-token words, then consecutive text of the
corpus from a random word, then one-token words to make up the count. The corpus is cut
once into pieces whose token counts are summed ahead of time (``Tokenizer.cuts``), so a
prompt is a bisection and a string slice: about 5 µs for 2,000 tokens with the default
tokenizer, whatever ``n`` is (benchmarks/prompt_speed.py prints the figure).

Why the random words first: servers cache prompt prefixes (vLLM's automatic prefix
caching), and two prompts cut from the same corpus offset would share a cached prefix the
profile never asked for. Four words drawn from hundreds make a collision negligible; shared
prefixes are asked for explicitly (``prefixes``), and they are the only ones there are.

Exactness: with a tokenizer whose counts add up over its cuts (``Tokenizer.additive``: the
default BPE) the count is exact by construction; the cuts are at pre-token boundaries and
every join in a prompt (prefix → words → corpus text → words) starts a new pre-token. With
any other tokenizer (a SentencePiece ``tokenizer.json``) each prompt is counted once and its
tail adjusted until the count is exact; that costs one encode per prompt, or a few.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from loadgen.core.bpe import Tokenizer

__all__ = ["DEFAULT_CORPUS", "Prefixes", "PromptBuilder", "default_corpus"]

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus.txt"
DISTINCT_WORDS = 4  # random one-token words that open every prompt (see the docstring)
FILLERS = 256  # one-token words kept for openings and tails, the corpus's most frequent
_TRIES = 4  # prompts (from new offsets) tried before giving up, for non-additive tokenizers
_ADJUSTS = 6  # recounts of one prompt while its tail is adjusted


@cache
def default_corpus() -> str:
    """The shipped corpus: prose of Python's reference documentation and loadgen's docs."""
    return DEFAULT_CORPUS.read_text("utf-8")


@dataclass(frozen=True, slots=True)
class Prefixes:
    """Fixed prompt openings of ``tokens`` tokens each, drawn by weight (prefix-cache tests)."""

    tokens: int
    texts: tuple[str, ...]
    weights: tuple[float, ...]

    def pick(self, rng: random.Random) -> int:
        """The index of a prefix, drawn by weight."""
        return rng.choices(range(len(self.texts)), self.weights)[0]


class PromptBuilder:
    """Builds prompts of exactly ``n`` tokens under ``tokenizer`` from ``corpus``.

    Construction cuts and counts the whole corpus once (about 0.1 s for the shipped one);
    build one per tokenizer and share it. ``seed`` fixes the prefixes; each prompt's draws
    come from the ``rng`` passed to ``build``.
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        corpus: str,
        seed: int | str = 0,
        *,
        distinct: int = DISTINCT_WORDS,
    ) -> None:
        self.tokenizer = tokenizer
        self.seed = seed
        self.distinct = distinct
        self._base = corpus
        self._fillers = _one_token_words(tokenizer, corpus)
        self._cut(corpus)
        if not self._starts:
            raise ValueError("the corpus has no word to start a prompt at (' ' + a letter)")
        self._base_tokens = self._counts[-1]

    def build(self, n: int, rng: random.Random, prefixes: Prefixes | None = None) -> str:
        """A prompt of exactly ``n`` tokens; with ``prefixes``, one of them drawn by weight
        followed by ``n - prefixes.tokens`` tokens. ``ValueError`` if ``n`` is smaller than
        the prefix, or if no exact prompt was found (a non-additive tokenizer)."""
        head = ""
        if prefixes is not None:
            if n < prefixes.tokens:
                raise ValueError(f"{n} tokens is fewer than the {prefixes.tokens}-token prefix")
            head = prefixes.texts[prefixes.pick(rng)]
            n -= prefixes.tokens
        if n <= 0:
            return head
        self._ensure(n)
        if self.tokenizer.additive:
            return head + self._body(n, self._starts[rng.randrange(len(self._starts))], rng)
        return self._verified(head, n, prefixes.tokens if prefixes else 0, rng)

    def prefixes(self, tokens: int, count: int, weights: Sequence[float] | None = None) -> Prefixes:
        """``count`` distinct prefixes of ``tokens`` tokens, the same for the same seed."""
        if count < 1 or tokens < 1:
            raise ValueError("prefixes need a count and a length of at least 1")
        if weights is not None and (len(weights) != count or min(weights) <= 0):
            raise ValueError(f"give {count} weights, each > 0")
        rng = random.Random(f"{self.seed}:prefixes:{tokens}:{count}")
        texts = tuple(self.build(tokens, rng) for _ in range(count))
        return Prefixes(tokens, texts, tuple(weights or [1.0] * count))

    def _cut(self, corpus: str) -> None:
        """The cut table of ``corpus``: where a prompt may start and end, and the tokens
        before each place."""
        offsets, counts = self.tokenizer.cuts(corpus)
        self._corpus = corpus
        self._offsets, self._counts = offsets, counts
        self._starts = [
            k
            for k, at in enumerate(offsets[:-1])
            if at < len(self._base) and corpus[at] == " " and corpus[at + 1 : at + 2].isalpha()
        ]

    def _ensure(self, n: int) -> None:
        """Repeat the corpus until a prompt of ``n`` tokens fits after any start."""
        repeats = len(self._corpus) // len(self._base)
        while self._counts[-1] < self._base_tokens + n:
            repeats *= 2
            self._cut(self._base * repeats)

    def _body(self, n: int, start: int, rng: random.Random) -> str:
        """``n`` tokens: distinct words, corpus text from cut ``start``, one-token words."""
        fillers = self._fillers
        opening = min(self.distinct, n)
        first = self._counts[start]
        end = bisect_right(self._counts, first + n - opening) - 1
        taken = max(0, self._counts[end] - first)
        text = self._corpus[self._offsets[start] : max(self._offsets[start], self._offsets[end])]
        tail = n - opening - taken
        return (
            "".join(rng.choices(fillers, k=opening)) + text + "".join(rng.choices(fillers, k=tail))
        )

    def _verified(self, head: str, n: int, head_tokens: int, rng: random.Random) -> str:
        """Count each try and move the tail until ``head`` + body counts ``n`` + head."""
        count = self.tokenizer.count
        want = n + head_tokens
        for _ in range(_TRIES):
            start = self._starts[rng.randrange(len(self._starts))]
            state = rng.getstate()
            aim = n
            for _ in range(_ADJUSTS):
                rng.setstate(state)
                # a file that prepends its word marker counts a leading space twice
                text = (
                    head + self._body(aim, start, rng) if head else self._body(aim, start, rng)[1:]
                )
                got = count(text)
                if got == want:
                    return text
                aim += want - got
                if aim < 1:
                    break
        raise ValueError(f"no prompt of exactly {want} tokens found with {self.tokenizer.name}")


def _one_token_words(tokenizer: Tokenizer, corpus: str) -> list[str]:
    """The corpus's most frequent lowercase words that add exactly one token after a word,
    each with its leading space."""
    counts = Counter(w for w in corpus.split() if w.isascii() and w.isalpha() and w.islower())
    frequent = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: FILLERS * 4]
    base = tokenizer.count("The")
    words = [f" {w}" for w, _ in frequent if tokenizer.count(f"The {w}") - base == 1][:FILLERS]
    if not words:
        raise ValueError(f"no word of the corpus is one token with {tokenizer.name}")
    return words
