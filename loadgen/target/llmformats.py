"""Wire formats of model-server answers: chat with reasoning or a tool call, and text
completions (``/v1/completions``). Pure.

Plain chat answers keep :class:`~loadgen.target.encode.OpenAIFormat`, the fast path; these
formats build their events per request, as the answers they shape are rarer. As there,
every event carries exactly one token, so events = tokens = ``usage.completion_tokens``:

* reasoning tokens first, as ``delta.reasoning_content`` (vLLM, DeepSeek) or
  ``delta.reasoning``, then the answer as ``delta.content``;
* a tool call in OpenAI's shape: one event with the call's ``id``, ``type`` and function
  ``name`` (its first token), then the ``arguments`` JSON in fragments, one per token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from loadgen.target.encode import Encoded, OpenAIFormat

__all__ = ["ChatLLMFormat", "CompletionsFormat", "ToolCall", "chat_message", "tool_arguments"]

_CONTENT = b'{"index":0,"delta":{"content":'
_END = b',"finish_reason":null}]}\n\n'


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The call an answer makes: the function (one the request offered) and the call id."""

    name: str
    call_id: str


def tool_arguments(words: list[str]) -> list[str]:
    """Fragments that join into ``{"query": "<the words>"}``, one per word (JSON escaping is
    per character, so escaped words join into the escaped text)."""
    if not words:
        return []
    frags = [json.dumps(w)[1:-1] for w in words]
    frags[0] = '{"query":"' + frags[0]
    frags[-1] += '"}'
    return frags


class ChatLLMFormat(OpenAIFormat):
    """Chat chunks whose first ``reasoning`` tokens are reasoning text and whose answer is
    text or, with ``tool``, a streamed tool call."""

    __slots__ = ("items",)

    def __init__(
        self,
        enc: Encoded,
        offset: int,
        n: int,
        *,
        cid: bytes,
        created: int,
        model: bytes,
        finish: bytes,
        usage: bytes | None,
        reasoning: int,
        field: str,
        tool: ToolCall | None,
    ) -> None:
        super().__init__(
            enc, offset, n, cid=cid, created=created, model=model, finish=finish, usage=usage
        )
        head = self.prefix[: -len(_CONTENT)]
        think = head + b'{"index":0,"delta":{"%b":' % field.encode()
        frags = self.frags
        items = [think + f for f in frags[:reasoning]]
        if tool is None:
            items += [self.prefix + f for f in frags[reasoning:]]
        elif n > reasoning:
            words = enc.pick(enc.words, offset, n)[reasoning + 1 :]
            items += _tool_events(head, tool, tool_arguments(words))
        self.items = items

    def tokens(self, start: int, stop: int) -> list[bytes]:
        return self.items[start:stop]

    def events(self) -> list[bytes]:
        return [self.role, *self.items, self.tail]

    def whole(self) -> bytes:
        return b"".join((self.role, *self.items, self.tail))


def _tool_events(head: bytes, tool: ToolCall, args: list[str]) -> list[bytes]:
    first = (
        b'{"index":0,"delta":{"tool_calls":[{"index":0,"id":"%b","type":"function",'
        b'"function":{"name":%b,"arguments":%b}}]}'
        % (tool.call_id.encode(), json.dumps(tool.name).encode(), b'""' if args else b'"{}"')
    )
    events = [head + first + _END]
    part = head + b'{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":'
    events += [part + json.dumps(a).encode() + b"}}]}" + _END for a in args]
    return events


def chat_message(
    enc: Encoded, offset: int, n: int, reasoning: int, tool: ToolCall | None
) -> dict[str, object]:
    """``choices[0].message`` of a non-streamed chat answer shaped the same way."""
    message: dict[str, object] = {"role": "assistant", "content": None}
    if reasoning:
        message["reasoning_content"] = enc.text(offset, reasoning)
    if tool is None:
        message["content"] = "".join(enc.pick(enc.words, offset, n)[reasoning:]).lstrip()
    elif n > reasoning:
        words = enc.pick(enc.words, offset, n)[reasoning + 1 :]
        function = {"name": tool.name, "arguments": "".join(tool_arguments(words)) or "{}"}
        message["tool_calls"] = [{"id": tool.call_id, "type": "function", "function": function}]
    return message


class CompletionsFormat:
    """``text_completion`` SSE chunks: ``choices[0].text`` per token, a finish chunk, the
    usage chunk when asked for, ``[DONE]``."""

    __slots__ = ("head", "items", "tail")

    def __init__(
        self,
        enc: Encoded,
        offset: int,
        n: int,
        *,
        cid: bytes,
        created: int,
        model: bytes,
        finish: bytes,
        usage: bytes | None,
    ) -> None:
        head = (
            b'data: {"id":"%b","object":"text_completion","created":%d,"model":"%b",'
            b'"choices":[' % (cid, created, model)
        )
        self.head = head
        token = head + b'{"index":0,"text":'
        end = b',"logprobs":null' + _END
        self.items = [token + q + end for q in enc.pick(enc.quoted, offset, n)]
        tail = token + b'"","logprobs":null,"finish_reason":"%b"}]}\n\n' % finish
        if usage is not None:
            tail += head[:-1] + b'[],"usage":' + usage + b"}\n\n"
        self.tail = tail + b"data: [DONE]\n\n"

    def opening(self) -> list[bytes]:
        return []

    def tokens(self, start: int, stop: int) -> list[bytes]:
        return self.items[start:stop]

    def closing(self) -> list[bytes]:
        return [self.tail]

    def malformed(self) -> bytes:
        return self.head + b'{"index":0,"text":"broken\n\n'

    def events(self) -> list[bytes]:
        return [*self.items, self.tail]

    def whole(self) -> bytes:
        return b"".join((*self.items, self.tail))
