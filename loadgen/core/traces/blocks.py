"""A trace row's prompt: its text, a fresh prompt of its length, or its hash blocks joined.

Mooncake's traces give each request the hash ids of its prompt's blocks (512 tokens each):
two requests share a prefix exactly where their hash ids agree. A prompt is rebuilt as the
concatenation of one text per hash id, each of exactly ``block_tokens`` tokens and the same
whenever that id comes back (seeded by the id), so a server's prefix cache sees the trace's
own reuse. The last block is cut to the row's length (its text seeded by id and length: a
partial block is never cached by block-based caches anyway); tokens past the last id are a
fresh tail.

Exact counts: with an additive tokenizer (the default BPE) each block starts a new
pre-token, so the joined prompt counts the sum of its blocks. Blocks are kept in a bounded
LRU: the trace's hot prefixes cost one build each.
"""

from __future__ import annotations

import random
from collections import OrderedDict

from loadgen.core.prompts import PromptBuilder
from loadgen.core.traces.model import TraceRequest

__all__ = ["BlockPrompts"]

_KEPT = 4096  # block texts kept (about 10 MB of text at 512 tokens a block)


class BlockPrompts:
    """Prompts of trace rows, built with ``builder``; ``seed`` fixes every text."""

    def __init__(self, builder: PromptBuilder, *, block_tokens: int = 512, seed: int = 0) -> None:
        self.builder = builder
        self.block_tokens = block_tokens
        self.seed = seed
        self._blocks: OrderedDict[tuple[int, int], str] = OrderedDict()
        self._rng = random.Random(f"{seed}:fresh")

    def prompt(self, row: TraceRequest) -> tuple[str, int | None]:
        """The text to send for ``row`` and its tokens (``None``: a prompt given as text,
        counted by whoever needs it)."""
        if row.input_tokens is None:
            return row.prompt or "", None
        if not row.hash_ids:
            return self.builder.build(row.input_tokens, self._rng), row.input_tokens
        return self.joined(row.hash_ids, row.input_tokens), row.input_tokens

    def joined(self, hash_ids: tuple[int, ...], tokens: int) -> str:
        """``tokens`` tokens: the blocks of ``hash_ids`` in order, then a fresh tail."""
        parts = []
        left = tokens
        for hash_id in hash_ids:
            if left <= 0:
                break
            size = min(self.block_tokens, left)
            parts.append(self.block(hash_id, size))
            left -= size
        if left > 0:
            parts.append(self.builder.build(left, self._rng))
        return "".join(parts)

    def block(self, hash_id: int, size: int) -> str:
        """The text of block ``hash_id`` (``size`` tokens), the same every time."""
        key = (hash_id, size)
        text = self._blocks.get(key)
        if text is not None:
            self._blocks.move_to_end(key)
            return text
        text = self.builder.build(size, random.Random(f"{self.seed}:block:{hash_id}:{size}"))
        self._blocks[key] = text
        if len(self._blocks) > _KEPT:
            self._blocks.popitem(last=False)
        return text
