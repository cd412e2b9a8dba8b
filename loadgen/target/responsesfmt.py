"""The Responses API's answer (``/v1/responses``): typed SSE events, or one response object.

Pure. Events as OpenAI and vLLM send them: ``response.created`` and
``response.in_progress`` when the request is admitted; per output item
``response.output_item.added`` (and ``response.content_part.added``), one delta event per
token (``response.reasoning_text.delta`` for reasoning, ``response.output_text.delta`` for
text, ``response.function_call_arguments.delta`` for a tool call's arguments), the item's
``…done`` events; last ``response.completed`` (``response.incomplete`` when
``max_output_tokens`` cut the answer) carrying ``usage``. Structural events ride in the
same write as the token after or before them, so every token is still one write unit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from loadgen.target.llmformats import ToolCall, tool_arguments

__all__ = ["ResponseAnswer", "ResponsesFormat"]


def _event(kind: str, seq: int, **fields: Any) -> bytes:
    data = json.dumps({"type": kind, "sequence_number": seq, **fields}, separators=(",", ":"))
    return b"event: %b\ndata: %b\n\n" % (kind.encode(), data.encode())


@dataclass(frozen=True, slots=True)
class ResponseAnswer:
    """What one response holds, whichever way it is sent."""

    rid: str
    created: int
    model: str
    words: list[str]
    reasoning: int
    tool: ToolCall | None
    capped: bool
    usage: dict[str, Any]

    def items(self) -> list[dict[str, Any]]:
        """The ``output`` items, completed: reasoning, then the message or function call."""
        out: list[dict[str, Any]] = []
        r, words = self.reasoning, self.words
        if r:
            text = "".join(words[:r])
            content = [{"type": "reasoning_text", "text": text}]
            out.append(
                {"id": f"rs_{self.rid}", "type": "reasoning", "summary": [], "content": content}
            )
        if len(words) > r:
            out.append(self.answer_item("".join(self.answer_parts())))
        return out

    def answer_parts(self) -> list[str]:
        rest = self.words[self.reasoning :]
        return tool_arguments(rest) if self.tool is not None else rest

    def answer_item(self, text: str, done: bool = True) -> dict[str, Any]:
        status = "completed" if done else "in_progress"
        tool = self.tool
        if tool is not None:
            return {
                "id": f"fc_{self.rid}",
                "type": "function_call",
                "call_id": tool.call_id,
                "name": tool.name,
                "arguments": text,
                "status": status,
            }
        part = [{"type": "output_text", "text": text, "annotations": []}]
        return {
            "id": f"msg_{self.rid}",
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": part if done else [],
        }

    def response(self, done: bool = True) -> dict[str, Any]:
        status = "incomplete" if self.capped else "completed"
        return {
            "id": f"resp_{self.rid}",
            "object": "response",
            "created_at": self.created,
            "status": status if done else "in_progress",
            "model": self.model,
            "output": self.items() if done else [],
            "incomplete_details": {"reason": "max_output_tokens"} if done and self.capped else None,
            "usage": self.usage if done else None,
        }

    def body(self) -> bytes:
        return json.dumps(self.response()).encode()


class ResponsesFormat:
    """The streamed events of a :class:`ResponseAnswer`, one write unit per token."""

    __slots__ = ("items", "open", "tail")

    def __init__(self, answer: ResponseAnswer) -> None:
        self.open = [
            _event("response.created", 0, response=answer.response(done=False)),
            _event("response.in_progress", 1, response=answer.response(done=False)),
        ]
        seq = 2
        items: list[bytes] = []
        r, words = answer.reasoning, answer.words
        think = f"rs_{answer.rid}"
        for k in range(r):
            head = b""
            if k == 0:
                item = {"id": think, "type": "reasoning", "summary": [], "content": []}
                part = {"type": "reasoning_text", "text": ""}
                head = _event("response.output_item.added", seq, output_index=0, item=item)
                head += _event(
                    "response.content_part.added",
                    seq + 1,
                    item_id=think,
                    output_index=0,
                    content_index=0,
                    part=part,
                )
                seq += 2
            delta = {"item_id": think, "output_index": 0, "content_index": 0, "delta": words[k]}
            items.append(head + _event("response.reasoning_text.delta", seq, **delta))
            seq += 1
        if r:
            seq = self._close_reasoning(answer, items, seq)
        seq = self._answer(answer, items, seq)
        self.items = items
        kind = "response.incomplete" if answer.capped else "response.completed"
        self.tail = self._done(answer, seq, kind)

    @staticmethod
    def _close_reasoning(answer: ResponseAnswer, items: list[bytes], seq: int) -> int:
        """The reasoning item's done events ride with its last token."""
        reasoning = answer.items()[0]
        text = reasoning["content"][0]["text"]
        where = {"item_id": reasoning["id"], "output_index": 0}
        items[-1] += _event(
            "response.reasoning_text.done", seq, **where, content_index=0, text=text
        )
        items[-1] += _event(
            "response.content_part.done",
            seq + 1,
            **where,
            content_index=0,
            part=reasoning["content"][0],
        )
        items[-1] += _event("response.output_item.done", seq + 2, output_index=0, item=reasoning)
        return seq + 3

    def _answer(self, answer: ResponseAnswer, items: list[bytes], seq: int) -> int:
        parts = answer.answer_parts()
        if not parts:
            return seq
        index = 1 if answer.reasoning else 0
        item = answer.answer_item("", done=False)
        where = {"item_id": item["id"], "output_index": index}
        head = _event("response.output_item.added", seq, output_index=index, item=item)
        seq += 1
        if answer.tool is None:
            part = {"type": "output_text", "text": "", "annotations": []}
            head += _event("response.content_part.added", seq, **where, content_index=0, part=part)
            seq += 1
            kind, extra = "response.output_text.delta", {"content_index": 0, "logprobs": []}
        else:
            kind, extra = "response.function_call_arguments.delta", {}
        for k, text in enumerate(parts):
            items.append(
                (head if k == 0 else b"") + _event(kind, seq, **where, **extra, delta=text)
            )
            seq += 1
        return seq

    @staticmethod
    def _done(answer: ResponseAnswer, seq: int, kind: str) -> list[bytes]:
        out: list[bytes] = []
        final = answer.items()
        if len(answer.words) > answer.reasoning:
            item = final[-1]
            index = len(final) - 1
            where = {"item_id": item["id"], "output_index": index}
            if answer.tool is None:
                part = item["content"][0]
                out.append(
                    _event(
                        "response.output_text.done",
                        seq,
                        **where,
                        content_index=0,
                        text=part["text"],
                    )
                )
                out.append(
                    _event(
                        "response.content_part.done", seq + 1, **where, content_index=0, part=part
                    )
                )
                seq += 2
            else:
                out.append(
                    _event(
                        "response.function_call_arguments.done",
                        seq,
                        **where,
                        arguments=item["arguments"],
                    )
                )
                seq += 1
            out.append(_event("response.output_item.done", seq, output_index=index, item=item))
            seq += 1
        out.append(_event(kind, seq, response=answer.response()))
        return out

    def opening(self) -> list[bytes]:
        return self.open

    def tokens(self, start: int, stop: int) -> list[bytes]:
        return self.items[start:stop]

    def closing(self) -> list[bytes]:
        return self.tail

    def malformed(self) -> bytes:
        return b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",\n\n'

    def events(self) -> list[bytes]:
        return [*self.open, *self.items, *self.tail]

    def whole(self) -> bytes:
        return b"".join(self.events())
