"""Checks, counters and extractions over a response (pure).

A ``ResponseView`` is what a step's response offers: status, headers, the body text (plain
requests), the answer text and final event data (chats), and how many citations came with it.
``holds`` decides a ``Condition``; ``extract`` pulls a value for a VU variable. Neither raises
on a malformed response: a condition on missing data is simply false.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loadgen.core.profile.model import Condition, Extract

__all__ = ["ResponseView", "extract", "holds", "json_path"]

_MISSING = object()


@dataclass(slots=True)
class ResponseView:
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None  # plain requests: the body (capped)
    answer: str | None = None  # chats: the generated text
    final: str | None = None  # chats: the done event's data, or the JSON answer
    citations: int = 0
    _json: Any = _MISSING

    def json(self) -> Any:
        """The response's JSON (body, or the final event of a chat); None if there is none."""
        if self._json is _MISSING:
            text = self.final if self.final is not None else self.body
            try:
                self._json = json.loads(text) if text else None
            except (json.JSONDecodeError, TypeError):
                self._json = None
        return self._json

    def header(self, name: str) -> str | None:
        lower = name.lower()
        for k, v in self.headers.items():
            if k.lower() == lower:
                return v
        return None


def json_path(data: Any, path: str) -> Any:
    """``choices.0.delta.content`` style lookup; ``_MISSING`` when any step is absent."""
    node = data
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif (
            isinstance(node, list)
            and part.lstrip("-").isdigit()
            and -len(node) <= int(part) < len(node)
        ):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def holds(cond: Condition, view: ResponseView) -> bool:
    kind = cond.kind
    if kind == "status":
        return view.status in cond.values
    if kind == "json":
        value = json_path(view.json(), cond.path or "")
        if value is _MISSING:
            return False
        return value == cond.equals if cond.has_equals else True
    if kind == "header":
        header = view.header(cond.path or "")
        if header is None:
            return False
        return header == str(cond.equals) if cond.has_equals else True
    if kind == "contains":
        text = view.answer if view.answer is not None else view.body
        return text is not None and cond.text in text
    if kind == "citations":
        listed = json_path(view.json(), "citations")
        count = view.citations or (len(listed) if isinstance(listed, list) else 0)
        return (count > 0) == cond.expected
    text = view.answer if view.answer is not None else view.body
    if text is None:
        return False
    n = len(text)
    return n >= cond.low and (cond.high is None or n <= cond.high)


def extract(rule: Extract, view: ResponseView) -> str | None:
    """The value a rule finds (as a string, JSON for objects), or None."""
    if rule.source == "header":
        return view.header(rule.expr)
    if rule.source == "json":
        value = json_path(view.json(), rule.expr)
        if value is _MISSING or value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)
    text = view.body if view.body is not None else (view.answer or "")
    match = re.search(rule.expr, text or "")
    if match is None:
        return None
    return match.group(1) if match.groups() else match.group(0)
