"""Run one task's request on a VU's client and fill its ``Sample``.

Everything the server or network does wrong ends here as an ``ErrorKind`` on the sample; only
``asyncio.CancelledError`` (the engine stopping) propagates, after marking the sample
interrupted. Times come from ``time.monotonic`` — the clock of ``t0``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from time import monotonic
from typing import Any

import httpx

from loadgen.chat import chat_request
from loadgen.errors import ErrorKind
from loadgen.fasthttp import FastClient, FastResponse
from loadgen.profile.model import ChatTask, HttpTask
from loadgen.readers import Reader, StreamEnded, make_reader
from loadgen.sample import Sample
from loadgen.transport import VUClient, classify

__all__ = ["chat_body", "run_chat", "run_http"]

_MAX_ERROR_BODY = 300


def chat_body(
    task: ChatTask, messages: list[dict[str, str]], variables: Mapping[str, str]
) -> bytes:
    """The request body of a chat task: OpenAI's shape, or the task's JSON template."""
    if task.api == "openai":
        return chat_request(
            model=task.model,
            messages=messages,
            stream=task.stream,
            max_tokens=task.max_tokens,
            include_usage=task.include_usage,
        )
    template: Any = task.body or {"message": "{{ prompt }}"}
    return json.dumps(_render(template, {**variables, "prompt": messages[-1]["content"]})).encode()


def _render(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for key, sub in variables.items():
            value = value.replace("{{ " + key + " }}", sub).replace("{{" + key + "}}", sub)
        return value
    if isinstance(value, dict):
        return {k: _render(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, variables) for v in value]
    return value


async def run_chat(
    client: VUClient,
    task: ChatTask,
    body: bytes,
    sample: Sample,
    *,
    timeout: float,
    keep_text: bool = False,
) -> str:
    """Send a chat request and read its answer into ``sample``; return the answer text if kept."""
    reader = make_reader(
        task.api,
        stream=task.stream,
        content_event=task.content_event,
        content_field=task.content_field,
        done_event=task.done_event,
        usage_field=task.usage_field if task.api != "openai" else None,
        keep_text=keep_text,
    )
    headers = {
        "content-type": "application/json",
        "x-request-id": sample.request_id,
        **task.headers,
    }
    if client.fast is not None:
        await _fast_exchange(client.fast, "POST", task.path, headers, body, sample, reader, timeout)
    else:
        await _exchange(client.httpx, "POST", task.path, headers, body, sample, reader, timeout)
    sample.usage_tokens = reader.usage_tokens
    return "".join(reader.parts)


async def run_http(client: VUClient, task: HttpTask, sample: Sample, *, timeout: float) -> None:
    headers = {"x-request-id": sample.request_id, **task.headers}
    content: bytes | None = None
    if task.json is not None:
        content = json.dumps(task.json).encode()
        headers.setdefault("content-type", "application/json")
    elif task.body is not None:
        content = task.body.encode()
    await _exchange(client.httpx, task.method, task.path, headers, content, sample, None, timeout)


async def _fast_exchange(
    client: FastClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    sample: Sample,
    reader: Reader,
    timeout: float,
) -> None:
    response: FastResponse | None = None
    try:
        async with asyncio.timeout(timeout):
            response = await client.request(method, path, headers, body, reader.feed)
        now = monotonic()
        sample.status = response.status
        sample.first_byte = response.first_byte
        kind = ErrorKind.for_status(response.status)
        if kind is not None:
            text = response.error_body.decode("utf-8", "replace").strip()
            sample.error = kind
            sample.message = (
                f"HTTP {response.status}: {text}" if text else f"HTTP {response.status}"
            )
        else:
            reader.close(now)
        sample.end = now
    except asyncio.CancelledError:
        sample.interrupted = True
        raise
    except StreamEnded as exc:
        sample.error, sample.message = ErrorKind.STREAM_BROKEN, str(exc)
    except Exception as exc:  # every foreign error becomes a kind, never a crash
        sample.error, sample.message = classify(exc, got_response=sample.first_byte is not None)
    finally:
        sample.token_times = reader.token_times
        if sample.end is None and not sample.interrupted:
            sample.end = monotonic()


async def _exchange(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    content: bytes | None,
    sample: Sample,
    reader: Reader | None,
    timeout: float,
) -> None:
    got_response = False
    try:
        async with asyncio.timeout(timeout):
            request = client.build_request(method, path, headers=headers, content=content)
            response = await client.send(request, stream=True)
            got_response = True
            try:
                sample.status = response.status_code
                kind = ErrorKind.for_status(response.status_code)
                if kind is not None:
                    sample.error = kind
                    sample.message = await _error_text(response)
                    sample.end = monotonic()
                    return
                async for chunk in response.aiter_raw():
                    now = monotonic()
                    if sample.first_byte is None:
                        sample.first_byte = now
                    if reader is not None:
                        reader.feed(chunk, now)
                now = monotonic()
                if sample.first_byte is None:
                    sample.first_byte = now
                if reader is not None:
                    reader.close(now)
                sample.end = now
            finally:
                await response.aclose()
    except asyncio.CancelledError:
        sample.interrupted = True
        raise
    except StreamEnded as exc:
        sample.error, sample.message = ErrorKind.STREAM_BROKEN, str(exc)
    except Exception as exc:  # every foreign error becomes a kind, never a crash
        sample.error, sample.message = classify(exc, got_response=got_response)
    finally:
        if reader is not None:
            sample.token_times = reader.token_times
        if sample.end is None and not sample.interrupted:
            sample.end = monotonic()


async def _error_text(response: httpx.Response) -> str:
    body = b""
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > _MAX_ERROR_BODY:
            break
    text = body[:_MAX_ERROR_BODY].decode("utf-8", "replace").strip()
    return f"HTTP {response.status_code}: {text}" if text else f"HTTP {response.status_code}"
