"""The OpenAI reader's bytes-level counting of whole reads agrees with reading event by event.

``keep_text=True`` forces the event-by-event path (it needs every token's text), so feeding
the same reads to both readers must give the same content-event times, usage and end marker,
or the same error kind. Each case is one kind of read the counting path must either count
exactly or hand over to the event-by-event path.
"""

from __future__ import annotations

import json

import pytest
from support import reader_outcome

from loadgen.core.readers import OpenAIReader, StreamEnded
from loadgen.core.sse import SSEError


def event(delta: dict | None = None, **extra: object) -> bytes:
    body: dict[str, object] = {"id": "c", "object": "chat.completion.chunk"}
    body["choices"] = [] if delta is None else [{"index": 0, "delta": delta}]
    body.update(extra)
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


ROLE = event({"role": "assistant", "content": ""})
STOP = b'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
DONE = b"data: [DONE]\n\n"
USAGE = event(None, usage={"completion_tokens": 3})


def tokens(*texts: str) -> bytes:
    return b"".join(event({"content": t}) for t in texts)


CASES: dict[str, list[bytes]] = {
    "whole answer in one read": [ROLE + tokens("a", "b", "c") + STOP + USAGE + DONE],
    "answer and [DONE] apart": [ROLE + tokens("a", "b", "c") + STOP + USAGE, DONE],
    "usage first in its read": [ROLE + tokens("a", "b", "c"), USAGE + STOP + DONE],
    "usage only": [ROLE + tokens("a"), USAGE, DONE],
    "usage chunk carrying content": [
        ROLE + event({"content": "x"}, usage={"completion_tokens": 1}) + DONE
    ],
    "two usage chunks": [
        ROLE + tokens("a") + USAGE + event(None, usage={"completion_tokens": 4}) + DONE
    ],
    "non-ASCII content": [ROLE + tokens("é", "🚀", "ok") + DONE],
    "escaped quotes in content": [ROLE + tokens('say "content":"x"', "b") + DONE],
    "empty content mid-stream": [ROLE + tokens("a", "", "b") + DONE],
    "reasoning content": [ROLE + event({"reasoning_content": "think"}) + tokens("a") + DONE],
    "content null": [event({"role": "assistant", "content": None}) + tokens("a") + DONE],
    "spaced JSON": [b'data: {"choices": [{"delta": {"content": "a"}}]}\n\n' + DONE],
    "content as parts": [b'data: {"choices":[{"delta":{"content":[{"text":"a"}]}}]}\n\n' + DONE],
    "one read per event": [ROLE, *(event({"content": t}) for t in "abc"), STOP, USAGE, DONE],
    "keep-alive comment": [ROLE + b": ping\n\n" + tokens("a") + DONE],
    "named event": [ROLE + b"event: ping\ndata: {}\n\n" + tokens("a") + DONE],
    "multi-line data": [ROLE + b'data: {"choices":[{"delta":\ndata: {"content":"a"}}]}\n\n' + DONE],
    "CRLF line ends": [(ROLE + tokens("a", "b") + DONE).replace(b"\n", b"\r\n")],
    "blank lines between events": [ROLE + b"\n\n" + tokens("a", "b") + DONE],
    "read ending mid-event": [
        ROLE + tokens("a") + b'data: {"choices":[{"del',
        b'ta":{}}]}\n\n' + DONE,
    ],
    "[DONE] twice": [ROLE + tokens("a") + DONE + DONE],
    "events after [DONE]": [ROLE + tokens("a") + DONE + tokens("b")],
    "error object": [ROLE + tokens("a") + event(None, error={"message": "overloaded"}) + DONE],
    "error event": [ROLE + tokens("a") + b"event: error\ndata: {}\n\n" + DONE],
    "invalid UTF-8": [ROLE + b'data: {"choices":[{"delta":{"content":"\xff"}}]}\n\n' + DONE],
    "no [DONE]": [ROLE + tokens("a", "b")],
    "finish_reason, no [DONE]": [ROLE + tokens("a", "b") + STOP],
    "finish_reason, usage, no [DONE]": [ROLE + tokens("a"), STOP, USAGE],
    "spaced finish_reason, no [DONE]": [
        ROLE + tokens("a") + b'data: {"choices":[{"delta":{},"finish_reason": "stop"}]}\n\n'
    ],
    "content with finish_reason, no [DONE]": [
        ROLE + b'data: {"choices":[{"delta":{"content":"a"},"finish_reason":"length"}]}\n\n'
    ],
    "cut inside the last event": [ROLE + tokens("a") + b'data: {"choices":[{"delta":{}'],
    "BOM first": [b"\xef\xbb\xbf" + ROLE + tokens("a") + DONE],
    "unbalanced braces": [ROLE + b'data: {"choices":[{"delta":{"content":"a"}}]\n\n' + DONE],
}


