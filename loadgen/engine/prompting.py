"""Synthetic prompts for a run's chat tasks (issue #20 item 2): built once at start, shared
by every VU.

A ``PromptBuilder`` cuts and counts its corpus once (~0.1 s for the shipped tokenizer), so a
run keeps one per tokenizer and builds each task's shared prefixes once, before the clock
starts: a tokenizer that cannot be loaded is a start error, never a VU's internal error.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from loadgen.core.bpe import default_tokenizer
from loadgen.core.profile.model import ChatTask, Profile
from loadgen.core.prompts import Prefixes, PromptBuilder, default_corpus
from loadgen.edge.hftokenizer import load_tokenizer

__all__ = ["Prompts", "chat_tasks"]


def chat_tasks(profile: Profile) -> Iterator[ChatTask]:
    """Every chat task of every user class (``UserClass.every_task``)."""
    for cls in profile.users:
        for task in cls.every_task():
            if task.chat is not None:
                yield task.chat


class Prompts:
    """The run's prompt builders and prefixes, keyed by tokenizer and prefix spec."""

    def __init__(self, profile: Profile, seed: int) -> None:
        self._seed = seed
        self._builders: dict[Path | None, PromptBuilder] = {}
        self._prefixes: dict[int, Prefixes] = {}  # by id(): a task holds dicts, unhashable
        for chat in chat_tasks(profile):
            if chat.input_tokens is None:
                continue
            builder = self._builder(chat.tokenizer)
            if chat.prefix is not None and id(chat) not in self._prefixes:
                p = chat.prefix
                self._prefixes[id(chat)] = builder.prefixes(p.tokens, p.count, p.weights)

    def _builder(self, path: Path | None) -> PromptBuilder:
        builder = self._builders.get(path)
        if builder is None:
            tokenizer = default_tokenizer() if path is None else load_tokenizer(path)
            builder = PromptBuilder(tokenizer, default_corpus(), self._seed)
            self._builders[path] = builder
        return builder

    def make(self, chat: ChatTask, rng: random.Random) -> tuple[str, int]:
        """A prompt for ``chat`` (which has ``input_tokens``) and its length in tokens."""
        assert chat.input_tokens is not None
        n = chat.input_tokens.sample(rng)
        return self._builder(chat.tokenizer).build(n, rng, self._prefixes.get(id(chat))), n
