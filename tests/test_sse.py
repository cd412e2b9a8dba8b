"""Tests for loadgen.core.sse: WHATWG event-stream rules, chunk-boundary independence, errors."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadgen.core.sse import Event, SSEDecoder, SSEError


def decode(*chunks: bytes, max_line: int = 1 << 20) -> tuple[list[Event], bool, str]:
    """Feed ``chunks`` then close; return (events, pending, last_event_id)."""
    decoder = SSEDecoder(max_line=max_line)
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    events += decoder.close()
    return events, decoder.pending, decoder.last_event_id


def ev(data: str, event: str = "message", id: str | None = None, retry: int | None = None) -> Event:
    return Event(data, event, id, retry)


OPENAI = (
    b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":"lo \xe2\x80\xa8 w\xc3\xb6rld"}}]}\n\n'
    b"data: [DONE]\n\n"
)

# (id, stream, expected events, pending at close)
CASES = [
    pytest.param(b"data: hello\n\n", [ev("hello")], False, id="a single data line makes one event"),
    pytest.param(b"data: a\r\n\r\n", [ev("a")], False, id="CRLF ends lines"),
    pytest.param(b"data: a\r\r", [ev("a")], False, id="a lone CR ends lines"),
    pytest.param(
        b"data: a\rdata: b\n\r\n", [ev("a\nb")], False, id="mixed line endings in one event"
    ),
    pytest.param(
        b"data: a\n", [], True, id="a missing blank line discards the event and sets pending"
    ),
    pytest.param(
        b"data: a\n\ndata: b",
        [ev("a")],
        True,
        id="a partial last line is discarded and sets pending",
    ),
    pytest.param(
        b"data: a\n\n: bye", [ev("a")], True, id="a partial comment line also sets pending"
    ),
    pytest.param(
        b"data: a\n\n", [ev("a")], False, id="a stream ending on a blank line is not pending"
    ),
    pytest.param(
        b"data: a\n\n: keep-alive\n", [ev("a")], False, id="a trailing comment line is not pending"
    ),
    pytest.param(b"event: x\n", [], True, id="an event type without a blank line is pending"),
    pytest.param(b": hi\ndata: a\n: there\n\n", [ev("a")], False, id="comments are ignored"),
    pytest.param(b":\n\n", [], False, id="a bare colon is a comment and dispatches nothing"),
    pytest.param(b"data: a\ndata: b\n\n", [ev("a\nb")], False, id="data lines join with LF"),
    pytest.param(
        b"data: a\ndata:\n\n", [ev("a\n")], False, id="an empty data line adds a trailing LF"
    ),
    pytest.param(b"data\n\n", [ev("")], False, id="a field without colon has an empty value"),
    pytest.param(b"data:\n\n", [ev("")], False, id="one empty data line dispatches an empty event"),
    pytest.param(b"event: x\n\n", [], False, id="an event without data is not dispatched"),
    pytest.param(
        b"event: x\n\ndata: a\n\n", [ev("a")], False, id="the event type resets after a blank line"
    ),
    pytest.param(b"data:a\n\n", [ev("a")], False, id="no space after the colon is fine"),
    pytest.param(b"data:  a \n\n", [ev(" a ")], False, id="exactly one space is stripped"),
    pytest.param(b"data: a:b: c\n\n", [ev("a:b: c")], False, id="later colons belong to the value"),
    pytest.param(b"event: delta\ndata: a\n\n", [ev("a", "delta")], False, id="event sets the type"),
    pytest.param(b"event:\ndata: a\n\n", [ev("a")], False, id="an empty event type means message"),
    pytest.param(
        b"id: 7\ndata: a\n\ndata: b\n\n",
        [ev("a", id="7"), ev("b", id="7")],
        False,
        id="the last event id persists across events",
    ),
    pytest.param(
        b"id: 7\ndata: a\n\nid\ndata: b\n\n",
        [ev("a", id="7"), ev("b")],
        False,
        id="an empty id resets the last event id",
    ),
    pytest.param(
        b"id: 7\ndata: a\n\nid: 8\0\ndata: b\n\n",
        [ev("a", id="7"), ev("b", id="7")],
        False,
        id="an id containing NUL is ignored",
    ),
    pytest.param(
        b"retry: 3000\ndata: a\n\n", [ev("a", retry=3000)], False, id="retry with digits is read"
    ),
    pytest.param(
        b"retry: 3s\ndata: a\n\n", [ev("a")], False, id="retry with a non-digit is ignored"
    ),
    pytest.param(b"retry: -1\ndata: a\n\n", [ev("a")], False, id="a negative retry is ignored"),
    pytest.param(b"retry:\ndata: a\n\n", [ev("a")], False, id="an empty retry is ignored"),
    pytest.param(
        b"retry: \xd9\xa3\ndata: a\n\n", [ev("a")], False, id="a non-ASCII digit retry is ignored"
    ),
    pytest.param(b"foo: bar\ndata: a\n\n", [ev("a")], False, id="unknown fields are ignored"),
    pytest.param(b"Data: a\n\n", [], False, id="field names are case-sensitive"),
    pytest.param(b"\xef\xbb\xbfdata: a\n\n", [ev("a")], False, id="a leading BOM is skipped"),
    pytest.param(
        b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n", [], False, id="only one leading BOM is skipped"
    ),
    pytest.param(
        b"data: \xef\xbb\xbfa\n\n", [ev("\ufeffa")], False, id="a BOM inside data is kept"
    ),
    pytest.param(
        "data: a\u2028b\x85c\n\n".encode(),
        [ev("a\u2028b\x85c")],
        False,
        id="U+2028 and U+0085 do not end lines",
    ),
    pytest.param(b"data: [DONE]\n\n", [ev("[DONE]")], False, id="DONE is an ordinary event here"),
    pytest.param(
        b"\n\n\ndata: a\n\n\n\ndata: b\n\n",
        [ev("a"), ev("b")],
        False,
        id="extra blank lines dispatch nothing",
    ),
    pytest.param(
        b": \xff\xfe comment\nfoo: \xff\ndata: a\n\n",
        [ev("a")],
        False,
        id="bytes of comments and unknown fields are never decoded",
    ),
    pytest.param(
        OPENAI,
        [
            ev('{"choices":[{"delta":{"role":"assistant","content":""}}]}'),
            ev('{"choices":[{"delta":{"content":"Hel"}}]}'),
            ev('{"choices":[{"delta":{"content":"lo \u2028 wörld"}}]}'),
            ev("[DONE]"),
        ],
        False,
        id="an OpenAI stream with multi-byte text",
    ),
]


@pytest.mark.parametrize(("stream", "expected", "pending"), CASES)
def test_whole_stream(stream: bytes, expected: list[Event], pending: bool) -> None:
    """Each rule holds when the stream arrives in one chunk."""
    events, was_pending, _ = decode(stream)
    assert events == expected
    assert was_pending is pending


@pytest.mark.parametrize(("stream", "expected", "pending"), CASES)
def test_every_split_point(stream: bytes, expected: list[Event], pending: bool) -> None:
    """Splitting the stream in two at any byte, or into single bytes, changes nothing."""
    for cut in range(len(stream) + 1):
        assert decode(stream[:cut], stream[cut:])[:2] == (expected, pending), cut
    single = [stream[i : i + 1] for i in range(len(stream))]
    assert decode(*single)[:2] == (expected, pending)


def test_cr_then_lf_in_next_chunk_is_one_line_end() -> None:
    """A CR closing one chunk and an LF opening the next make one CRLF, not a blank line."""
    assert decode(b"data: a\r", b"\ndata: b\r\n\r\n")[0] == [ev("a\nb")]
    assert decode(b"data: a\r", b"", b"\n", b"\r\n")[0] == [ev("a")]
    assert decode(b"data: a\r", b"\r")[0] == [ev("a")]


def test_last_event_id_is_published_at_dispatch() -> None:
    """``last_event_id`` changes at the blank line, and an incomplete event's id is dropped."""
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n")
    assert decoder.last_event_id == ""
    decoder.feed(b"\nid: 2\n")
    assert decoder.last_event_id == "1"
    decoder.close()
    assert decoder.last_event_id == "1"


