"""One streaming pass over a dataset file → the byte offset where each entry starts.

The index is an ``array('q')`` of starts with the end of the last entry appended, 8 bytes an
entry: a 1 GB file of 1 KB lines is about 1 M entries and 8 MB. Entries are read later by
seek and read, so the file itself never sits in memory; the pass reads ``CHUNK`` bytes at a
time and keeps at most one entry's unfinished tail between chunks.

Two scanners:

- ``record_starts`` for JSONL and CSV: an entry starts a line; blank lines are not entries.
  For CSV a line break inside a quoted field does not end the record: a record is over when
  its quotes are balanced (RFC 4180 doubles a quote inside a quoted field, which keeps the
  count even). A quote inside an *unquoted* field breaks that rule; the read of such a
  record sees more than one record and says so.
- ``element_starts`` for one JSON array (ShareGPT): a regular expression consumes whole
  strings (so brackets inside text do not count) up to the next bracket, and the depth
  says where each top-level element begins (an element that is a string or a number has no
  bracket and is passed over; an array element fails when read).

Both run their inner loops in C (``bytes.find``, ``bytes.count``, ``re.finditer``); a Python
loop runs per line or per bracket, not per byte.
"""

from __future__ import annotations

import re
from array import array
from typing import BinaryIO

__all__ = ["CHUNK", "MAX_ENTRY_BYTES", "IndexProblem", "element_starts", "record_starts"]

CHUNK = 1 << 20
MAX_ENTRY_BYTES = 16 << 20  # a prompt of millions of tokens; past it a file is not a dataset
_BLANK = frozenset(b" \t\r\n\x0b\x0c")
_BOM = b"\xef\xbb\xbf"
_QUOTE, _OPEN = ord('"'), frozenset(b"[{")
# Everything up to the next bracket outside a string (whole strings and other bytes in one
# match, possessive so a miss never backtracks), then the bracket; or a lone quote: a string
# this buffer does not close; or the end of the buffer.
_TOKEN = re.compile(rb'(?:[^"\[\]{}]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+([\[\]{}]|"|\Z)', re.DOTALL)


class IndexProblem(ValueError):
    """The file cannot be indexed; ``offset`` is where (the dataset turns it into a line)."""

    def __init__(self, offset: int, what: str, fix: str) -> None:
        self.offset, self.what, self.fix = offset, what, fix
        super().__init__(what)


def _skip_bom(file: BinaryIO) -> int:
    head = file.read(len(_BOM))
    start = len(_BOM) if head == _BOM else 0
    file.seek(start)
    return start


def record_starts(file: BinaryIO, *, quoted: bool, stop: int | None = None) -> array[int]:
    """Starts of the first ``stop`` (all when None) non-blank records, then their end.

    ``quoted``: CSV, where a quoted field may hold line breaks. One function: the loop runs
    once per line of a file that may have millions."""
    starts: array[int] = array("q")
    base = start = _skip_bom(file)
    content = inside = False  # the record has a non-blank byte; a quoted field is open
    while chunk := file.read(CHUNK):
        i, size = 0, len(chunk)
        while True:
            nl = chunk.find(b"\n", i)
            end = size if nl < 0 else nl
            if not content and end > i:
                content = chunk[i] not in _BLANK or bool(chunk[i:end].strip())
            if quoted and chunk.count(b'"', i, end) % 2:
                inside = not inside
            if nl < 0:
                break
            i = nl + 1
            if inside:
                continue
            if content:
                _add(starts, start)
                if stop is not None and len(starts) > stop:
                    return starts
            content = False
            start = base + i
        base += size
    if content:
        _add(starts, start)
    starts.append(base)
    _check_last(starts)
    return starts


def element_starts(file: BinaryIO, *, stop: int | None = None) -> array[int]:
    """Starts of the first ``stop`` (all when None) elements of the top-level JSON array,
    then the offset of its closing bracket. One function: the loop runs once per bracket."""
    starts: array[int] = array("q")
    depth, base, buf = 0, _skip_bom(file), b""
    while chunk := file.read(CHUNK):
        buf += chunk
        keep = len(buf)
        for match in _TOKEN.finditer(buf):
            at = match.start(1)
            if at == keep:  # the end of the buffer
                break
            token = buf[at]
            if token == _QUOTE:  # a string the next chunk finishes
                keep = at
                break
            if token in _OPEN:
                if depth == 0 and token != ord("["):
                    _not_an_array(base + at)
                if depth == 1:
                    _add(starts, base + at)
                    if stop is not None and len(starts) > stop:
                        return starts
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    starts.append(base + at)
                    _check_last(starts)
                    return starts
        if len(buf) - keep > MAX_ENTRY_BYTES:
            _too_large(base + keep)
        base += keep
        buf = buf[keep:]
    raise IndexProblem(base, "the JSON array is not closed (the file ends inside it)", _ARRAY_FIX)


def _add(starts: array[int], start: int) -> None:
    if starts and start - starts[-1] > MAX_ENTRY_BYTES:
        _too_large(starts[-1])
    starts.append(start)


def _check_last(starts: array[int]) -> None:
    if len(starts) >= 2 and starts[-1] - starts[-2] > MAX_ENTRY_BYTES:
        _too_large(starts[-2])


def _too_large(offset: int) -> None:
    raise IndexProblem(
        offset,
        f"an entry is over {MAX_ENTRY_BYTES >> 20} MiB",
        "split it, or check the format: a CSV quote left open swallows the rest of the file",
    )


def _not_an_array(offset: int) -> None:
    raise IndexProblem(
        offset,
        "expected a JSON array of conversations, found an object",
        "for one JSON object per line use format jsonl",
    )


_ARRAY_FIX = 'write [{"conversations": [{"from": "human", "value": "..."}, ...]}, ...]'
