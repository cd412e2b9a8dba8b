"""Write results while the run goes on: a journal of intervals, then the final result JSON.

``result.jsonl`` gets the header line at the start and one line per interval, flushed and
fsynced as each interval closes, so a killed run loses at most the last interval.
``result.json`` (the complete document of SPEC §4) is written atomically at the end.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from loadgen.result import Result

__all__ = ["ResultWriter"]


class ResultWriter:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.result_path = directory / "result.json"
        self.journal_path = directory / "result.jsonl"
        self._journal: IO[str] | None = None

    def start(self, header: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._journal = self.journal_path.open("w", encoding="utf-8")
        self._line({"type": "header", **header})

    def interval(self, record: dict[str, Any]) -> None:
        self._line({"type": "interval", **record})

    def finish(self, result: Result) -> None:
        result.save(self.result_path)
        if self._journal is not None:
            self._line({"type": "end", "run": result.data["run"]})
            self._journal.close()
            self._journal = None

    def _line(self, obj: dict[str, Any]) -> None:
        if self._journal is None:
            return
        self._journal.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self._journal.flush()
        os.fsync(self._journal.fileno())
