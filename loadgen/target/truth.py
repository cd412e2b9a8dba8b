"""Ground-truth log: one JSON line per request, buffered, flushed on a timer and at exit.

Times are ``time.monotonic()`` seconds (CLOCK_MONOTONIC is system-wide on Linux, so a
generator in another process can compare with its own clock), plus the wall-clock time of
arrival. When no truth file is configured the server holds ``None`` instead of a log and
never builds a record, so disabled truth costs nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

__all__ = ["TruthLog", "truth_record"]


def truth_record(
    *,
    id: str,
    route: str,
    arrival: float,
    wall: float,
    first_token: float | None,
    tokens: list[float],
    end: float,
    bytes: int,
    status: int,
    fault: str | None,
    queue_wait: float,
    reason: str | None = None,
    prompt_tokens: int = 0,
    completion_tokens: int | None = None,
    first_answer: float | None = None,
    llm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The fields of one line, documented in docs/target.md. ``first_answer`` is when the
    first token that is not reasoning was written (``first_token`` when none reasoned, None
    when no such token came);
    ``llm`` holds the model-server fields (``llmplan.truth_fields``), else their defaults."""
    return {
        "id": id,
        "route": route,
        "arrival": arrival,
        "wall": wall,
        "first_token": first_token,
        "tokens": tokens,
        "end": end,
        "bytes": bytes,
        "status": status,
        "fault": fault,
        "queue_wait": queue_wait,
        "reason": reason,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": len(tokens) if completion_tokens is None else completion_tokens,
        "first_answer": first_answer if llm and llm["reasoning_tokens"] else first_token,
        **(_NO_LLM if llm is None else llm),
    }


_NO_LLM: dict[str, Any] = {
    "cached_tokens": 0,
    "prefix_cache": None,
    "prefill": 0.0,
    "reasoning_tokens": 0,
    "tool_call": None,
}


class TruthLog:
    """Appends lines to a buffer; ``flush`` writes them (the server calls it on a timer)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] = self.path.open("a", encoding="utf-8")
        self._buffer: list[str] = []

    def add(self, record: dict[str, Any]) -> None:
        self._buffer.append(json.dumps(record, separators=(",", ":")) + "\n")

    def flush(self) -> None:
        if self._buffer:
            self._file.write("".join(self._buffer))
            self._buffer.clear()
            self._file.flush()

    def close(self) -> None:
        self.flush()
        self._file.close()