def paced(*events: bytes) -> list[bytes]:
    """A model server's pacing: the role chunk, then each event in a read of its own."""
    return [ROLE, *events, STOP, USAGE, DONE]


# One event per read (a token as it is decoded): the reads the paced path takes or hands on.
PACED_CASES: dict[str, list[bytes]] = {
    "paced tokens": paced(*(event({"content": t}) for t in "abc")),
    "paced, usage null on every chunk": paced(
        *(event({"content": t}, usage=None) for t in "ab"), event({"content": ""}, usage=None)
    ),
    "paced, usage object beside content": paced(
        event({"content": "a"}), event({"content": "b"}, usage={"completion_tokens": 2})
    ),
    "paced, reasoning then content": paced(
        event({"reasoning_content": "hm"}), event({"content": "a"})
    ),
    "paced, reasoning beside content": paced(
        event({"reasoning_content": "hm", "content": "a"}), event({"content": "b"})
    ),
    "paced, OpenRouter reasoning beside empty content": paced(
        event({"content": "", "reasoning": "hm"}), event({"content": "a"})
    ),
    "paced, tool call beside empty content": paced(
        event({"content": "", "tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
    ),
    "paced, content with finish_reason": [
        ROLE,
        event({"content": "a"}),
        b'data: {"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"stop"}]}\n\n',
    ],
    "paced, error beside content": paced(event({"content": "a"}, error={"message": "x"})),
    "paced, non-ASCII": paced(*(event({"content": t}) for t in ("é", "🚀", "\u2028"))),
    "paced, invalid UTF-8": paced(
        event({"content": "a"}), b'data: {"choices":[{"delta":{"content":"\xff"}}]}\n\n'
    ),
    "paced, CRLF": [r.replace(b"\n", b"\r\n") for r in paced(event({"content": "a"}))],
    "paced, escaped content key in the text": paced(event({"content": '"content":"x'})),
    "paced, read split mid-event": [
        ROLE,
        event({"content": "a"})[:20],
        event({"content": "a"})[20:],
    ],
    "paced, no role chunk first": [event({"content": "a"}), event({"content": "b"}), DONE],
    "paced, BOM then tokens": [b"\xef\xbb\xbf" + ROLE, event({"content": "a"}), DONE],
    "paced, keep-alive comment between": paced(event({"content": "a"}), b": ping\n\n"),
    "paced, no [DONE]": [ROLE, event({"content": "a"}), event({"content": "b"})],
    "paced, not an object": paced(b'data: ["content":"a"]\n\n'),
}
CASES.update(PACED_CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_counting_whole_reads_agrees_with_reading_each_event(name: str) -> None:
    reads = CASES[name]
    assert reader_outcome(reads, keep_text=False) == reader_outcome(reads, keep_text=True)


@pytest.mark.parametrize("name", list(PACED_CASES))
def test_paced_reads_mark_reasoning_as_reading_each_event_does(name: str) -> None:
    """Which content events were reasoning, and whether a finish came, agree too."""
    readers = [OpenAIReader(keep_text=k) for k in (False, True)]
    for reader in readers:
        try:
            for i, read in enumerate(PACED_CASES[name]):
                reader.feed(read, float(i))
        except ValueError:
            pass
    fast, full = readers
    assert fast.reasoning_at == full.reasoning_at
    assert fast.token_times == full.token_times


def test_a_paced_read_is_stamped_with_its_own_time() -> None:
    """Each one-token read keeps the time it came: one stamp per read, in order."""
    reader = OpenAIReader()
    for i, read in enumerate(paced(*(event({"content": t}) for t in "abcd"))):
        reader.feed(read, 10.0 + i)
    reader.close(20.0)
    assert reader.token_times == [11.0, 12.0, 13.0, 14.0]
    assert reader.usage_tokens == 3  # USAGE's, whatever the count of events
    assert reader.done


def test_a_whole_answer_is_counted_with_the_time_of_its_read() -> None:
    reader = OpenAIReader()
    reader.feed(ROLE + tokens("a", "b", "c") + STOP, 1.5)
    reader.feed(USAGE + DONE, 2.5)
    reader.close(3.0)
    assert reader.token_times == [1.5, 1.5, 1.5]
    assert reader.usage_tokens == 3
    assert reader.done


def test_counting_refuses_a_read_longer_than_the_line_limit() -> None:
    """A read past max_line goes to the decoder, which reports the overlong line."""
    big = event({"content": "x" * 400})
    reader = OpenAIReader(max_line=256)
    with pytest.raises(SSEError, match="longer than 256"):
        reader.feed(big, 0.0)


END_CASES = [
    pytest.param([ROLE + tokens("a", "b") + STOP + USAGE], "finish_reason", id="finish then end"),
    pytest.param([ROLE + tokens("a"), STOP], "finish_reason", id="finish in its own read"),
    pytest.param(
        [ROLE + b'data: {"choices":[{"delta":{"content":"a"},"finish_reason":"stop"}]}\n\n'],
        "finish_reason",
        id="finish_reason on the last content chunk",
    ),
    pytest.param([ROLE + tokens("a", "b")], "clean", id="neither finish_reason nor DONE"),
    pytest.param([ROLE + tokens("a") + STOP + DONE], "", id="DONE: nothing to note"),
]


@pytest.mark.parametrize("keep_text", [False, True], ids=["counting reads", "event by event"])
@pytest.mark.parametrize(("reads", "ended"), END_CASES)
def test_a_clean_end_without_done_is_an_answer(
    reads: list[bytes], ended: str, keep_text: bool
) -> None:
    """A body that ends cleanly after whole events is an answer, [DONE] or not; the reader
    says whether a finish_reason came (transformers serve) or neither did."""
    reader = OpenAIReader(keep_text=keep_text)
    for i, read in enumerate(reads):
        reader.feed(read, float(i))
    reader.close(9.0)
    assert reader.token_times
    assert reader.without_done == ended


BROKEN_CASES = [
    pytest.param([ROLE + tokens("a") + b'data: {"choices":[{"delta"'], id="cut mid-line"),
    pytest.param([ROLE + tokens("a") + b'data: {"choices":[]}\n'], id="cut before the blank line"),
    pytest.param([ROLE + tokens("a") + STOP[:-1]], id="finish chunk cut short"),
    pytest.param([ROLE], id="role chunk only"),
    pytest.param([b""], id="empty body"),
]


@pytest.mark.parametrize("keep_text", [False, True], ids=["counting reads", "event by event"])
@pytest.mark.parametrize("reads", BROKEN_CASES)
def test_a_stream_cut_inside_an_event_or_without_content_is_broken(
    reads: list[bytes], keep_text: bool
) -> None:
    """Ending inside an event, or with no content, usage or finish_reason at all, is still
    ``stream_broken`` (``StreamEnded``), with or without a clean HTTP end."""
    reader = OpenAIReader(keep_text=keep_text)
    for read in reads:
        reader.feed(read, 0.0)
    with pytest.raises(StreamEnded):
        reader.close(1.0)


def test_a_finish_chunk_followed_by_several_usage_chunks_ended_by_its_finish_reason():
    """Without [DONE], a stream whose finish chunk is followed by two usage-only chunks (one
    read each) ended by its finish_reason on the fast path as in the full parse: a read that
    is one usage chunk keeps the reads close() looks at (found by the chunk-shape property
    test, which the fast path answered 'clean')."""
    usage = b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\n'
    finish = (
        b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"a"},'
        b'"finish_reason":"stop"}]}\n\n'
    )
    reads = [finish, usage, usage]
    fast, full = reader_outcome(reads, keep_text=False), reader_outcome(reads, keep_text=True)
    assert fast == full
    assert fast[-1] == "finish_reason"
