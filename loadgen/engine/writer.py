"""Write results while the run goes on: a journal of intervals, then the final result JSON.

``result.jsonl`` gets the header line at the start and one line per interval, written and
flushed as each interval closes (a killed process loses nothing the OS has), then fsynced on
a thread of its own (a machine that loses power loses at most the last interval or two): an
fsync in the event loop stalls every stream for as long as the disk takes.
``result.json`` (the complete document of SPEC §4) is written atomically at the end.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from loadgen.core.errors import OutputError
from loadgen.core.result import Result
from loadgen.core.safetext import csv_cell
from loadgen.core.sample import Sample

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
    "input_tokens",  # server usage, else loadgen's count of what was sent (input_source)
    "input_source",
    "requested_input",  # a synthetic prompt's length, as asked for
    # since issue 21: the outcome "cancelled", the connection phases, the server's own id
    "cancelled",
    "connect_ms",  # TCP connect (DNS included); 0 on a reused connection
    "tls_ms",
    "send_ms",
    "wait_ms",  # request written → first byte
    "reused",  # 1 reused, 0 new connection; empty when not measured (httpx, WebSocket)
    "server_request_id",
)


class ResultWriter:
    """Writes one run's files. ``start`` raises ``OutputError`` when the directory cannot be
    made or written; a write that fails later (a full disk) never stops the run: the file it
    failed on is closed as it stands (the journal keeps every line written before) and
    ``failure`` says which path and why, for the caller to report once the run is over."""

    def __init__(
        self,
        directory: Path,
        redacted: Callable[[dict[str, Any]], dict[str, Any]] = lambda record: record,
    ) -> None:
        """``redacted`` masks the run's secrets in each journal record before it is written."""
        self.dir = directory
        self._redacted = redacted
        self.result_path = directory / "result.json"
        self.journal_path = directory / "result.jsonl"
        self.raw_path = directory / "requests.csv"
        self._journal: IO[str] | None = None
        self._raw: IO[str] | None = None
        self._raw_csv: Any = None
        self._fsync: ThreadPoolExecutor | None = None
        self.failure: OutputError | None = None

    def start(self, header: dict[str, Any], *, raw: bool = False) -> None:
        if self.dir.exists() and not self.dir.is_dir():
            raise OutputError(self.dir, "it is a file, not a directory")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._journal = self.journal_path.open("w", encoding="utf-8")
            self._fsync = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loadgen-fsync")
            self._line({"type": "header", **header})
            if self.failure is not None:
                raise self.failure
            if raw:
                self._raw = self.raw_path.open("w", encoding="utf-8", newline="")
                self._raw_csv = csv.writer(self._raw)
                self._raw_csv.writerow(RAW_COLUMNS)
        except OSError as exc:
            self._close_all()
            where = exc.filename if isinstance(exc.filename, str) else self.dir
            raise OutputError(where, exc) from exc
        except OutputError:
            self._close_all()
            raise

    def sample(self, s: Sample) -> None:
        """One row per request (``report.raw: true``): times are monotonic seconds, so rows
        can be matched with the built-in target's truth log by request id."""
        if self._raw_csv is None:
            return
        first = s.token_times[0] if s.token_times else None
        tokens, source = s.output_tokens
        row = (
            s.request_id,
            csv_cell(s.name),
            csv_cell(s.user_class),
            csv_cell(s.category or ""),
            f"{s.t0:.6f}",
            f"{s.send:.6f}",
            _t(s.first_byte),
            _t(first),
            _t(s.end),
            _ms(s.ttfb),
            _ms(s.ttft),
            _ms(s.e2e),
            tokens,
            source,
            s.content_events,
            s.status or "",
            s.error.value if s.error else "",
            int(s.interrupted),
            _n(s.input_tokens),
            s.input_source if s.input_tokens is not None else "",
            _n(s.requested_input),
            int(s.cancelled),
            _ms(s.connect),
            _ms(s.tls),
            _ms(s.send_time),
            _ms(s.wait_time),
            "" if s.reused is None else int(s.reused),
            csv_cell(s.server_id),
        )
        try:
            self._raw_csv.writerow(row)
        except OSError as exc:
            self._failed(self.raw_path, exc)

    def interval(self, record: dict[str, Any]) -> None:
        self._line({"type": "interval", **record})
        if self._raw is not None:
            try:
                self._raw.flush()
            except OSError as exc:
                self._failed(self.raw_path, exc)

    def finish(self, result: Result) -> None:
        """Close the files and save the result; a failure is left in ``failure``."""
        if self._raw is not None:
            try:
                self._raw.close()
            except OSError as exc:
                self._failed(self.raw_path, exc)
            self._raw = self._raw_csv = None
        try:
            result.save(self.result_path)
        except OSError as exc:
            self._failed(self.result_path, exc)
        if self._fsync is not None:
            self._fsync.shutdown(wait=True)  # no fsync may run on a closed descriptor
            self._fsync = None
        if self._journal is not None:
            self._line({"type": "end", "run": result.data["run"]})
        if self._journal is not None:
            try:
                os.fsync(self._journal.fileno())
                self._journal.close()
            except OSError as exc:
                self._failed(self.journal_path, exc)
            self._journal = None

    def _line(self, obj: dict[str, Any]) -> None:
        if self._journal is None:
            return
        try:
            self._journal.write(json.dumps(self._redacted(obj), separators=(",", ":")) + "\n")
            self._journal.flush()
        except OSError as exc:
            self._failed(self.journal_path, exc)
            return
        if self._fsync is not None:
            self._fsync.submit(_fsync, self._journal.fileno())

    def _failed(self, path: Path, exc: OSError) -> None:
        """Keep the first failure; stop writing the file it happened on (what it holds stays)."""
        if self.failure is None:
            self.failure = OutputError(path, exc)
        if path == self.journal_path and self._journal is not None:
            journal, self._journal = self._journal, None
            if self._fsync is not None:
                self._fsync.shutdown(wait=True)
                self._fsync = None
            _close_quietly(journal)
        elif path == self.raw_path and self._raw is not None:
            raw, self._raw, self._raw_csv = self._raw, None, None
            _close_quietly(raw)

    def _close_all(self) -> None:
        if self._fsync is not None:
            self._fsync.shutdown(wait=True)
            self._fsync = None
        for f in (self._journal, self._raw):
            if f is not None:
                _close_quietly(f)
        self._journal = self._raw = self._raw_csv = None


def _fsync(fd: int) -> None:
    """On the fsync thread: a failure here shows up again on the next write or at close."""
    with contextlib.suppress(OSError):
        os.fsync(fd)


def _close_quietly(f: IO[str]) -> None:
    """Close a file whose write failed: the buffered rest cannot be written either."""
    with contextlib.suppress(OSError):
        f.close()


def _t(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:.3f}"


def _n(value: int | None) -> int | str:
    return "" if value is None else value
