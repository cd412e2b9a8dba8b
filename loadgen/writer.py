"""Write results while the run goes on: a journal of intervals, then the final result JSON.

``result.jsonl`` gets the header line at the start and one line per interval, written and
flushed as each interval closes (a killed process loses nothing the OS has), then fsynced on
a thread of its own (a machine that loses power loses at most the last interval or two): an
fsync in the event loop stalls every stream for as long as the disk takes.
``result.json`` (the complete document of SPEC §4) is written atomically at the end.
"""

from __future__ import annotations

import csv
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from loadgen.result import Result
from loadgen.sample import Sample

__all__ = ["RAW_COLUMNS", "ResultWriter"]

RAW_COLUMNS = (
    "request_id",
    "name",
    "user_class",
    "category",
    "t0",
    "send",
    "first_byte",
    "first_token",
    "end",
    "ttfb_ms",
    "ttft_ms",
    "e2e_ms",
    "output_tokens",
    "token_source",
    "content_events",
    "status",
    "error",
    "interrupted",
)


class ResultWriter:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.result_path = directory / "result.json"
        self.journal_path = directory / "result.jsonl"
        self.raw_path = directory / "requests.csv"
        self._journal: IO[str] | None = None
        self._raw: IO[str] | None = None
        self._raw_csv: Any = None
        self._fsync: ThreadPoolExecutor | None = None

    def start(self, header: dict[str, Any], *, raw: bool = False) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._journal = self.journal_path.open("w", encoding="utf-8")
        self._fsync = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loadgen-fsync")
        self._line({"type": "header", **header})
        if raw:
            self._raw = self.raw_path.open("w", encoding="utf-8", newline="")
            self._raw_csv = csv.writer(self._raw)
            self._raw_csv.writerow(RAW_COLUMNS)

    def sample(self, s: Sample) -> None:
        """One row per request (``report.raw: true``): times are monotonic seconds, so rows
        can be matched with the built-in target's truth log by request id."""
        if self._raw_csv is None:
            return
        first = s.token_times[0] if s.token_times else None
        tokens, source = s.output_tokens
        self._raw_csv.writerow(
            (
                s.request_id,
                s.name,
                s.user_class,
                s.category or "",
                f"{s.t0:.6f}",
                f"{s.send:.6f}",
                _t(s.first_byte),
                _t(first),
                _t(s.end),
                _ms(s.first_byte, s.t0),
                _ms(first, s.t0),
                _ms(s.end, s.t0),
                tokens,
                source,
                s.content_events,
                s.status or "",
                s.error.value if s.error else "",
                int(s.interrupted),
            )
        )

    def interval(self, record: dict[str, Any]) -> None:
        self._line({"type": "interval", **record})
        if self._raw is not None:
            self._raw.flush()

    def finish(self, result: Result) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = self._raw_csv = None
        result.save(self.result_path)
        if self._fsync is not None:
            self._fsync.shutdown(wait=True)  # no fsync may run on a closed descriptor
            self._fsync = None
        if self._journal is not None:
            self._line({"type": "end", "run": result.data["run"]})
            os.fsync(self._journal.fileno())
            self._journal.close()
            self._journal = None

    def _line(self, obj: dict[str, Any]) -> None:
        if self._journal is None:
            return
        self._journal.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self._journal.flush()
        if self._fsync is not None:
            self._fsync.submit(os.fsync, self._journal.fileno())


def _t(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def _ms(value: float | None, t0: float) -> str:
    return "" if value is None else f"{(value - t0) * 1000:.3f}"
