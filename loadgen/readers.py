"""Stream readers: bytes in, content-event times and usage out (sans-I/O).

One reader per response. ``feed(chunk, now)`` is called with each body chunk and the time it
arrived; every content-bearing event in that chunk is stamped with that time (events that arrive
together really arrived together). Errors are raised as ``ValueError`` subclasses, which the
transport maps to the ``protocol`` kind.
"""

from __future__ import annotations

import json
from typing import Protocol

from loadgen.chat import DONE, ChunkError, json_field, parse_openai_chunk, parse_openai_completion
from loadgen.sse import SSEDecoder

__all__ = ["JSONReader", "OpenAIReader", "Reader", "SSEReader", "TextReader", "make_reader"]


class Reader(Protocol):
    token_times: list[float]
    usage_tokens: int | None
    done: bool
    keep_text: bool
    parts: list[str]
    final: str | None
    citations: int

    def feed(self, chunk: bytes, now: float) -> None: ...
    def close(self, now: float) -> None: ...


class _Base:
    def __init__(self, *, keep_text: bool = False) -> None:
        self.token_times: list[float] = []
        self.usage_tokens: int | None = None
        self.done = False
        self.keep_text = keep_text
        self.parts: list[str] = []
        self.final: str | None = None  # the done event's data, or a JSON answer's body
        self.citations = 0  # SSE events named "citation"

    @property
    def text(self) -> str:
        return "".join(self.parts)


_CONTENT = '"content":"'
_CONTENT_B = b'"content":"'
_EMPTY_B = b'"content":""'
_USAGE_B = b'"usage":{'
_NOT_BULK = (b'"error"', b"reasoning", b'"content": ', b'"content" ', b'"content":[')
_USAGE = '"usage":{'
_ERROR = '"error"'


class OpenAIReader(_Base):
    """OpenAI ``chat.completion.chunk`` SSE: content deltas are tokens; usage from its chunk."""

    def __init__(self, *, keep_text: bool = False, max_line: int = 1 << 20) -> None:
        super().__init__(keep_text=keep_text)
        self._sse = SSEDecoder(max_line=max_line)

    def feed(self, chunk: bytes, now: float) -> None:
        if not self.keep_text and self._sse.plain_data_read(chunk) and self._bulk(chunk, now):
            return
        for event in self._sse.feed(chunk):
            if event.event != "message":
                # OpenAI sends only unnamed events; a named one is a proxy's keep-alive or a
                # vendor extension, not a chunk. ``event: error`` is the server giving up.
                if event.event == "error":
                    raise ChunkError(f"error event in stream: {event.data[:200]}")
                continue
            self._event(event.data, now)

    def _bulk(self, chunk: bytes, now: float) -> bool:
        """Count a read of plain ``data:`` events at the bytes level (no per-event Python).

        Every event here is one line; a JSON event must be a whole object (``data: {`` …
        ``}``), as the per-event fast path checks. The one usage chunk of an answer is cut
        out and parsed on its own; a read holding anything else unusual returns False before
        changing anything, and is then read event by event.
        """
        usage: bytes | None = None
        at = chunk.find(_USAGE_B)
        if at >= 0:
            if chunk.find(_USAGE_B, at + 1) >= 0:
                return False
            begin = chunk.rfind(b"\n\n", 0, at) + 2 if chunk.rfind(b"\n\n", 0, at) >= 0 else 0
            end = chunk.find(b"\n\n", at) + 2
            usage = chunk[begin + 6 : end - 2]  # the data of "data: {...}\n\n"
            chunk = chunk[:begin] + chunk[end:]
        # Only compact JSON is counted in bulk: a content key written any other way
        # ("content": "x" with spaces, a list of parts) goes through the parser.
        for unsure in _NOT_BULK:
            if unsure in chunk:
                return False
        events = chunk.count(b"\n\n")
        done = chunk.count(b"data: [DONE]\n\n")
        objects = chunk.count(b"data: {")
        if objects + done != events or chunk.count(b"}\n\n") != objects:
            return False
        if usage is not None and not (usage.startswith(b"{") and usage.endswith(b"}")):
            return False
        content = chunk.count(_CONTENT_B) - chunk.count(_EMPTY_B)
        if content:
            self.token_times.extend([now] * content)
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
            # and carries no usage or error object, is a token without a JSON parse (~2x
            # faster per event, measured). Anything else, malformed chunks included, is
            # parsed in full below.
            at = data.find(_CONTENT)
            if (
                at > 0
                and data[0] == "{"
                and data[-1] == "}"
                and _USAGE not in data
                and _ERROR not in data
            ):
                if data[at + len(_CONTENT)] != '"':
                    self.token_times.append(now)
                return
        parsed = parse_openai_chunk(data)
        if parsed.error:
            raise ChunkError(f"error in stream: {parsed.error}")
        if parsed.content:
            self.token_times.append(now)
            if self.keep_text:
                self.parts.append(parsed.content)
        if parsed.completion_tokens is not None:
            self.usage_tokens = parsed.completion_tokens

    def close(self, now: float) -> None:
        for event in self._sse.close():
            self._event(event.data, now)
        if not self.done:
            raise StreamEnded("stream ended before data: [DONE]")


class StreamEnded(ValueError):
    """The body ended before the stream's end marker: counted as ``stream_broken``."""


class SSEReader(_Base):
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
                    usage = json_field(event.data, self._usage_field)
                    if isinstance(usage, int):
                        self.usage_tokens = usage
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


class TextReader(_Base):
    """Plain chunked text: every non-empty body chunk is one content event."""

    def feed(self, chunk: bytes, now: float) -> None:
        if chunk:
            self.token_times.append(now)
            if self.keep_text:
                self.parts.append(chunk.decode("utf-8", "replace"))

    def close(self, now: float) -> None:
        self.done = True


class JSONReader(_Base):
    """A non-streamed JSON answer: one content event when the body is complete."""

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
        self._max_body = max_body

    def feed(self, chunk: bytes, now: float) -> None:
        self._body += chunk
        if len(self._body) > self._max_body:
            raise ChunkError(f"response larger than {self._max_body} bytes")

    def close(self, now: float) -> None:
        self.done = True
        self.final = self._body.decode("utf-8", "replace")
        if self._openai:
            parsed = parse_openai_completion(bytes(self._body))
            content, self.usage_tokens = parsed.content, parsed.completion_tokens
        else:
            try:
                text = self._body.decode("utf-8")
                json.loads(text)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ChunkError(f"invalid JSON body: {exc}") from None
            content = json_field(text, self._content_field)
            usage = json_field(text, self._usage_field) if self._usage_field else None
            self.usage_tokens = usage if isinstance(usage, int) else None
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