def test_retry_is_kept_on_the_decoder_even_without_an_event() -> None:
    """A retry-only block dispatches nothing but still sets the reconnection time."""
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 1500\n\n") == []
    assert decoder.retry == 1500


def test_huge_retry_is_ignored() -> None:
    """A retry too long for int() is ignored instead of raising."""
    assert decode(b"retry: " + b"9" * 5000 + b"\ndata: a\n\n")[0] == [ev("a")]


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(b"data: \xff\n\n", id="an invalid byte in data"),
        pytest.param(b"data: \xe2\x80\n\n", id="a truncated sequence in data"),
        pytest.param(b"data: \xed\xa0\x80\n\n", id="an encoded surrogate in data"),
        pytest.param(b"event: \xc3\x28\ndata: a\n\n", id="invalid UTF-8 in the event type"),
        pytest.param(b"id: \xff\n", id="invalid UTF-8 in an id"),
        pytest.param(b"data: a\ndata: \xff\n\n", id="invalid UTF-8 in a later data line"),
    ],
)
def test_invalid_utf8_raises(stream: bytes) -> None:
    """Invalid UTF-8 in a used field raises SSEError, whole or byte by byte."""
    with pytest.raises(SSEError, match="UTF-8"):
        decode(stream)
    with pytest.raises(SSEError, match="UTF-8"):
        decode(*[stream[i : i + 1] for i in range(len(stream))])


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param([b"data: " + b"x" * 20], id="an unterminated line in one chunk"),
        pytest.param([b"data: " + b"x" * 20 + b"\n\n"], id="a complete line in one chunk"),
        pytest.param([b"data: a\n\ndata: " + b"x" * 20 + b"\ndata: b\n"], id="a line among others"),
        pytest.param([b"d"] * 30, id="a line fed one byte at a time"),
        pytest.param([b"data: 123456789\r", b"data: " + b"y" * 20], id="a line after a CR"),
    ],
)
def test_overlong_line_raises(chunks: list[bytes]) -> None:
    """A line past max_line raises while it is being buffered, before the line ends."""
    with pytest.raises(SSEError, match="longer than 16"):
        decode(*chunks, max_line=16)


