"""In-memory state behind the chatbot API: conversations, KB documents, flags, a cache.

Pure and small on purpose: enough state that multi-turn context grows, uploads round-trip
and admin pages have something true to show.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Cache", "Conversation", "Conversations", "Documents", "FeatureFlags"]


@dataclass(slots=True)
class Conversation:
    id: str
    user_id: str
    turns: int = 0
    context_tokens: int = 0
    """Prompt and answer tokens of earlier turns, all sent again as context."""


class Conversations:
    def __init__(self) -> None:
        self.items: dict[str, Conversation] = {}
        self._next = 0

    def get_or_create(self, conversation_id: object, user_id: str) -> Conversation | None:
        """The conversation, a new one, or None if it belongs to another user."""
        if isinstance(conversation_id, str) and conversation_id:
            conv = self.items.get(conversation_id)
            if conv is not None:
                return conv if conv.user_id == user_id else None
            cid = conversation_id
        else:
            self._next += 1
            cid = f"conv-{self._next}"
        conv = Conversation(cid, user_id)
        self.items[cid] = conv
        return conv


@dataclass(slots=True)
class Document:
    id: str
    filename: str
    title: str
    content_type: str
    size: int
    sha256: str
    created_at: float
    data: bytes = field(repr=False)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "title": self.title,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "created_at": self.created_at,
            "status": "indexed",
        }


class Documents:
    def __init__(self) -> None:
        self.items: dict[str, Document] = {}
        self._next = 0

    def add(self, filename: str, title: str, content_type: str, data: bytes) -> Document:
        self._next += 1
        doc = Document(
            f"doc-{self._next}",
            filename,
            title,
            content_type,
            len(data),
            hashlib.sha256(data).hexdigest(),
            time.time(),
            data,
        )
        self.items[doc.id] = doc
        return doc

    def citations(self, count: int, start: int) -> list[dict[str, Any]]:
        """Citations pointing at uploaded documents when there are any, else synthetic."""
        docs = list(self.items.values())
        out = []
        for k in range(count):
            if docs:
                doc = docs[(start + k) % len(docs)]
                out.append(
                    {
                        "id": doc.id,
                        "title": doc.title,
                        "source": doc.filename,
                        "snippet": doc.data[:80].decode("utf-8", "replace"),
                    }
                )
            else:
                n = (start + k) % 50 + 1
                out.append(
                    {
                        "id": f"kb-{n}",
                        "title": f"Knowledge base article {n}",
                        "source": f"kb/article-{n}.md",
                        "snippet": "…",
                    }
                )
        return out


class FeatureFlags:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {
            name: {"id": name, "name": name, "enabled": enabled, "description": desc}
            for name, enabled, desc in (
                ("rag", True, "answer with retrieved citations"),
                ("streaming", True, "stream answers token by token"),
                ("semantic_cache", False, "answer repeated questions from the cache"),
            )
        }

    def update(self, flag_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        flag = self.items.get(flag_id)
        if flag is None:
            return None
        for key in ("enabled", "description", "name"):
            if key in changes:
                flag[key] = changes[key]
        return flag


class Cache:
    """Counts repeated questions as hits, as a response cache in front of the model would."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.hits = 0
        self.misses = 0

    def lookup(self, question: str) -> bool:
        if question in self.keys:
            self.hits += 1
            return True
        self.misses += 1
        if len(self.keys) < 100_000:
            self.keys.add(question)
        return False

    def stats(self) -> dict[str, Any]:
        total = self.hits + self.misses
        return {
            "entries": len(self.keys),
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": self.hits / total if total else 0.0,
        }

    def clear(self) -> int:
        cleared = len(self.keys)
        self.keys.clear()
        return cleared
