"""What a chat task sends (issue #20 items 2 and 4): synthetic prompts of a token count and
dataset rows, opened once at start and shared by every VU, and ``plan``, which draws one
task's turns.

A ``PromptBuilder`` cuts and counts its corpus once (~0.1 s for the shipped tokenizer), so a
run keeps one per tokenizer and builds each task's shared prefixes once, before the clock
starts: a tokenizer that cannot be loaded is a start error, never a VU's internal error.
A dataset is indexed once (``loadgen.core.datasets``); every VU of the process draws from one
seeded stream per task, so ``sequential`` hands rows out in file order across the VUs and
``shuffle`` gives each row once per pass.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadgen.core.bpe import Tokenizer, default_tokenizer
from loadgen.core.datasets import Dataset, DatasetError, Draws, Fields, Lengths
from loadgen.core.errors import StartError
from loadgen.core.lengths import Fixed
from loadgen.core.profile.model import ChatTask, DataPools, Profile, Task
from loadgen.core.prompts import Prefixes, PromptBuilder, default_corpus
from loadgen.core.template import is_template, render
from loadgen.edge.hftokenizer import load_tokenizer

__all__ = ["Plan", "Prompts", "Turn", "chat_tasks", "plan"]


def chat_tasks(profile: Profile) -> Iterator[ChatTask]:
    """Every chat task of every user class (``UserClass.every_task``)."""
    for cls in profile.users:
        for task in cls.every_task():
            if task.chat is not None:
                yield task.chat


@dataclass(slots=True)
class Turn:
    """One user message, with the lengths its sample records (``None``: unknown)."""

    text: str
    input_tokens: int | None = None  # loadgen's count of the text (synthetic or dataset)
    output_tokens: int | None = None  # the output length to ask for


@dataclass(slots=True)
class Plan:
    """What one task sends: one turn, the turns of a conversation (each request carries the
    earlier turns and the server's answers), or a batch of embeddings inputs."""

    turns: list[Turn]
    conversation: bool = False
    system: str | None = None  # a dataset row's own system prompt
    entry: int | None = None  # the dataset entry drawn
    fixed: bool = False  # nothing drawn or rendered: the same plan every time


class Prompts:
    """The run's prompt builders, prefixes and datasets, keyed by tokenizer and task."""

    def __init__(self, profile: Profile, seed: int, segment: tuple[int, int] = (0, 1)) -> None:
        self._seed = seed
        self._segment = segment  # (i, n): the 0-based part of a distributed run
        self._tokenizers: dict[Path | None, Tokenizer] = {}
        self._builders: dict[Path | None, PromptBuilder] = {}
        self._prefixes: dict[int, Prefixes] = {}  # by id(): a task holds dicts, unhashable
        self._draws: dict[int, Draws] = {}
        self._datasets: list[Dataset] = []
        try:
            for chat in chat_tasks(profile):
                if chat.dataset is not None and id(chat) not in self._draws:
                    self._draws[id(chat)] = self._open(chat)
                if chat.input_tokens is None and profile.load.model != "replay":
                    continue
                builder = self._builder(chat.tokenizer)
                builder.build(1, random.Random(seed))  # its first build grows the corpus
                if chat.prefix is not None and id(chat) not in self._prefixes:
                    p = chat.prefix
                    self._prefixes[id(chat)] = builder.prefixes(p.tokens, p.count, p.weights)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def needed(profile: Profile) -> bool:
        """Does any chat task build prompts or read a dataset?"""
        if profile.load.model == "replay":  # trace rows become prompts of their lengths
            return True
        return any(c.input_tokens is not None or c.dataset for c in chat_tasks(profile))

    def close(self) -> None:
        """Close the dataset files (the engine does, when the run ends)."""
        for data in self._datasets:
            data.close()
        self._datasets.clear()

    def __del__(self) -> None:
        # A run that fails to start after the prompts were made (the target unreachable)
        # never reaches the engine's exit: close the files here rather than leave them open.
        self.close()

    def tokenizer(self, path: Path | None) -> Tokenizer:
        found = self._tokenizers.get(path)
        if found is None:
            found = default_tokenizer() if path is None else load_tokenizer(path)
            self._tokenizers[path] = found
        return found

    def builder(self, chat: ChatTask) -> PromptBuilder:
        """The prompt builder of ``chat``'s tokenizer (made at start: a replay's)."""
        return self._builder(chat.tokenizer)

    def _builder(self, path: Path | None) -> PromptBuilder:
        builder = self._builders.get(path)
        if builder is None:
            builder = PromptBuilder(self.tokenizer(path), default_corpus(), self._seed)
            self._builders[path] = builder
        return builder

    def _open(self, chat: ChatTask) -> Draws:
        spec = chat.dataset
        assert spec is not None
        count = self.tokenizer(chat.tokenizer).count
        try:
            data = Dataset(
                spec.path,
                format=spec.format,
                fields=Fields(prompt=spec.prompt, output=spec.output),
                skip=spec.skip,
                max_rows=spec.max_rows,
                count_tokens=None if spec.output == "" else count,
            )
        except DatasetError as exc:
            raise StartError(str(exc.problem), "fix the dataset, then run again") from exc
        self._datasets.append(data)
        lengths = Lengths(min=spec.min_input_tokens, max=spec.max_input_tokens, count=count)
        # Part i of a distributed run's n: its own seed, and sequential starts i/n of the
        # way in, so the workers do not all send the same rows in the same order.
        part, parts = self._segment
        seed = (self._seed if spec.seed is None else spec.seed) + part
        start = part * len(data) // parts
        return data.draws(spec.sample, seed=seed, lengths=lengths, start=start)

    def make(self, chat: ChatTask, rng: random.Random) -> tuple[str, int]:
        """A prompt for ``chat`` (which has ``input_tokens``) and its length in tokens."""
        assert chat.input_tokens is not None
        n = chat.input_tokens.sample(rng)
        return self._builder(chat.tokenizer).build(n, rng, self._prefixes.get(id(chat))), n

    def count(self, chat: ChatTask, text: str) -> int:
        """``text``'s tokens by ``chat``'s tokenizer (a dataset's prompts, the answers a
        conversation sends back)."""
        return self.tokenizer(chat.tokenizer).count(text)

    def row(self, chat: ChatTask, rng: random.Random) -> Plan:
        """The next dataset entry of ``chat`` as a plan: its user turns, each with its own
        token count and output length (the row's, else the recorded answer's, else the
        task's ``output_tokens``)."""
        draws = self._draws[id(chat)]
        drawn = next(draws)
        count = self.tokenizer(chat.tokenizer).count
        if chat.api == "embeddings":  # one input: the row's user turns together
            text = "\n".join(drawn.turns)
            return Plan(turns=[Turn(text, draws.size(drawn))], entry=drawn.entry)
        if len(drawn.turns) == 1:  # counted once per entry, not once per draw
            out = drawn.max_tokens_for(0) or _output(chat, rng)
            turns = [Turn(drawn.turns[0], draws.size(drawn), out)]
        else:
            turns = [
                Turn(text, count(text), drawn.max_tokens_for(i) or _output(chat, rng))
                for i, text in enumerate(drawn.turns)
            ]
        system = drawn.system if chat.system is None else None  # the profile's wins
        if system is not None:
            turns[0].input_tokens = (turns[0].input_tokens or 0) + count(system)
        return Plan(turns=turns, conversation=len(turns) > 1, system=system, entry=drawn.entry)


def _output(chat: ChatTask | None, rng: random.Random) -> int | None:
    if chat is None or chat.output_tokens is None:
        return None
    return chat.output_tokens.sample(rng)


def _fixed_output(chat: ChatTask) -> bool:
    return chat.output_tokens is None or isinstance(chat.output_tokens, Fixed)


def plan(
    task: Task,
    prompts: Prompts | None,
    pools: DataPools,
    variables: Mapping[str, Any],
    rng: random.Random,
) -> Plan:
    """What ``task`` sends this time: a dataset row, a synthetic prompt, the fixed prompt, a
    conversation or a question of the data file; embeddings draw ``batch`` inputs."""
    chat = task.chat
    if chat is not None and chat.api == "embeddings" and chat.batch > 1:
        turns = [_one(task, prompts, pools, variables, rng) for _ in range(chat.batch)]
        return Plan(turns=[t for p in turns for t in p.turns])
    return _one(task, prompts, pools, variables, rng)


def _one(
    task: Task,
    prompts: Prompts | None,
    pools: DataPools,
    variables: Mapping[str, Any],
    rng: random.Random,
) -> Plan:
    spec, chat = task.chat or task.ws, task.chat
    if chat is not None and prompts is not None:
        if chat.dataset is not None:
            return prompts.row(chat, rng)
        if chat.input_tokens is not None:
            out = _output(chat, rng)
            text, n = prompts.make(chat, rng)
            return Plan(turns=[Turn(text, n, out)])
    if spec is not None and spec.conversation:
        turns = rng.choice(pools.conversations)
        return Plan(turns=[Turn(t, None, _output(chat, rng)) for t in turns], conversation=True)
    out = _output(chat, rng)
    if spec is None:
        return Plan(turns=[Turn("", None, out)])
    if spec.prompt is not None:
        fixed = not is_template(spec.prompt) and (chat is None or _fixed_output(chat))
        return Plan(turns=[Turn(render(spec.prompt, variables), None, out)], fixed=fixed)
    questions = pools.questions
    category = spec.category or ("simple" if "simple" in questions else next(iter(questions), None))
    text = "Hello" if category is None else rng.choice(questions[category])
    return Plan(turns=[Turn(text, None, out)])
