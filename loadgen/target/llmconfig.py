"""The target's model-server knobs: prefix cache, reasoning, tool calls and embeddings.

Frozen sections of :class:`~loadgen.target.config.TargetConfig`, with the YAML schema
``config.py`` reads them by, kept apart so the core config stays one screen of tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from loadgen.core.units import parse_percent

__all__ = [
    "EFFORTS",
    "Embeddings",
    "PrefixCache",
    "Reasoning",
    "ToolCalls",
    "llm_schema",
    "llm_sections",
    "llm_to_mapping",
    "parse_bool",
]

#: ``reasoning_effort`` values a request may give, and their default reasoning shares.
EFFORTS: dict[str, float] = {"none": 0.0, "minimal": 0.1, "low": 0.25, "medium": 0.5, "high": 0.75}


@dataclass(frozen=True, kw_only=True)
class PrefixCache:
    """Automatic prefix caching as vLLM does it: full blocks of prompt tokens, hashed in
    order; a block hits only if every block before it hit; least recently used evicted."""

    enabled: bool = False
    block_tokens: int = 16
    capacity_blocks: int = 8192

    def __post_init__(self) -> None:
        if self.block_tokens < 1 or self.capacity_blocks < 1:
            raise ValueError("block_tokens and capacity_blocks must be at least 1")


@dataclass(frozen=True, kw_only=True)
class Reasoning:
    """Which share of an answer's tokens are reasoning, streamed before the answer."""

    share: float = 0.0
    """For requests that name no ``reasoning_effort``."""
    efforts: tuple[tuple[str, float], ...] = tuple(EFFORTS.items())
    """The share for each ``reasoning_effort`` a request may name."""
    field: str = "reasoning_content"
    """The delta key of reasoning text: ``reasoning_content`` (vLLM, DeepSeek) or ``reasoning``."""

    def effort_share(self, effort: str) -> float | None:
        """The share for an effort name, or None when it is not one."""
        for name, share in self.efforts:
            if name == effort:
                return share
        return None


@dataclass(frozen=True, kw_only=True)
class ToolCalls:
    """How often a request offering ``tools`` (``tool_choice`` auto) is answered with a call."""

    rate: float = 0.5


@dataclass(frozen=True, kw_only=True)
class Embeddings:
    dimensions: int = 256
    """Length of each vector unless the request asks ``dimensions``."""


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ValueError(f"{value!r} is not true or false")


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a whole number; write e.g. 16")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number; write e.g. 16") from None
    if number < 1:
        raise ValueError(f"{value!r} is below 1; write 1 or more")
    return number


def _efforts(value: Any) -> tuple[tuple[str, float], ...]:
    """``{low: 0.25, high: 75%}`` or, from a flag, ``low=0.25,high=75%``; merged over the
    defaults, so naming one effort keeps the others."""
    if isinstance(value, str):
        pairs = [part.partition("=") for part in value.split(",") if part.strip()]
        if any(not sep for _, sep, _ in pairs):
            raise ValueError(f"{value!r} is not a list of efforts; write low=0.25,high=0.75")
        value = {name.strip(): share.strip() for name, _, share in pairs}
    if not isinstance(value, Mapping):
        raise ValueError(f"{value!r} is not a mapping; write {{low: 0.25, high: 0.75}}")
    merged = dict(EFFORTS)
    for name, share in value.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{name!r} is not an effort name; write e.g. low")
        merged[name] = parse_percent(share)
    return tuple(merged.items())


def _field(value: Any) -> str:
    if value not in ("reasoning_content", "reasoning"):
        raise ValueError(
            f"{value!r} is not a reasoning field; write reasoning_content or reasoning"
        )
    return str(value)


Parser = Callable[[Any], Any]


def llm_schema() -> dict[str, dict[str, tuple[str, Parser]]]:
    """Section -> key -> (dataclass field, parser), merged into config.py's table."""
    return {
        "prefix_cache": {
            "enabled": ("enabled", parse_bool),
            "block_tokens": ("block_tokens", _count),
            "capacity_blocks": ("capacity_blocks", _count),
        },
        "reasoning": {
            "share": ("share", parse_percent),
            "efforts": ("efforts", _efforts),
            "field": ("field", _field),
        },
        "tool_calls": {"rate": ("rate", parse_percent)},
        "embeddings": {"dimensions": ("dimensions", _count)},
    }


def llm_sections() -> dict[str, type]:
    return {
        "prefix_cache": PrefixCache,
        "reasoning": Reasoning,
        "tool_calls": ToolCalls,
        "embeddings": Embeddings,
    }


def llm_to_mapping(
    prefix: PrefixCache, reasoning: Reasoning, tools: ToolCalls, embeddings: Embeddings
) -> dict[str, Any]:
    """The YAML shape of these sections (what ``llm_schema`` reads back)."""
    return {
        "prefix_cache": {
            "enabled": prefix.enabled,
            "block_tokens": prefix.block_tokens,
            "capacity_blocks": prefix.capacity_blocks,
        },
        "reasoning": {
            "share": reasoning.share,
            "efforts": dict(reasoning.efforts),
            "field": reasoning.field,
        },
        "tool_calls": {"rate": tools.rate},
        "embeddings": {"dimensions": embeddings.dimensions},
    }
