"""Decode a Server-Sent Events stream without I/O: feed bytes, get events back.

The rules are WHATWG's event-stream interpretation, applied to bytes: a line ends at CRLF,
LF or CR and nowhere else (never U+2028 or U+0085, which is why ``str.splitlines`` and
``httpx``'s ``aiter_lines`` are unsuitable), a UTF-8 BOM at the start of the stream is
skipped, and only the values the caller sees are decoded. Two departures, both so the
engine can count a broken stream instead of silently repairing it:

* invalid UTF-8 in a field that is used (``data``, ``event``, ``id``) raises ``SSEError``
  instead of becoming U+FFFD; bytes of comments and unknown fields are never decoded;
* a line longer than ``max_line`` raises ``SSEError`` as soon as the buffered part of it
  passes the limit, so a server that never sends a newline cannot exhaust memory; so does an
  event whose ``data`` lines together pass it (millions of short ``data:`` lines, each kept
  until the blank line, cost ~40 bytes apiece).

After ``SSEError`` the stream is broken: the decoder has dropped what it buffered (at once,
not when the error is collected) and its state is unspecified.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Event", "SSEDecoder", "SSEError"]

_BOM = b"\xef\xbb\xbf"
# A retry value longer than this is ignored: int() refuses very long digit strings and no
# reconnection delay needs more than 18 digits of milliseconds.
_MAX_RETRY_DIGITS = 18


class SSEError(ValueError):
    """The stream is not a valid event stream: invalid UTF-8 in a field or an overlong line."""


@dataclass(slots=True)
class Event:
    """One dispatched event; treat it as immutable.

    Not ``frozen``: a frozen dataclass's ``__init__`` costs about four times as much, and one
    is built per streamed token.

    ``id`` is the stream's last event ID at dispatch (WHATWG ``lastEventId``, which persists
    across events), ``None`` while it is empty. ``retry`` is a valid ``retry`` field seen in
    this event's own block, else ``None``; the latest one is also ``SSEDecoder.retry``.
    """

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental decoder: ``feed`` chunks as they arrive, then ``close`` at end of stream.

    Chunk boundaries may fall anywhere, including inside a UTF-8 sequence, the BOM, or
    between the CR and LF of one CRLF. ``last_event_id`` is the stream's last event ID
    (``""`` until an ``id`` field is dispatched), for a ``Last-Event-ID`` on reconnection;
    ``retry`` is the latest valid reconnection time in milliseconds.
    """

    __slots__ = (
        "_data",
        "_data_len",
        "_event",
        "_head",
        "_id",
        "_in_event",
        "_max_line",
        "_parts",
        "_parts_len",
        "_retry_here",
        "_skip_lf",
        "last_event_id",
        "pending",
        "retry",
    )

    def __init__(self, *, max_line: int = 1 << 20) -> None:
        if max_line < 1:
            raise ValueError("max_line must be at least 1")
        self._max_line = max_line
        # Bytes seen at the start of the stream while it could still be a BOM; None once decided.
        self._head: bytes | None = b""
        # The previous chunk ended with CR: an LF starting the next one ends no new line.
        self._skip_lf = False
        # The partial line (never contains CR or LF), kept as pieces to avoid quadratic joins.
        self._parts: list[bytes] = []
        self._parts_len = 0
        self._data: list[bytes] = []
        self._data_len = 0  # bytes of the event's data lines so far, "data:" and LF included
        self._event = b""
        self._retry_here: int | None = None
        # WHATWG's "last event ID buffer": set by an id field, published at the next blank line.
        self._id = ""
        # A field line was seen since the last blank line (an event is under way).
        self._in_event = False
        self.last_event_id = ""
        self.retry: int | None = None
        #: Set by ``close``: the stream ended inside an event or a line. WHATWG discards
        #: that incomplete event; the engine counts it as ``stream_broken``.
        self.pending = False

    def feed(self, chunk: bytes) -> list[Event]:
        """Return the events completed by ``chunk``; raise ``SSEError`` on a broken stream."""
        # One function on purpose: it runs once per read, and a call per event or per path
        # costs as much as the C-level scans it makes (docs/performance.md).
        if self._head is not None:
            head = self._head + chunk
            if len(head) < 3 and _BOM.startswith(head):
                self._head = head
                return []
            self._head = None
            chunk = head[3:] if head.startswith(_BOM) else head
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 10:
                chunk = chunk[1:]
        # An int needle is a memchr; a one-byte bytes needle is several times slower.
        has_cr = 13 in chunk
        if not has_cr:
            if 10 not in chunk:
                if chunk:
                    self._parts.append(chunk)
                    self._parts_len += len(chunk)
                    if self._parts_len > self._max_line:
                        raise self._broken(f"line longer than {self._max_line} bytes")
                return []
            # Fastest path, the usual read of a token stream: exactly one "data: ...\n\n"
            # event, between events. Outside an event the event type, retry and data buffers
            # are empty and the id buffer equals last_event_id, so the event is just this.
            end = len(chunk) - 2
            if (
                chunk.find(10) == end
                and chunk[-1] == 10
                and not self._in_event
                and not self._parts
                and chunk.startswith(b"data: ")
                and end <= self._max_line
            ):
                try:
                    text = chunk[6:end].decode()
                except UnicodeDecodeError as exc:
                    raise _utf8_error(exc) from exc
                return [Event(text, "message", self.last_event_id or None, None)]
            # Next fastest: a read holding several whole events, between events (a fast
            # server's whole answer in one read). Blocks that are one "data: " line become
            # events at once; any other block goes through the full line machine, which is
            # safe because every block starts between events.
            if (
                chunk.endswith(b"\n\n")
                and not self._in_event
                and not self._parts
                and len(chunk) <= self._max_line
            ):
                return self._blocks(chunk)
        if self._parts:
            self._parts.append(chunk)
            data = b"".join(self._parts)
            self._parts = []
            self._parts_len = 0
        else:
            data = chunk
        if has_cr:
            # CR at the very end already ends its line; an LF opening the next chunk is its pair.
            self._skip_lf = data[-1] == 13
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = data.split(b"\n")
        tail = lines.pop()
        if tail:
            if len(tail) > self._max_line:
                raise self._broken(f"line longer than {self._max_line} bytes")
            self._parts.append(tail)
            self._parts_len = len(tail)
        # Only a chunk longer than the limit can hold an overlong complete line.
        if len(data) > self._max_line and max(map(len, lines)) > self._max_line:
            raise self._broken(f"line longer than {self._max_line} bytes")
        return self._lines(lines)

    def _broken(self, why: str) -> SSEError:
        """Drop every buffer before the error is raised: the exception's traceback keeps this
        decoder alive until the collector runs (a 520 MiB plateau, measured)."""
        self._parts = []
        self._parts_len = 0
        self._data = []
        self._data_len = 0
        return SSEError(why)

    def close(self) -> list[Event]:
        """End of stream: discard an incomplete event (WHATWG) and set ``pending`` if there was one.

        Always returns ``[]``; it exists so callers treat every decoder alike.
        """
        self.pending = bool(self._parts or self._in_event or self._head)
        self._parts = []
        self._parts_len = 0
        self._data = []
        self._data_len = 0
        self._event = b""
        self._retry_here = None
        self._in_event = False
        self._id = self.last_event_id
        self._head = None
        self._skip_lf = False
        return []

    def skip_whole_events(self) -> bool:
        """Let a caller that has counted a read of whole ``data:`` events itself skip ``feed``.

        True when the decoder is between events (no partial line, no event under way, no CR
        awaiting its LF): the caller's read, which must start with ``data:`` and end with a
        blank line, then leaves the decoder between events again, and its state is advanced
        as ``feed`` would (a BOM is no longer possible). False changes nothing.
        """
        if self._in_event or self._parts or self._skip_lf or self._head:
            return False
        self._head = None
        return True

    def _blocks(self, chunk: bytes) -> list[Event]:
        events: list[Event] = []
        blocks = chunk.split(b"\n\n")
        blocks.pop()  # the empty tail after the last blank line
        for block in blocks:
            if block.startswith(b"data: ") and 10 not in block:
                try:
                    text = block[6:].decode()
                except UnicodeDecodeError as exc:
                    raise _utf8_error(exc) from exc
                events.append(Event(text, "message", self.last_event_id or None, None))
            elif block:
                events.extend(self._lines([*block.split(b"\n"), b""]))
            else:
                events.extend(self._lines([b""]))  # "\n\n\n\n": blank lines dispatch nothing
        return events

    def _lines(self, lines: list[bytes]) -> list[Event]:
        # One function on purpose: the WHATWG line machine for every line the fast paths in
        # feed() leave; it runs per line, where a method call per field would cost more than
        # the field.
        events: list[Event] = []
        data = self._data
        size = self._data_len
        limit = self._max_line + 1  # one line of max_line bytes and its LF is fine
        in_event = self._in_event
        for line in lines:
            if not line:
                if in_event:
                    in_event = False
                    self.last_event_id = last_id = self._id
                    if data:
                        try:
                            text = (data[0] if len(data) == 1 else b"\n".join(data)).decode()
                            kind = self._event.decode() if self._event else "message"
                        except UnicodeDecodeError as exc:
                            raise _utf8_error(exc) from exc
                        events.append(Event(text, kind, last_id or None, self._retry_here))
                        data = self._data = []
                        size = 0
                    self._event = b""
                    self._retry_here = None
                continue
            # The common case, a "data: " line, skips the generic field split.
            if line.startswith(b"data: "):
                data.append(line[6:])
                in_event = True
                size += len(line) + 1
                if size > limit:
                    raise self._broken(f"event data longer than {self._max_line} bytes")
                continue
            colon = line.find(58)  # ":"
            if colon == 0:
                continue  # a comment: it starts no event
            in_event = True
            if colon < 0:
                name, value = line, b""
            else:
                name = line[:colon]
                start = colon + 2 if line[colon + 1 : colon + 2] == b" " else colon + 1
                value = line[start:]
            if name == b"data":
                data.append(value)
                size += len(line) + 1
                if size > limit:
                    raise self._broken(f"event data longer than {self._max_line} bytes")
            elif name == b"event":
                self._event = value
            elif name == b"id":
                if 0 not in value:
                    self._id = _decode(value)
            elif name == b"retry" and value.isdigit() and len(value) <= _MAX_RETRY_DIGITS:
                self.retry = self._retry_here = int(value)
        self._in_event = in_event
        self._data_len = size
        return events


def _decode(value: bytes) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError as exc:
        raise _utf8_error(exc) from exc


def _utf8_error(exc: UnicodeDecodeError) -> SSEError:
    return SSEError(f"invalid UTF-8 in an event field: {exc.reason} at byte {exc.start}")
