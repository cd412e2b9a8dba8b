"""A prompt dataset file, indexed once and read one entry at a time.

``Dataset(path)`` makes one streaming pass to find where each entry starts (see ``index``),
then ``read(i)`` seeks there and decodes that entry alone, so a 1 GB file costs its index
(8 bytes an entry) and one entry's bytes, never the file. Sampling is ``draws`` (see
``sampling``). The file stays open until ``close()`` (or the ``with`` block ends).
"""

from __future__ import annotations

import csv
import io
import json
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from loadgen.core.datasets.index import IndexProblem, element_starts, record_starts
from loadgen.core.datasets.model import (
    FORMATS,
    Conversation,
    DatasetError,
    EntryError,
    Fields,
    Lengths,
)
from loadgen.core.datasets.rows import RowProblem, conversation
from loadgen.core.datasets.sampling import Draws

__all__ = ["Dataset", "guess_format"]

_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "csv"}
_EXTENSIONS[".json"] = "sharegpt"
_DECODER = json.JSONDecoder()


def guess_format(path: str | Path) -> str | None:
    """The format a file name suggests (``.jsonl``, ``.csv``, ``.json`` for ShareGPT)."""
    return _EXTENSIONS.get(Path(path).suffix.lower())


class Dataset:
    """Entries of a JSONL, CSV (with a header row) or ShareGPT JSON file.

    ``skip`` entries are passed over and at most ``max_rows`` kept (the pass stops there);
    ``delimiter`` is CSV's (a ``.tsv`` file defaults to a tab); ``count_tokens`` fills each
    conversation's ``reply_tokens``. Raises ``DatasetError`` for a missing or empty file
    or one that cannot be indexed; ``read`` raises ``EntryError`` for a malformed entry.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        format: str | None = None,  # the profile's word (shadows the builtin here only)
        fields: Fields | None = None,
        skip: int = 0,
        max_rows: int | None = None,
        delimiter: str | None = None,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.format = self._format(format)
        self.fields = fields or Fields()
        self.delimiter = delimiter or ("\t" if self.path.suffix.lower() == ".tsv" else ",")
        self.count_tokens = count_tokens
        self.header: list[str] = []
        self._file = self._open()
        try:
            began = time.perf_counter()
            self._starts = self._index(skip, max_rows)
            self.index_seconds = time.perf_counter() - began
        except BaseException:
            self._file.close()
            raise

    def __len__(self) -> int:
        return len(self._starts) - 1

    @property
    def index_bytes(self) -> int:
        """What the index holds in memory (the offsets array's buffer)."""
        return self._starts.buffer_info()[1] * self._starts.itemsize

    def read(self, entry: int) -> Conversation:
        """Entry ``entry`` (0-based, after ``skip``), read from the file now."""
        text = self._text(entry)
        try:
            row = self._decode(text, entry)
            found = conversation(row, self.fields, entry, self.count_tokens)
        except RowProblem as exc:
            raise self._entry_error(entry, exc.what, exc.fix, exc.field, exc.lines) from exc
        return found

    def draws(
        self,
        mode: str = "sequential",
        *,
        seed: int | None = None,
        lengths: Lengths | None = None,
        start: int = 0,
    ) -> Draws:
        """An endless seeded stream of this dataset's conversations (see ``sampling``);
        ``sequential`` begins at entry ``start``."""
        return Draws(self, mode, seed=seed, lengths=lengths, start=start)

    def check(self, limit: int = 100) -> list[EntryError]:
        """The problems of the first ``limit`` entries (``validate`` reads a sample, not
        the whole file)."""
        problems: list[EntryError] = []
        for entry in range(min(limit, len(self))):
            try:
                self.read(entry)
            except EntryError as exc:
                problems.append(exc)
        return problems

    def line_of(self, entry: int) -> int:
        """The 1-based line where ``entry`` starts (counted now: only errors need it)."""
        return self._line_at(self._starts[entry])

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _format(self, given: str | None) -> str:
        chosen = given or guess_format(self.path)
        if chosen in FORMATS:
            return chosen
        what = (
            f"unknown dataset format {given!r}"
            if given
            else f"cannot tell the format from the name {self.path.name!r}"
        )
        raise DatasetError(self.name, what, f"give the format: {', '.join(FORMATS)}")

    def _open(self) -> BinaryIO:
        try:
            return self.path.open("rb")
        except OSError as exc:
            why = "not found" if isinstance(exc, FileNotFoundError) else exc.strerror
            raise DatasetError(
                self.name,
                f"cannot open the dataset: {why} (looked for {self.path.resolve()})",
                "fix the path; a path in a profile is relative to the profile's folder",
            ) from exc

    def _index(self, skip: int, max_rows: int | None) -> array[int]:
        header = 1 if self.format == "csv" else 0
        stop = None if max_rows is None else header + skip + max_rows
        try:
            if self.format == "sharegpt":
                starts = element_starts(self._file, stop=stop)
            else:
                starts = record_starts(self._file, quoted=self.format == "csv", stop=stop)
        except IndexProblem as exc:
            line = self._line_at(exc.offset)
            raise DatasetError(self.name, exc.what, exc.fix, line=line) from exc
        if header and len(starts) > 1:
            self.header = self._header(starts)
        found = len(starts) - 1 - header
        del starts[: min(header + skip, len(starts) - 1)]
        if len(starts) <= 1:
            what = "the dataset has no entries" if found <= 0 else f"all {found} entries skipped"
            fix = "fill the file" if found <= 0 else "lower skip"
            raise DatasetError(self.name, what, fix)
        return starts

    def _header(self, starts: array[int]) -> list[str]:
        self._starts = starts
        names = [name.strip() for name in self._record(self._text(0), 0)]
        if not any(names) or len(set(names)) != len(names):
            raise DatasetError(
                self.name,
                f"the first row must name the columns, got {names[:8]}",
                "add a header row with one distinct name per column (for example: prompt)",
                line=1,
            )
        return names

    def _text(self, entry: int) -> str:
        start, end = self._starts[entry], self._starts[entry + 1]
        self._file.seek(start)
        data = self._file.read(end - start)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._entry_error(entry, "is not UTF-8 text", "save the file as UTF-8") from exc

    def _decode(self, text: str, entry: int) -> Any:
        if self.format == "csv":
            values = self._record(text, entry)
            if len(values) != len(self.header):
                raise RowProblem(
                    "",
                    f"has {len(values)} fields, the header {len(self.header)}",
                    "quote fields that hold the delimiter",
                )
            return dict(zip(self.header, values, strict=True))
        try:
            if self.format == "jsonl":
                return json.loads(text)
            return _DECODER.raw_decode(text.lstrip())[0]
        except json.JSONDecodeError as exc:
            problem = RowProblem("", f"not valid JSON: {exc.msg} at column {exc.colno}", "fix it")
            if self.format == "sharegpt":  # an element spans lines; a JSONL entry is one
                problem.lines = exc.lineno - 1
            raise problem from exc

    def _record(self, text: str, entry: int) -> list[str]:
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=self.delimiter) if row]
        if len(rows) != 1:
            raise RowProblem(
                "",
                "a quote inside an unquoted field makes this record unreadable",
                'quote the whole field and double the quote inside: "5"" screen"',
            )
        return rows[0]

    def _entry_error(
        self, entry: int, what: str, fix: str, field: str = "", lines: int = 0
    ) -> EntryError:
        if self.format == "sharegpt":  # the line is where the element starts
            what = f"{what} (entry {entry} of the array)"
        return EntryError(
            self.name, entry, what, fix, line=self.line_of(entry) + lines, field=field
        )

    def _line_at(self, offset: int) -> int:
        self._file.seek(0)
        lines, done = 1, 0
        while done < offset:
            chunk = self._file.read(min(1 << 20, offset - done))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            done += len(chunk)
        return lines
