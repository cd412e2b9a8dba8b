"""``chat.format: bedrock``: one Converse stream through aioboto3, measured into a Sample.

``converse_stream`` returns once the response headers arrive (``first_byte``); each
``contentBlockDelta`` with non-empty text is a content event (SPEC §1: its arrival time is a
token time, so ttft and itl follow); the ``metadata`` event's ``usage.outputTokens`` is the
server-reported token count. One attempt only (clients.py): a throttle is an ``http_429``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from time import monotonic
from typing import Any

from loadgen.core.errors import ErrorKind
from loadgen.core.sample import Sample
from loadgen.edge.aws.errors import classify_aws
from loadgen.edge.aws.phases import phases_of

__all__ = ["bedrock_messages", "converse_request", "run_converse_stream"]

_IN_STREAM_KEPT = frozenset({ErrorKind.HTTP_429, ErrorKind.HTTP_5XX, ErrorKind.TIMEOUT})


def bedrock_messages(
    messages: Sequence[Mapping[str, str]],
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """OpenAI-style ``{role, content}`` messages → Converse ``messages`` and ``system``."""
    system = [{"text": m["content"]} for m in messages if m["role"] == "system"]
    turns = [
        {"role": m["role"], "content": [{"text": m["content"]}]}
        for m in messages
        if m["role"] in ("user", "assistant")
    ]
    return turns, system


def converse_request(
    model_id: str,
    messages: Sequence[Mapping[str, str]],
    *,
    max_tokens: int | None = None,
    temperature: float | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``converse_stream`` for one conversation."""
    turns, system = bedrock_messages(messages)
    request: dict[str, Any] = {"modelId": model_id, "messages": turns}
    if system:
        request["system"] = system
    inference: dict[str, Any] = {}
    if max_tokens is not None:
        inference["maxTokens"] = max_tokens
    if temperature is not None:
        inference["temperature"] = temperature
    if inference:
        request["inferenceConfig"] = inference
    return request


async def run_converse_stream(
    client: Any,
    *,
    model_id: str,
    messages: Sequence[Mapping[str, str]],
    sample: Sample,
    timeout: float,
    max_tokens: int | None = None,
    temperature: float | None = None,
    keep_text: bool = False,
    clock: Callable[[], float] = monotonic,
) -> str:
    """Send one Converse stream and fill ``sample``; returns the answer when ``keep_text``."""
    request = converse_request(model_id, messages, max_tokens=max_tokens, temperature=temperature)
    parts: list[str] = []
    in_stream = False
    try:
        async with asyncio.timeout(timeout):
            with phases_of(sample):
                response = await client.converse_stream(**request)
            sample.first_byte = clock()
            sample.status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 200))
            in_stream = True
            stopped = await _read_stream(
                response["stream"], sample, parts if keep_text else None, clock
            )
            sample.end = clock()
            if not stopped:
                sample.error = ErrorKind.STREAM_BROKEN
                sample.message = "bedrock converse_stream: stream ended without messageStop"
    except asyncio.CancelledError:
        sample.interrupted = True
        raise
    except Exception as exc:  # every foreign error becomes a kind on the sample
        kind, message = classify_aws(exc, "bedrock converse_stream")
        if isinstance(exc, TimeoutError):
            kind, message = ErrorKind.TIMEOUT, f"bedrock converse_stream: no answer in {timeout}s"
        elif in_stream and kind not in _IN_STREAM_KEPT:
            kind = ErrorKind.STREAM_BROKEN
        sample.error, sample.message = kind, message
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int) and not in_stream:
            sample.status = status
    finally:
        if sample.end is None and not sample.interrupted:
            sample.end = clock()
    return "".join(parts)


async def _read_stream(
    stream: Any, sample: Sample, parts: list[str] | None, clock: Callable[[], float]
) -> bool:
    """Stamp each content delta into ``sample`` (its text into ``parts`` when given) and take
    the reported output tokens; True if the stream ended with ``messageStop``."""
    stopped = False
    async for event in stream:
        now = clock()
        delta = event.get("contentBlockDelta")
        if delta is not None:
            text = delta.get("delta", {}).get("text")
            if text:
                sample.token_times.append(now)
                if parts is not None:
                    parts.append(text)
        elif "messageStop" in event:
            stopped = True
        elif "metadata" in event:
            usage = event["metadata"].get("usage", {})
            if isinstance(usage.get("outputTokens"), int):
                sample.usage_tokens = usage["outputTokens"]
    return stopped
