"""Stream readers: bytes in, content-event times and usage out (sans-I/O).

One reader per response. ``feed(chunk, now)`` is called with each body chunk and the time it
arrived; every content-bearing event in that chunk is stamped with that time (events that arrive
together really arrived together). Errors are raised as ``ValueError`` subclasses, which the
transport maps to the ``protocol`` kind.
"""

from __future__ import annotations

import json

from loadgen.core.apireaders import CompletionsReader, EmbeddingsReader, ResponsesReader
from loadgen.core.chat import (
    DONE,
    ChunkError,
    checked_usage,
    json_field,
    parse_openai_chunk,
    parse_openai_completion,
)
from loadgen.core.readerbase import Reader, ReaderBase, StreamEnded
from loadgen.core.sse import SSEDecoder

__all__ = [
    "JSONReader",
    "OpenAIReader",
    "Reader",
    "SSEReader",
    "StreamEnded",
    "TextReader",
    "make_reader",
]


_CONTENT = '"content":"'
_OTHER_CONTENT = '_content"'  # reasoning_content and kin: a content key that is not "content"
_CONTENT_B = b'"content":"'
_EMPTY_B = b'"content":""'
_ANY_CONTENT_B = b'content"'  # every content key, compact or not, reasoning_content too
_USAGE_B = b'"usage":{'
_ANY_USAGE_B = b'"usage"'
_NULL_USAGE_B = b'"usage":null'
_REASONING_B = b'"reasoning'  # reasoning_content (DeepSeek, vLLM) and reasoning (OpenRouter)
_ERROR_B = b'"error"'
_TOOL_B = b'"tool_calls"'
_BOUNDARY_B = b"}\n\ndata: {"
_DONE_B = b"data: [DONE]\n\n"
_USAGE = '"usage"'
_NULL_USAGE = '"usage":null'
_ERROR = '"error"'
_FINISH = '"finish_reason"'
_NULL_FINISH = '"finish_reason":null'  # the null every chunk but the finish chunk carries
_REASONING = '"reasoning'
_TOOL = '"tool_calls"'
_FINISH_B = b'"finish_reason":"'
_FINISH_SPACED_B = b'"finish_reason": "'


