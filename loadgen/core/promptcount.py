"""Count the prompt tokens a chat request sent, for servers that report no usage (issue 20.3).

``input_tokens`` is the server's ``usage.prompt_tokens`` when it sends one; otherwise
loadgen counts what it sent with its own tokenizer (the shipped BPE, or the task's
``tokenizer:``). Counting is not free (a 2,000-token prompt costs a regex scan and a few
thousand look-ups), so each distinct text is counted once and kept in a bounded LRU cache:
a question pool or a dataset that repeats its rows costs a dictionary look-up per request.
A synthetic prompt is never counted again: it was built to ``requested_input`` tokens of
the same tokenizer. Only the message texts are counted, never the chat template the server
wraps them in: the calibration (``requested_vs_server``) measures that difference.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

__all__ = ["CACHED_CHARS", "CACHED_TEXTS", "PromptCounter"]

CACHED_TEXTS = 4096  # distinct texts kept counted: a question pool fits, a dataset's hot rows
CACHED_CHARS = 8_000_000  # and at most this much text (~16 MB), however long the prompts


class PromptCounter:
    """Token counts of sent texts under one tokenizer, each distinct text counted once."""

    def __init__(
        self, count: Callable[[str], int], size: int = CACHED_TEXTS, chars: int = CACHED_CHARS
    ) -> None:
        self._count = count
        self._size = size
        self._chars = chars
        self._held = 0  # characters of the cached texts
        self._cache: OrderedDict[str, int] = OrderedDict()
        self.counted = 0  # texts actually tokenised (cache misses), for tests and benchmarks

    def text(self, text: str) -> int:
        """``text``'s tokens: a look-up when it was counted before."""
        cache = self._cache
        n = cache.get(text)
        if n is not None:
            cache.move_to_end(text)
            return n
        n = self._count(text)
        self.counted += 1
        cache[text] = n
        self._held += len(text)
        while len(cache) > self._size or self._held > self._chars:
            self._held -= len(cache.popitem(last=False)[0])
        return n

    def sent(
        self,
        messages: Sequence[dict[str, str]],
        *,
        system: str | None = None,
        synthetic: int | None = None,
    ) -> int:
        """The tokens of every message sent (and ``system``, which opens them); the last
        message, when ``synthetic``, counts that many (it was built to that length)."""
        total = self.text(system) if system else 0
        last = len(messages) - 1
        for i, message in enumerate(messages):
            if i == last and synthetic is not None:
                total += synthetic
            else:
                total += self.text(message.get("content") or "")
        return total
