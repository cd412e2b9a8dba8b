"""Count what a chat request sent, when the server reports no usage (issue 20.3).

One ``PromptCounter`` per tokenizer, kept for the process (counts depend on the text and
the tokenizer only, so runs may share them): the shipped BPE, or a chat task's
``tokenizer:`` file, which the synthetic prompts already loaded at start. ``warm`` loads
them before the clock starts, so a tokenizer that cannot be loaded is a start error, never
a VU's; ``fill`` runs after the answer, so a server that reports ``usage.prompt_tokens``
costs nothing here and one that does not costs a cached look-up per repeated prompt.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from loadgen.core.bpe import default_tokenizer
from loadgen.core.profile.model import ChatTask, Profile
from loadgen.core.promptcount import PromptCounter
from loadgen.core.sample import Sample
from loadgen.edge.hftokenizer import load_tokenizer
from loadgen.engine.prompting import chat_tasks

__all__ = ["counter", "fill", "warm"]


@cache
def counter(path: Path | None) -> PromptCounter:
    """The counter of a ``tokenizer.json`` (None: the shipped default)."""
    tokenizer = default_tokenizer() if path is None else load_tokenizer(path)
    return PromptCounter(tokenizer.count)


def warm(profile: Profile) -> None:
    """Load every chat task's tokenizer now (``StartError`` when one cannot be read)."""
    for chat in chat_tasks(profile):
        if chat.api != "bedrock":
            counter(chat.tokenizer)


def fill(chat: ChatTask, messages: list[dict[str, str]], sample: Sample) -> None:
    """Mark an exact output length, and count the prompt of an answer without usage: every
    message and the system prompt for ``api: openai``, the last message (the one a body
    template carries) for the others."""
    sample.exact_output = chat.exact_output and sample.requested_output is not None
    if sample.usage_prompt is not None or sample.error is not None or chat.api == "bedrock":
        return
    openai = chat.api == "openai"
    sample.counted_input = counter(chat.tokenizer).sent(
        messages if openai else messages[-1:],
        system=chat.system if openai else None,
        synthetic=sample.requested_input,
    )