class OpenAIReader(ReaderBase):
    """OpenAI ``chat.completion.chunk`` SSE: content deltas are tokens; usage from its chunk."""

    def __init__(self, *, keep_text: bool = False, max_line: int = 1 << 20) -> None:
        super().__init__(keep_text=keep_text)
        self._sse = SSEDecoder(max_line=max_line)
        self._max_line = max_line
        # The SSE decoder is between events with no BOM to come (known after a read of
        # whole events): the paced path may skip it without asking it (a call per read).
        self._between = False

    def feed(self, chunk: bytes, now: float) -> None:
        # One function on purpose: it runs once per read, and a call per path would add to
        # the ~1 µs it costs (docs/performance.md, "Paced streams").
        # The paced read (a model server sending each token as it is decoded): exactly one
        # compact "data: {…}" event holding one non-empty "content" string and no usage,
        # error or reasoning key. One token, known from a few C-level scans: no SSE split,
        # no call (docs/performance.md, "Paced streams"). Anything else, and a decoder that
        # is not between events, goes the general way below. The tests on the text are
        # ``str`` ones on purpose: in CPython 3.11 ``bytes in bytes`` raises and clears a
        # TypeError each time (~3,000 instructions) and ``str in str`` does not (~950).
        if (
            self._between
            and chunk[-3:] == b"}\n\n"
            and chunk[:7] == b"data: {"
            and 10 not in chunk[:-2]
            and 13 not in chunk
            and not self.keep_text
            and len(chunk) <= self._max_line
        ):
            try:
                text = chunk.decode()
            except UnicodeDecodeError:
                text = ""  # read below, where the error says where
            at = text.find(_CONTENT)
            if (
                at > 0
                and text[at + 11] != '"'  # "content":"" is no token
                and _OTHER_CONTENT not in text  # a "content" beside reasoning: read in full
                and (_USAGE not in text or _null_usage_only(text))
                and _ERROR not in text
                and ((f := text.find(_FINISH)) < 0 or text.startswith(_NULL_FINISH, f))
            ):
                # (a finish_reason goes the general way, which notes it for close())
                self.token_times.append(now)
                return
        if not self.keep_text and self._bulk(chunk, now):
            self._between = True
            return
        self._between = False
        for event in self._sse.feed(chunk):
            if event.event != "message":
                # OpenAI sends only unnamed events; a named one is a proxy's keep-alive or a
                # vendor extension, not a chunk. ``event: error`` is the server giving up.
                if event.event == "error":
                    raise ChunkError(f"error event in stream: {event.data[:200]}")
                continue
            self._event(event.data, now)

    def _bulk(self, chunk: bytes, now: float) -> bool:
        """Count a read of whole compact ``data: {…}`` events without per-event Python.

        A fast server's whole answer arrives in one or two reads; reading it event by event
        cost ~50 µs per 32-token answer, this ~20 (a handful of C-level scans; see
        docs/performance.md). The read must be, from an event boundary, single-line
        ``data: {…}`` events (optionally ending with ``data: [DONE]``), valid UTF-8, no CR,
        with every content key in compact string form and no error object; the one usage
        chunk is cut out and parsed in full. Anything else returns False before changing
        anything, and the read goes through the event-by-event path. As there, each event is
        taken to hold at most one ``content`` key and its JSON is not validated beyond its
        braces.
        """
        # One function on purpose: a call per event is the cost this path exists to avoid.
        size = len(chunk)
        if not chunk.startswith(b"data: ") or 13 in chunk or size > self._max_line:
            return False
        body = chunk
        done = chunk.endswith(_DONE_B)
        if done:
            if size == len(_DONE_B):
                if not self._sse.skip_whole_events():
                    return False
                self.done = True
                return True
            if chunk[-len(_DONE_B) - 1] != 10:
                return False
            body = chunk[: -len(_DONE_B)]
        # Structure: "data: {" … "}" lines, each followed by a blank line: cut at every
        # "}\n\ndata: {" boundary, no piece may hold a newline but the last its final "\n\n".
        if not body.startswith(b"data: {") or not body.endswith(b"}\n\n") or _ERROR_B in body:
            return False
        pieces = body.split(_BOUNDARY_B)
        last = pieces.pop()
        if last.find(10) != len(last) - 2 or 10 in b"".join(pieces):
            return False
        content = body.count(_CONTENT_B)
        if body.count(_ANY_CONTENT_B) != content:
            return False  # "content": "x", "content":null, a list of parts, reasoning_content
        if not body.isascii():
            try:
                body.decode()
            except UnicodeDecodeError:
                return False  # feed() raises the error with its position
        tokens = content - body.count(_EMPTY_B)
        if tokens <= len(pieces) and (_REASONING_B in body or _TOOL_B in body):
            # An event without a content token may carry reasoning text ("content":"" beside
            # "reasoning":"…", OpenRouter's shape) or a tool call: a token, read it in full.
            return False
        usage: bytes | None = None
        at = -1
        pos = body.find(_ANY_USAGE_B)
        while pos >= 0:  # one pass: "usage":null rides on every chunk of some servers
            if body.startswith(_USAGE_B, pos):
                if at >= 0:
                    return False  # two usage objects
                at = pos
            elif not body.startswith(_NULL_USAGE_B, pos):
                return False  # "usage": {…} spaced, or not an object: read it in full
            pos = body.find(_ANY_USAGE_B, pos + len(_ANY_USAGE_B))
        if at >= 0:
            begin = body.rfind(b"\n\n", 0, at) + 2  # 1 when it is the first event: fixed below
            begin = begin if begin > 1 else 0
            end = body.find(b"\n\n", at)
            usage = body[begin + 6 : end]  # the data of "data: {...}"
            tokens -= usage.count(_CONTENT_B) - usage.count(_EMPTY_B)  # counted by _event
        if not self._sse.skip_whole_events():
            return False
        if (
            not done
            and not (usage is not None and begin == 0 and end + 2 == len(body))
            and (_FINISH_B in body or _FINISH_SPACED_B in body)
        ):
            # For close(), which asks for a finish_reason only when [DONE] never came: a read
            # that ends with [DONE] is not scanned (at zero delay most answers come whole in
            # one), nor one that is a usage chunk (parsed in full, its finish_reason taken
            # there). Keeping the last reads to scan at close() instead lost a finish chunk
            # that other chunks followed, where the full parse kept it (found by
            # tests/hostile/test_transport_chunk_shapes.py).
            self.finished = True
        if tokens:
            self.token_times.extend([now] * tokens)
        if usage is not None:
            self._event(usage.decode(), now)  # full parse: usage, or content it carries
        if done:
            self.done = True
        return True

    def _event(self, data: str, now: float) -> None:
        if data == DONE:
            self.done = True
            return
        if not self.keep_text:
            # The hot path: a plain content delta only needs "is there content?". A chunk
            # that is a whole object with a non-empty "content" (or reasoning_content) string,
            # and carries no usage, error or finish_reason (null aside), is a token without a
            # JSON parse (~2x faster per event, measured). An empty "content" beside reasoning
            # text or a tool call, and anything else, malformed chunks included, is parsed in
            # full below.
            at = data.find(_CONTENT)
            if (
                at > 0
                and data[0] == "{"
                and data[-1] == "}"
                and ((u := data.find(_USAGE)) < 0 or data.startswith(_NULL_USAGE, u))
                and _ERROR not in data
                and ((f := data.find(_FINISH)) < 0 or data.startswith(_NULL_FINISH, f))
            ):
                if data[at + len(_CONTENT)] != '"':
                    self.token_times.append(now)
                    return
                if _REASONING not in data and _TOOL not in data:
                    return  # an empty content and nothing else generated: no token
        self.take(parse_openai_chunk(data), now)

    def close(self, now: float) -> None:
        """The body ended cleanly at the HTTP level (a cut one raised in the transport).

        ``data: [DONE]`` is not required: servers such as ``transformers serve`` end the
        body after the chunk with ``finish_reason``, and the ``openai`` SDK accepts that. A
        stream cut inside an event, or one that carried no content, usage or finish_reason
        at all, is still ``stream_broken``.
        """
        for event in self._sse.close():
            self._event(event.data, now)
        if self.done:
            return
        if self._sse.pending:
            raise StreamEnded("stream ended inside an event, before data: [DONE]")
        if self.finished:  # a chunk carried a finish_reason (usually the last choice chunk)
            self.without_done = "finish_reason"
        elif self.token_times or self.usage_tokens is not None:
            self.without_done = "clean"
        else:
            raise StreamEnded("stream ended before any content, finish_reason or data: [DONE]")


