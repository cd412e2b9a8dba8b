"""Fuzzing the WebSocket answer decoder (``WsChat.ask``) with any sequence of messages.

A fake connection hands ``ask`` the messages a server might send (JSON or not, text or bytes,
invalid UTF-8, wrong types in every field), then closes. Whatever arrives, ``ask`` returns
with the sample filled in: an error kind or success, an end time, never an exception.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosedError

from loadgen.core.errors import ErrorKind
from loadgen.core.profile.model import WsTask
from loadgen.core.sample import Sample
from loadgen.edge.wschat import WsChat


class FakeConnection:
    """Plays a list of messages, then behaves as a connection the server closed."""

    def __init__(self, messages: list[str | bytes]) -> None:
        self.messages = list(messages)

    async def send(self, _message: str) -> None:
        return None

    async def recv(self) -> str | bytes:
        if not self.messages:
            raise ConnectionClosedError(None, None)
        return self.messages.pop(0)

    async def close(self) -> None:
        return None


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["token", "end", "error", "other"]) | JSONISH,
        "content": JSONISH,
        "code": st.sampled_from([400, 401, 429, 500, 503]) | JSONISH,
        "message": JSONISH,
        "usage": st.fixed_dictionaries({}, optional={"completion_tokens": JSONISH}) | JSONISH,
    },
)
MESSAGES = st.one_of(
    FIELDS.map(json.dumps),
    FIELDS.map(lambda d: json.dumps(d).encode()),
    st.text(max_size=30),
    st.binary(max_size=30),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(MESSAGES, max_size=8))
def test_any_messages_fill_the_sample_and_never_raise(messages):
    """Success needs an end message; anything else is an error kind with a message."""
    counted: list[str] = []
    chat = WsChat(
        "http://127.0.0.1:1",
        record=lambda s: None,
        count=counted.append,
        user_class="c",
        connect_timeout=1.0,
    )
    chat._ws = FakeConnection(messages)  # type: ignore[assignment]
    sample = Sample(name="ws", user_class="c", t0=0.0, send=0.0)

    async def ask() -> Any:
        return await chat.ask(
            WsTask(),
            {"type": "message"},
            sample,
            token=None,
            headers={},
            timeout=5.0,
            keep_text=True,
        )

    view = asyncio.run(ask())
    assert sample.end is not None
    assert not sample.interrupted
    if sample.error is None:
        assert sample.status == 200
        assert view.final is not None
    else:
        assert isinstance(sample.error, ErrorKind)
        assert sample.message
    assert all(isinstance(t, float) for t in sample.token_times)