def test_overlong_line_raises_as_soon_as_it_passes_the_limit() -> None:
    """Byte by byte, the error comes with the byte that passes the limit, not at the newline."""
    decoder = SSEDecoder(max_line=8)
    for byte in b"data: ab":
        decoder.feed(bytes([byte]))
    with pytest.raises(SSEError):
        decoder.feed(b"c")


def test_line_of_exactly_max_line_is_accepted() -> None:
    """The limit is inclusive: a line of max_line bytes is fine."""
    assert decode(b"data: 1234567890\n\n", max_line=16)[0] == [ev("1234567890")]
    assert decode(*[b"data: 1234567890"[i : i + 1] for i in range(16)], b"\n\n", max_line=16)[
        0
    ] == [ev("1234567890")]


def test_partial_bom_at_close_is_pending() -> None:
    """A stream cut inside a would-be BOM ended mid-line."""
    assert decode(b"\xef\xbb") == ([], True, "")


# A straightforward WHATWG reference over already-decoded text, for the property tests.
def reference(text: str) -> tuple[list[Event], bool]:
    text = text.removeprefix("\ufeff")
    lines = re.split(r"\r\n|\r|\n", text)
    tail = lines.pop()
    events: list[Event] = []
    data: list[str] = []
    kind = ""
    id_buffer = last_id = ""
    retry: int | None = None
    started = False
    for line in lines:
        if not line:
            if started:
                last_id = id_buffer
                if data:
                    events.append(Event("\n".join(data), kind or "message", last_id or None, retry))
            data, kind, retry, started = [], "", None, False
            continue
        if line.startswith(":"):
            continue
        started = True
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            kind = value
        elif name == "id" and "\0" not in value:
            id_buffer = value
        elif name == "retry" and value and all("0" <= c <= "9" for c in value):
            retry = int(value)
    return events, bool(tail) or started


