"""Count and encode tokens with loadgen's own byte-level BPE, in pure Python.

Synthetic prompts must hold an exact number of tokens, offline, on any machine. tiktoken's
encodings cannot be that default: tiktoken downloads them from a blob store on first use,
and many CI machines cannot reach it. So the package ships a small byte-level BPE
(``loadgen/data/tokenizer.json``, about 8,000 tokens, trained with Hugging Face
``tokenizers`` on the shipped corpus by tests/build_default_tokenizer.py) and this module
reads it with no dependency. Its pre-tokenizer is a GPT-2 style regex written with ASCII
classes only, so Python's ``re`` splits text exactly as the Rust library does; a test checks
the ids match ``tokenizers`` on random text.

Counts add up over pre-tokens (BPE never merges across them), so each distinct pre-token is
encoded once and cached: prose repeats its words, and counting 2,000 tokens costs a regex
scan plus dictionary look-ups. A server's own model counts differently; give its
``tokenizer.json`` (loadgen/edge/hftokenizer.py) when the count must match it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Protocol

__all__ = ["DEFAULT_FILE", "BPETokenizer", "Tokenizer", "default_tokenizer"]

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "data" / "tokenizer.json"

CACHE_PIECES = 1 << 16  # distinct pre-tokens kept encoded; prose has a few thousand


class Tokenizer(Protocol):
    """What the prompt builder needs of a tokenizer (the default one or a ``tokenizer.json``)."""

    @property
    def name(self) -> str: ...

    @property
    def additive(self) -> bool:
        """True when a slice between two ``cuts``, joined after text that ends a word and
        before text that opens one (a space, then a letter), counts exactly the difference
        of their counts: prompts then need no verifying encode."""
        ...

    def count(self, text: str) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def cuts(self, text: str) -> tuple[list[int], list[int]]:
        """Offsets where ``text`` may be cut, ascending, from 0 to ``len(text)``, and the
        number of tokens of ``text`` before each. Every place where a space and a letter
        follow should be one, or prompts start in fewer places."""
        ...


@cache
def _byte_chars() -> tuple[str, ...]:
    """GPT-2's byte → printable character table that byte-level BPE vocabularies use."""
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    extra = iter(range(256, 512))
    return tuple(chr(b) if b in keep else chr(next(extra)) for b in range(256))


class BPETokenizer:
    """A byte-level BPE read from a ``tokenizer.json`` shaped like the shipped one.

    Read: model ``BPE`` with no normalizer, and a pre-tokenizer that is a ``Split`` by a
    regex Python's ``re`` runs the same way followed by ``ByteLevel(use_regex=False)``.
    Anything else raises ``ValueError``: load such a file with ``loadgen.edge.hftokenizer``.
    """

    additive = True

    def __init__(self, config: dict[str, Any], name: str = "tokenizer.json") -> None:
        pattern = _split_pattern(config)
        model = config["model"]
        self.name = name
        self._vocab: dict[str, int] = dict(model["vocab"])
        self._tokens = {i: t for t, i in self._vocab.items()}
        self._ranks: dict[tuple[str, str], int] = {}
        for rank, merge in enumerate(model["merges"]):
            left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
            self._ranks[(left, right)] = rank
        self._split: Callable[[str], list[str]] = re.compile(f"({pattern})").split
        self._byte_chars = _byte_chars()
        self._bytes = {c: b for b, c in enumerate(self._byte_chars)}
        self._piece: Callable[[str], tuple[int, ...]] = lru_cache(CACHE_PIECES)(self._bpe)

    @classmethod
    def from_json(cls, text: str, name: str = "tokenizer.json") -> BPETokenizer:
        try:
            config = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{name}: not JSON ({exc})") from exc
        return cls(config, name)

    def pieces(self, text: str) -> list[str]:
        """The pre-tokens of ``text``, in order; they join back to ``text``."""
        return [p for p in self._split(text) if p]

    def count(self, text: str) -> int:
        piece = self._piece
        return sum(len(piece(p)) for p in self._split(text) if p)

    def encode(self, text: str) -> list[int]:
        piece = self._piece
        return [i for p in self._split(text) if p for i in piece(p)]

    def decode(self, ids: Sequence[int]) -> str:
        chars = "".join(self._tokens[i] for i in ids)
        return bytes(self._bytes[c] for c in chars).decode("utf-8", errors="replace")

    def cuts(self, text: str) -> tuple[list[int], list[int]]:
        offsets, counts = [0], [0]
        at = tokens = 0
        for p in self.pieces(text):
            at += len(p)
            tokens += len(self._piece(p))
            offsets.append(at)
            counts.append(tokens)
        return offsets, counts

    def _bpe(self, piece: str) -> tuple[int, ...]:
        """The ids of one pre-token: merge the leftmost pair of lowest rank until none is
        left, as ``tokenizers`` does."""
        chars = self._byte_chars
        word = [
            chars[b] for b in piece.encode("utf-8", "surrogatepass")
        ]  # lone surrogates from JSON
        ranks = self._ranks
        while len(word) > 1:
            best, at = len(ranks), -1
            for i in range(len(word) - 1):
                rank = ranks.get((word[i], word[i + 1]), best)
                if rank < best:
                    best, at = rank, i
            if at < 0:
                break
            word[at : at + 2] = [word[at] + word[at + 1]]
        return tuple(self._vocab[w] for w in word)


def _split_pattern(config: dict[str, Any]) -> str:
    """The regex of a ``Split`` + ``ByteLevel(use_regex=False)`` pre-tokenizer, or
    ``ValueError`` saying what this reader cannot do."""
    unsupported = "this reader takes the shape of loadgen's own tokenizer.json"
    model = config.get("model") or {}
    if model.get("type") != "BPE" or config.get("normalizer") is not None:
        raise ValueError(f"not a plain BPE model; {unsupported}")
    pre = config.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    kinds = [s.get("type") for s in steps]
    if kinds != ["Split", "ByteLevel"] or steps[1].get("use_regex", True):
        raise ValueError(f"pre-tokenizer {kinds} is not Split + ByteLevel; {unsupported}")
    split = steps[0]
    if split.get("behavior") != "Isolated" or split.get("invert"):
        raise ValueError(f"Split must be isolated, not inverted; {unsupported}")
    pattern = split.get("pattern", {}).get("Regex")
    if not isinstance(pattern, str):
        raise ValueError(f"Split must use a regex; {unsupported}")
    return pattern


@cache
def default_tokenizer() -> BPETokenizer:
    """The shipped tokenizer, read once per process."""
    return BPETokenizer.from_json(DEFAULT_FILE.read_text("utf-8"), "loadgen default")