def _null_usage_only(text: str) -> bool:
    """One ``"usage":null`` (some servers put it on every chunk) and no other usage key."""
    return text.count(_USAGE) == 1 and _NULL_USAGE in text


class SSEReader(ReaderBase):
    """Generic SSE: events named ``content_event`` (or any) carry content at ``content_field``."""

    def __init__(
        self,
        *,
        content_event: str | None,
        content_field: str,
        done_event: str | None,
        usage_field: str | None,
        keep_text: bool = False,
        max_line: int = 1 << 20,
    ) -> None:
        super().__init__(keep_text=keep_text)
        self._sse = SSEDecoder(max_line=max_line)
        self._content_event = content_event
        self._content_field = content_field
        self._done_event = done_event
        self._usage_field = usage_field

    def feed(self, chunk: bytes, now: float) -> None:
        for event in self._sse.feed(chunk):
            if event.event == "citation":
                self.citations += 1
                continue
            if event.data == DONE or (self._done_event and event.event == self._done_event):
                self.done = True
                if event.data != DONE:
                    self.final = event.data
                if self._usage_field and event.data != DONE:
                    usage, rejected = checked_usage(json_field(event.data, self._usage_field))
                    if usage is not None:
                        self.usage_tokens = usage
                    self.usage_rejected = rejected
                continue
            if self._content_event and event.event != self._content_event:
                continue
            content = json_field(event.data, self._content_field)
            if content:
                self.token_times.append(now)
                if self.keep_text:
                    self.parts.append(str(content))

    def close(self, now: float) -> None:
        self._sse.close()
        if self._done_event and not self.done:
            raise StreamEnded(f"stream ended before the {self._done_event!r} event")


class TextReader(ReaderBase):
    """Plain chunked text: every non-empty body chunk is one content event."""

    def feed(self, chunk: bytes, now: float) -> None:
        if chunk:
            self.token_times.append(now)
            if self.keep_text:
                self.parts.append(chunk.decode("utf-8", "replace"))

    def close(self, now: float) -> None:
        self.done = True


