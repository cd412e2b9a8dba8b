"""What a trace row becomes (``TraceRequest``), the formats and their columns, and errors."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from loadgen.core.errors import DataError, Problem

__all__ = [
    "COLUMN_KEYS",
    "FORMATS",
    "PRESETS",
    "Columns",
    "TraceError",
    "TraceRequest",
    "columns_for",
]

FORMATS = ("jsonl", "csv", "mooncake", "azure", "burstgpt")
TimeUnit = Literal["s", "ms"]


@dataclass(frozen=True, slots=True)
class TraceRequest:
    """One request of a trace: when it came (seconds on the trace's own clock) and its shape.

    ``input_tokens`` or ``prompt`` says what to send; ``hash_ids`` (Mooncake) name the
    prompt's blocks, equal where the original prompts shared a prefix."""

    line: int
    at: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    prompt: str | None = None
    session: str | None = None
    model: str | None = None
    hash_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Columns:
    """Which column (CSV header or JSON key) holds what. ``None``: the trace has none.

    ``required`` names the columns the user wrote (a missing one is an error); the others
    are defaults, used when the file has them."""

    kind: Literal["jsonl", "csv"] = "jsonl"
    timestamp: str = "timestamp"
    time_unit: TimeUnit = "s"  # of a numeric timestamp; a text one is an ISO datetime
    input_tokens: str | None = "input_tokens"
    prompt: str | None = "prompt"
    output_tokens: str | None = "output_tokens"
    session: str | None = "session_id"
    model: str | None = "model"
    hash_ids: str | None = None
    skip_zero_output: bool = False  # BurstGPT: a 0-token response is a failed request
    required: frozenset[str] = field(default_factory=frozenset)


COLUMN_KEYS = (
    "timestamp",
    "input_tokens",
    "prompt",
    "output_tokens",
    "session",
    "model",
    "hash_ids",
)

PRESETS: dict[str, Columns] = {
    "jsonl": Columns(),
    "csv": Columns(kind="csv"),
    # Mooncake (FAST'25, kvcache-ai/Mooncake traces): one JSON object a line.
    "mooncake": Columns(
        timestamp="timestamp",
        time_unit="ms",
        input_tokens="input_length",
        prompt=None,
        output_tokens="output_length",
        session=None,
        model=None,
        hash_ids="hash_ids",
        required=frozenset({"timestamp", "input_tokens", "output_tokens", "hash_ids"}),
    ),
    # Azure LLM inference traces 2023/2024 (Azure/AzurePublicDataset).
    "azure": Columns(
        kind="csv",
        timestamp="TIMESTAMP",
        input_tokens="ContextTokens",
        prompt=None,
        output_tokens="GeneratedTokens",
        session=None,
        model=None,
        required=frozenset({"timestamp", "input_tokens", "output_tokens"}),
    ),
    # BurstGPT (HPMLL/BurstGPT): Timestamp (s), Model, Request tokens, Response tokens, ...
    "burstgpt": Columns(
        kind="csv",
        timestamp="Timestamp",
        input_tokens="Request tokens",
        prompt=None,
        output_tokens="Response tokens",
        session=None,
        model=None,  # "ChatGPT", "GPT-4": the original service's; columns: {model: Model} sends it
        skip_zero_output=True,
        required=frozenset({"timestamp", "input_tokens", "output_tokens"}),
    ),
}


def columns_for(
    fmt: str, mapping: dict[str, str] | None = None, time_unit: TimeUnit | None = None
) -> Columns:
    """The columns of ``fmt``, with the user's ``mapping`` (and unit) over the defaults."""
    base = PRESETS[fmt]
    mapping = mapping or {}
    changed: dict[str, object] = dict(mapping)
    if mapping.get("input_tokens") and "prompt" not in mapping and base.prompt is not None:
        changed["prompt"] = None  # named input lengths: the default prompt column is not sent
    if mapping.get("prompt") and "input_tokens" not in mapping and base.input_tokens is not None:
        changed["input_tokens"] = None
    if time_unit is not None:
        changed["time_unit"] = time_unit
    required = base.required | {k for k in mapping if k in COLUMN_KEYS}
    return replace(base, **changed, required=required)  # type: ignore[arg-type]


class TraceError(DataError):
    """A trace file that cannot be replayed: missing, unreadable, or without a column."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__([problem])
