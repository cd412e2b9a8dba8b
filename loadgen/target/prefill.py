"""What a prompt costs the target: its tokens (cached counts) and its prefix-cache hits.

Pure. Every route counts prompts with loadgen's default tokenizer, the one synthetic
prompts are built with, so ``usage.prompt_tokens`` matches what the client asked for. The
pure-Python BPE costs about a millisecond per 2,000 tokens, so counts (and, with the prefix
cache on, token ids) are kept in bounded LRU maps keyed by the text: a prompt seen before
costs a dictionary look-up.

The prefix cache works as vLLM's automatic prefix caching: the prompt's tokens are cut
into full blocks of ``block_tokens``; each block's key hashes its tokens *and* the key of
the block before it, so a block hits only when every earlier block hit too; hit blocks are
touched, missed ones inserted, and the least recently used are evicted beyond
``capacity_blocks``. Python hashes tuples of ints without a per-process salt, so hits are
the same run after run.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from loadgen.core.bpe import default_tokenizer
from loadgen.core.promptcount import PromptCounter

__all__ = ["MESSAGE_TOKENS", "PrefixCache", "PromptTokens"]

MESSAGE_TOKENS = 3
"""Tokens a chat template adds per message, as OpenAI counts them."""

_COUNTS = 1 << 16  # distinct texts whose count is kept
_ID_TOKENS = 1 << 21  # token ids kept in all (about 16 MiB of small ints' references)


class PromptTokens:
    """Token counts and ids of texts, each computed once while it stays in the LRU."""

    def __init__(self, max_texts: int = _COUNTS, max_ids: int = _ID_TOKENS) -> None:
        tokenizer = default_tokenizer()
        # The client's counting cache (also bounded by the characters it holds).
        self.count = PromptCounter(tokenizer.count, size=max_texts).text
        self._encode = tokenizer.encode
        self._ids: OrderedDict[str, tuple[int, ...]] = OrderedDict()
        self._max_ids = max_ids
        self._held = 0

    def ids(self, text: str) -> tuple[int, ...]:
        table = self._ids
        ids = table.get(text)
        if ids is not None:
            table.move_to_end(text)
            return ids
        ids = tuple(self._encode(text))
        table[text] = ids
        self._held += len(ids)
        while self._held > self._max_ids and len(table) > 1:
            self._held -= len(table.popitem(last=False)[1])
        return ids


class PrefixCache:
    """Blocks of prompt tokens a server would still hold the KV cache of."""

    def __init__(self, block_tokens: int, capacity_blocks: int) -> None:
        self.block_tokens = block_tokens
        self.capacity = capacity_blocks
        self.blocks: OrderedDict[int, None] = OrderedDict()
        self.hits = 0  # blocks, over the target's life
        self.misses = 0

    def lookup(self, parts: Sequence[tuple[int, ...]]) -> int:
        """Tokens of the prompt (its messages' ids, joined in order) already cached: the
        prompt's shared prefix in whole blocks. Its blocks are cached from now on."""
        tokens: list[int] = []
        for ids in parts:
            tokens.extend(ids)
        size = self.block_tokens
        blocks = self.blocks
        key = 0
        hit = 0
        missed = False
        for start in range(0, len(tokens) - size + 1, size):
            key = hash((key, *tokens[start : start + size]))
            if not missed and key in blocks:
                blocks.move_to_end(key)
                hit += 1
                continue
            missed = True
            blocks[key] = None
            if len(blocks) > self.capacity:
                blocks.popitem(last=False)
        self.hits += hit
        self.misses += len(tokens) // size - hit
        return hit * size
