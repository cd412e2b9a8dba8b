"""A server's own ``tokenizer.json``, read with Hugging Face ``tokenizers`` (issue 20.2).

Give the file of the model the server runs (``tokenizer.json`` beside its weights), and
synthetic prompts count exactly what the server's tokenizer counts for the same text.
Optional: ``pip install 'loadgen[tokenizer]'`` brings ``tokenizers``; without it, loading a
file is a start error with that line, never a crash mid-run. Nothing is downloaded: a path
is read, never a hub name.

Counts leave out special tokens (BOS/EOS): a chat template adds those and its own framing,
which the server counts on top (docs/prompts.md). Truncation and padding a file may carry
are switched off, so a count is never capped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loadgen.core.errors import StartError
from loadgen.core.extras import install_hint

__all__ = ["HFTokenizer", "load_tokenizer"]


class HFTokenizer:
    """The ``Tokenizer`` protocol (loadgen.core.bpe) over a ``tokenizers.Tokenizer``.

    ``additive`` for a byte-level BPE split by a regex (GPT-2, Llama 3, Qwen, Mistral's
    Tekken): its pre-tokens never span the space before a word, so text cut there counts the
    sum of its parts. Not for SentencePiece-style files (Llama 2, Mistral 7B, T5): they
    prepend a marker to the first word and may merge across words, so the prompt builder
    counts each of their prompts once (or a few times) to be exact.
    """

    def __init__(self, tokenizer: Any, name: str) -> None:
        self._tok = tokenizer
        self._tok.no_truncation()
        self._tok.no_padding()
        self.name = name
        self.additive = _byte_level(json.loads(tokenizer.to_str()))

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._tok.decode(list(ids), skip_special_tokens=False))

    def cuts(self, text: str) -> tuple[list[int], list[int]]:
        """The starts of tokens that open a word (a space, then a letter), never a cut
        inside a word; SentencePiece's ``▁word`` reports the word's offsets, so a token that
        starts right after a space is cut before that space."""
        encoding = self._tok.encode(text, add_special_tokens=False)
        offsets, counts = [0], [0]
        for i, (start, _end) in enumerate(encoding.offsets):
            at = start - 1 if start > 0 and text[start - 1] == " " else start
            if offsets[-1] < at < len(text) - 1 and text[at] == " " and text[at + 1].isalpha():
                offsets.append(at)
                counts.append(i)
        offsets.append(len(text))
        counts.append(len(encoding.ids))
        return offsets, counts


def _byte_level(config: dict[str, Any]) -> bool:
    """True for a BPE over bytes, pre-split by a regex, with no normalizer beyond NFC."""
    normalizer = config.get("normalizer") or {"type": "NFC"}
    pre = config.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    kinds = [step.get("type") for step in steps]
    by_regex = kinds == ["ByteLevel"] and steps[0].get("use_regex", True)
    split_then_bytes = kinds == ["Split", "ByteLevel"] and steps[0].get("behavior") == "Isolated"
    return (
        config.get("model", {}).get("type") == "BPE"
        and normalizer.get("type") == "NFC"
        and bool(by_regex or split_then_bytes)
    )


def load_tokenizer(path: str | Path) -> HFTokenizer:
    """The tokenizer of a ``tokenizer.json`` file; ``StartError`` (with the fix) when the
    library is missing or the file cannot be read."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise StartError(
            f"tokenizer {str(path)!r} needs the tokenizers library",
            f"{install_hint('tokenizer')}, or leave the tokenizer out to use loadgen's own",
        ) from None
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # a missing file, or JSON tokenizers cannot read
        raise StartError(
            f"cannot read tokenizer {str(path)!r}: {type(exc).__name__}: {exc}"[:300],
            "give the tokenizer.json file of the server's model (beside its weights)",
        ) from exc
    return HFTokenizer(tokenizer, Path(path).name)
