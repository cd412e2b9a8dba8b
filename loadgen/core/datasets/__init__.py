"""Prompt datasets: JSONL, CSV and ShareGPT JSON files, streamed and sampled (issue #20.4).

    with Dataset("prompts.jsonl") as data:
        draws = data.draws("shuffle", seed=7, lengths=Lengths(max=4000))
        conversation = next(draws)  # .turns, .max_tokens_for(turn), .system

A file is indexed in one pass (8 bytes an entry) and each entry is read when it is drawn, so
a dataset of any size costs memory for its index only. docs/datasets.md is the reference.
"""

from __future__ import annotations

from loadgen.core.datasets.dataset import Dataset, guess_format
from loadgen.core.datasets.index import MAX_ENTRY_BYTES
from loadgen.core.datasets.model import (
    FORMATS,
    OUTPUT_FIELDS,
    PROMPT_FIELDS,
    Conversation,
    DatasetError,
    EntryError,
    Fields,
    Lengths,
)
from loadgen.core.datasets.sampling import MODES, Draws

__all__ = [
    "FORMATS",
    "MAX_ENTRY_BYTES",
    "MODES",
    "OUTPUT_FIELDS",
    "PROMPT_FIELDS",
    "Conversation",
    "Dataset",
    "DatasetError",
    "Draws",
    "EntryError",
    "Fields",
    "Lengths",
    "guess_format",
]