_VALUE = st.text(st.characters(exclude_characters="\r\n", exclude_categories=["Cs"]), max_size=8)
_LINE = st.one_of(
    st.just(""),
    st.builds(lambda v: "data: " + v, _VALUE),
    st.builds(lambda v: "data:" + v, _VALUE),
    st.builds(lambda v: "event: " + v, _VALUE),
    st.builds(lambda v: "id: " + v, _VALUE),
    st.builds(lambda v: "retry: " + v, st.from_regex(r"[0-9]{0,4}x?", fullmatch=True)),
    st.builds(lambda v: ":" + v, _VALUE),
    _VALUE,
)


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_LINE, st.sampled_from(["\n", "\r", "\r\n"])), max_size=20))
    text = "".join(line + end for line, end in lines)
    if draw(st.booleans()):
        text += draw(_LINE)
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text.encode()


def rechunk(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(stream)) for c in cuts})
    return [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]


@settings(max_examples=300, deadline=None)
@given(streams())
def test_matches_reference(stream: bytes) -> None:
    """On any valid stream the decoder agrees with a plain reading of the WHATWG rules."""
    events, pending, _ = decode(stream)
    assert (events, pending) == reference(stream.decode())


@settings(max_examples=300, deadline=None)
@given(streams(), st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_rechunking_never_changes_events(stream: bytes, cuts: list[int]) -> None:
    """Events, pending and last_event_id do not depend on where chunks end."""
    assert decode(*rechunk(stream, cuts)) == decode(stream)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64), st.lists(st.integers(min_value=0, max_value=64), max_size=6))
def test_arbitrary_bytes_give_events_or_sse_error(stream: bytes, cuts: list[int]) -> None:
    """Any bytes, in any chunks, produce events or SSEError and never another exception."""
    for max_line in (8, 1 << 20):
        try:
            events, _, _ = decode(*rechunk(stream, cuts), max_line=max_line)
        except SSEError:
            continue
        assert all(isinstance(e.data, str) for e in events)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_error_or_not_does_not_depend_on_chunking(stream: bytes) -> None:
    """Whole or byte by byte, the same stream either fails or yields the same events."""

    def outcome(*chunks: bytes) -> object:
        try:
            return decode(*chunks, max_line=16)
        except SSEError:
            return "error"

    assert outcome(stream) == outcome(*[stream[i : i + 1] for i in range(len(stream))])


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        pytest.param(
            [b"id: 5\ndata: a\n\n", b"data: b\n\n"],
            [ev("a", id="5"), ev("b", id="5")],
            id="a one-event read after an id keeps that id",
        ),
        pytest.param(
            [b"event: x\n", b"data: b\n\n"],
            [ev("b", "x")],
            id="a one-event read inside an event keeps its type",
        ),
        pytest.param(
            [b"data: a\n", b"data: b\n\n"],
            [ev("a\nb")],
            id="a one-event read inside an event joins its data",
        ),
        pytest.param(
            [b"data: x", b"data: b\n\n"],
            [ev("xdata: b")],
            id="a one-event read after a partial line continues that line",
        ),
        pytest.param(
            [b"retry: 10\n", b"data: b\n\n"],
            [ev("b", retry=10)],
            id="a one-event read after a retry field carries the retry",
        ),
    ],
)
def test_one_event_per_read(reads: list[bytes], expected: list[Event]) -> None:
    """The one-event-per-read shortcut respects state left by earlier reads."""
    assert decode(*reads)[0] == expected