MAX_JSON = 8 << 20
"""The largest JSON answer parsed (``target.max_response_size`` bounds it further): parsing
64 MiB in one go held the event loop for ~0.1 s and, made of small values, took 1.7 GiB."""
MAX_JSON_CONTAINERS = 1 << 16  # objects and arrays in one JSON answer
MAX_JSON_COMMAS = 1 << 19  # a bound on its values (commas in text count too)


class JSONReader(ReaderBase):
    """A non-streamed JSON answer: one content event when the body is complete.

    What it may cost is bounded before it is parsed: at most ``MAX_JSON`` bytes are kept
    (refused as soon as more arrive), and a body past 1 MiB is parsed only if it holds at most
    ``MAX_JSON_CONTAINERS`` objects and arrays and ``MAX_JSON_COMMAS`` commas: the parsed tree
    of a body of small values is ~25 times its size.
    """

    def __init__(
        self,
        *,
        openai: bool,
        content_field: str,
        usage_field: str | None,
        keep_text: bool = False,
        max_body: int = 64 << 20,
    ) -> None:
        super().__init__(keep_text=keep_text)
        self._openai = openai
        self._content_field = content_field
        self._usage_field = usage_field
        self._body = bytearray()
        self._max_body = min(max_body, MAX_JSON)

    def feed(self, chunk: bytes, now: float) -> None:
        if len(self._body) + len(chunk) > self._max_body:
            self._body = bytearray()  # freed now, not when the error is collected
            raise ChunkError(f"JSON answer larger than {self._max_body} bytes: not parsed")
        self._body += chunk

    def close(self, now: float) -> None:
        body, self._body = self._body, bytearray()
        if len(body) > 1 << 20:
            containers = body.count(b"{") + body.count(b"[")
            if containers > MAX_JSON_CONTAINERS or body.count(b",") > MAX_JSON_COMMAS:
                raise ChunkError(
                    f"JSON answer of {len(body)} bytes holds too many values (over "
                    f"{MAX_JSON_CONTAINERS} objects and arrays or {MAX_JSON_COMMAS} commas): "
                    "not parsed"
                )
        self.done = True
        self.final = body.decode("utf-8", "replace")
        if self._openai:
            parsed = parse_openai_completion(body)
            content, self.usage_tokens = parsed.content, parsed.completion_tokens
            self.usage_rejected = parsed.rejected_usage
            self.usage_prompt, self.reasoning_tokens = parsed.prompt_tokens, parsed.reasoning_tokens
        else:
            try:
                text = body.decode("utf-8")
                json.loads(text)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ChunkError(f"invalid JSON body: {exc}") from None
            content = json_field(text, self._content_field)
            usage = json_field(text, self._usage_field) if self._usage_field else None
            self.usage_tokens, self.usage_rejected = checked_usage(usage)
        if content:
            self.token_times.append(now)
            if self.keep_text:
                self.parts.append(str(content))


def make_reader(
    api: str,
    *,
    stream: bool,
    content_event: str | None = None,
    content_field: str = "content",
    done_event: str | None = "done",
    usage_field: str | None = None,
    keep_text: bool = False,
    max_line: int = 1 << 20,
    max_body: int = 64 << 20,
) -> Reader:
    if api == "embeddings":
        return EmbeddingsReader(keep_text=keep_text, max_body=max_body)
    if api == "completions" and stream:
        return CompletionsReader(keep_text=keep_text, max_line=max_line)
    if api == "responses" and stream:
        return ResponsesReader(keep_text=keep_text, max_line=max_line)
    if not stream or api == "json":
        return JSONReader(
            openai=api == "openai",
            content_field=content_field,
            usage_field=usage_field,
            keep_text=keep_text,
            max_body=max_body,
        )
    if api == "openai":
        return OpenAIReader(keep_text=keep_text, max_line=max_line)
    if api == "sse":
        return SSEReader(
            content_event=content_event,
            content_field=content_field,
            done_event=done_event,
            usage_field=usage_field,
            keep_text=keep_text,
            max_line=max_line,
        )
    return TextReader(keep_text=keep_text)
