"""Run one request on a VU's client and fill its ``Sample``; return what the response offers.

Everything the server or network does wrong ends here as an ``ErrorKind`` on the sample; only
``asyncio.CancelledError`` (the engine stopping) propagates, after marking the sample
interrupted. Times come from ``time.monotonic`` — the clock of ``t0``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from time import monotonic
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from loadgen.core.cancel import Cancel
from loadgen.core.chat import chat_request
from loadgen.core.checks import ResponseView
from loadgen.core.errors import ErrorKind
from loadgen.core.profile.model import ChatTask
from loadgen.core.readers import OpenAIReader, Reader, StreamEnded, make_reader
from loadgen.core.sample import Sample
from loadgen.core.template import render_value
from loadgen.core.wire import UnsafeRequest, unsafe_request
from loadgen.edge.cancelling import UserCancelled, cancelling_sink, within
from loadgen.edge.fasthttp import FastClient, FastResponse
from loadgen.edge.phases import HttpxPhases, stamp
from loadgen.edge.transport import VUClient, classify

if TYPE_CHECKING:
    import httpx

__all__ = ["chat_body", "run_chat", "run_http"]

_MAX_ERROR_BODY = 300
_MAX_CAPTURE = 1 << 20  # bytes of a plain response kept for checks and extraction
_CACHED_PROMPT = 4096  # longer prompts are encoded each time: the body cache stays < ~20 MB
_DRAIN_AFTER_DONE = 0.25  # seconds httpx may read past [DONE] for the body's end (reuse)


def chat_body(
    task: ChatTask,
    messages: list[dict[str, str]],
    variables: Mapping[str, Any],
    output_tokens: int | None = None,
) -> bytes:
    """The request body of a chat task: OpenAI's shape, or the task's JSON template.

    ``output_tokens`` (drawn from the task's ``output_tokens``) is asked for as
    ``max_tokens``, and, with ``exact_output``, also as ``min_tokens`` with ``ignore_eos``:
    vLLM and SGLang honour one or the other, so asking both gets the length everywhere.
    ``params`` are added last and win; ``system`` opens the conversation."""
    if task.api == "openai":
        max_tokens = output_tokens if output_tokens is not None else task.max_tokens
        if task.system is not None:
            messages = [{"role": "system", "content": task.system}, *messages]
        extra = task.params
        if output_tokens is not None and task.exact_output:
            extra = {"min_tokens": output_tokens, "ignore_eos": True, **extra}
        only = messages[0] if len(messages) == 1 else None
        if not extra and only is not None and len(only["content"]) <= _CACHED_PROMPT:
            return _one_turn_body(
                task.model,
                only["role"],
                only["content"],
                task.stream,
                max_tokens,
                task.include_usage,
            )
        return chat_request(
            model=task.model,
            messages=messages,
            stream=task.stream,
            max_tokens=max_tokens,
            include_usage=task.include_usage,
            extra=extra,
        )
    template: Any = task.body or {"message": "{{ prompt }}"}
    rendered = render_value(template, {**variables, "prompt": messages[-1]["content"]})
    return json.dumps(rendered).encode()


async def run_chat(
    client: VUClient,
    task: ChatTask,
    path: str,
    headers: dict[str, str],
    body: bytes,
    sample: Sample,
    *,
    timeout: float,
    keep_text: bool = False,
    cancel: Cancel | None = None,
    id_header: str | None = "x-request-id",
) -> ResponseView:
    """Send a chat request and read its answer into ``sample``; ``cancel`` (drawn for this
    request) abandons it part-way; ``id_header`` carries ``sample.request_id`` (None: not sent)."""
    reader: Reader
    if task.api == "openai" and task.stream:  # the common case, without make_reader's kwargs
        reader = OpenAIReader(keep_text=keep_text, max_line=client.max_line)
    else:
        reader = make_reader(
            task.api,
            stream=task.stream,
            content_event=task.content_event,
            content_field=task.content_field,
            done_event=task.done_event,
            usage_field=task.usage_field if task.api != "openai" else None,
            keep_text=keep_text,
            max_line=client.max_line,
            max_body=client.max_response_size,
        )
    sink = _capped(reader, client.max_response_size)
    if cancel is not None:
        sink = cancelling_sink(sink, reader, cancel)
    headers = {"content-type": "application/json", **task.headers, **headers}
    if id_header is not None:
        headers.setdefault(id_header, sample.request_id)
    view = ResponseView()
    if client.fast is not None:
        exchange = _fast_exchange(
            client.fast, "POST", path, headers, body, sample, reader, sink, timeout, view
        )
    else:
        exchange = _httpx_exchange(
            client.httpx, "POST", path, headers, body, sample, reader, sink, timeout, view
        )
    if cancel is None or cancel.time is None:
        await exchange
    else:
        await _timed(exchange, cancel, sample, client.fast)
    sample.usage_tokens = reader.usage_tokens
    sample.usage_rejected = reader.usage_rejected
    sample.without_done = reader.without_done
    sample.reasoning_at = reader.reasoning_at
    sample.reasoning_tokens = reader.reasoning_tokens
    sample.usage_prompt = reader.usage_prompt
    view.status = sample.status
    view.answer = "".join(reader.parts) if keep_text else None
    view.final = reader.final
    view.citations = reader.citations
    return view


@functools.lru_cache(maxsize=4096)
def _one_turn_body(
    model: str, role: str, content: str, stream: bool, max_tokens: int | None, usage: bool
) -> bytes:
    """A single-message chat body, kept: VUs ask the same pool questions again and again,
    and encoding the JSON was ~7 µs of a ~90 µs request."""
    return chat_request(
        model=model,
        messages=[{"role": role, "content": content}],
        stream=stream,
        max_tokens=max_tokens,
        include_usage=usage,
    )


def _http_error(status: int, text: str) -> str:
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"


def _redirect(status: int, location: str | None) -> str:
    """A redirect where an answer was expected, with where it points (no query: it may hold a
    token)."""
    if not location:
        return f"HTTP {status}: redirect without a Location"
    parts = urlsplit(location)
    where = (
        f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
        if parts.scheme
        else ""
    ) + parts.path
    return (
        f"HTTP {status}: redirected to {where[:200]} — point target.base_url (or the task's "
        "path) at the address that answers"
    )


def _redirected(sample: Sample, status: int, headers: Mapping[str, str]) -> bool:
    """A 3xx where an answer was expected: counted as ``http_3xx`` with where it points, not
    read as an answer (its body would pass for a broken stream)."""
    if 300 <= status < 400:
        sample.error = ErrorKind.HTTP_3XX
        sample.message = _redirect(status, headers.get("location"))
        return True
    return False


async def _timed(
    exchange: Awaitable[None], cancel: Cancel, sample: Sample, fast: FastClient | None
) -> None:
    """``exchange``, cancelled by its ``cancel: {after: {time}}``: its own outcome."""
    try:
        await within(exchange, cancel)
    except UserCancelled:  # the request's await was cancelled: not interrupted
        pass
    else:
        return
    sample.interrupted, sample.cancelled, sample.end = False, True, monotonic()
    if fast is not None:
        stamp(sample, fast)
        partial = fast.partial
        if partial is not None and partial.status:
            sample.status, sample.first_byte = partial.status, partial.first_byte


class _Outcome:
    """Whatever the request raises ends up on the sample: cancellation (the engine stopping)
    marks it interrupted and propagates; a stream cut short is ``stream_broken``; any other
    foreign error is classified once (``got_response`` tells whether headers had arrived).
    The sample always gets an end time and its content events.

    A class, not a ``@contextmanager``: it wraps every request, and the generator-based
    form cost ~2 µs of the ~90 a streamed request takes.
    """

    __slots__ = ("_got_response", "_reader", "_sample")

    def __init__(
        self, sample: Sample, got_response: Callable[[], bool], reader: Reader | None = None
    ) -> None:
        self._sample = sample
        self._got_response = got_response
        self._reader = reader

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> bool:
        sample = self._sample
        suppress = False
        if exc is None:
            pass
        elif isinstance(exc, asyncio.CancelledError):
            sample.interrupted = True
        elif isinstance(exc, UserCancelled):
            sample.cancelled = suppress = True
            self._got_response()  # the fast client's status and first byte, when they came
        elif isinstance(exc, StreamEnded):
            sample.error, sample.message = ErrorKind.STREAM_BROKEN, str(exc)
            suppress = True
        elif isinstance(exc, Exception):  # every foreign error becomes a kind, never a crash
            sample.error, sample.message = classify(exc, got_response=self._got_response())
            suppress = True
        if self._reader is not None:
            sample.token_times = self._reader.token_times
        if sample.end is None and not sample.interrupted:
            sample.end = monotonic()
        return suppress


async def run_http(
    client: VUClient,
    method: str,
    url: str,
    headers: dict[str, str],
    sample: Sample,
    *,
    timeout: float,
    content: bytes | None = None,
    files: Any = None,
    data: Mapping[str, str] | None = None,
    id_header: str | None = "x-request-id",
) -> ResponseView:
    """A plain request over httpx; the body (up to 1 MiB) is kept for checks and extraction."""
    headers = {id_header: sample.request_id, **headers} if id_header else dict(headers)
    view = ResponseView()
    with _Outcome(sample, lambda: view.status is not None):
        _refuse_unsafe(url, headers)
        async with asyncio.timeout(timeout):
            request = client.httpx.build_request(
                method, url, headers=headers, content=content, files=files, data=data
            )
            request.extensions["trace"] = HttpxPhases(sample, tls=request.url.scheme == "https")
            response = await client.httpx.send(request, stream=True)
            try:
                sample.status = view.status = response.status_code
                view.headers = response.headers
                body = bytearray()
                async for chunk in response.aiter_raw():
                    if sample.first_byte is None:
                        sample.first_byte = monotonic()
                    if len(body) < _MAX_CAPTURE:
                        body += chunk[: _MAX_CAPTURE - len(body)]
                sample.end = monotonic()
                if sample.first_byte is None:
                    sample.first_byte = sample.end
                view.body = body.decode("utf-8", "replace")
                kind = ErrorKind.for_status(response.status_code)
                if kind is not None:
                    sample.error = kind
                    sample.message = _http_error(
                        response.status_code, view.body[:_MAX_ERROR_BODY].strip()
                    )
            finally:
                await response.aclose()
    return view


async def _fast_exchange(
    client: FastClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    sample: Sample,
    reader: Reader,
    sink: Callable[[bytes, float], bool],
    timeout: float,
    view: ResponseView,
) -> None:
    def got_response() -> bool:
        partial = client.partial
        if partial is not None and partial.status:  # failed after the response started
            sample.status, sample.first_byte = partial.status, partial.first_byte
        return sample.status is not None

    with _Outcome(sample, got_response, reader):
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            response: FastResponse = await client.request(
                method, path, headers, body, sink, deadline
            )
        finally:
            stamp(sample, client)
        now = monotonic()
        sample.status = status = response.status
        sample.first_byte = response.first_byte
        view.headers = response.headers
        kind = ErrorKind.for_status(status)
        if kind is not None:
            sample.error = kind
            sample.message = _http_error(
                status, response.error_body.decode("utf-8", "replace").strip()
            )
        elif not _redirected(sample, status, response.headers):
            reader.close(now)
        sample.end = now


async def _httpx_exchange(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    content: bytes | None,
    sample: Sample,
    reader: Reader,
    sink: Callable[[bytes, float], bool],
    timeout: float,
    view: ResponseView,
) -> None:
    with _Outcome(sample, lambda: sample.status is not None, reader):
        _refuse_unsafe(path, headers)
        async with asyncio.timeout(timeout):
            request = client.build_request(method, path, headers=headers, content=content)
            request.extensions["trace"] = HttpxPhases(sample, tls=request.url.scheme == "https")
            response = await client.send(request, stream=True)
            try:
                sample.status = response.status_code
                view.headers = response.headers
                kind = ErrorKind.for_status(response.status_code)
                if kind is not None or _redirected(sample, response.status_code, response.headers):
                    if kind is not None:
                        sample.error = kind
                        sample.message = await _error_text(response)
                    sample.end = monotonic()
                    return
                # An async generator: closed at once, not by the collector, if we stop early.
                raw = cast("AsyncGenerator[bytes, None]", response.aiter_raw())
                async with contextlib.aclosing(raw) as chunks:
                    ended = False
                    async for chunk in chunks:
                        now = monotonic()
                        if sample.first_byte is None:
                            sample.first_byte = now
                        if sink(chunk, now):
                            ended = True  # the answer is complete (data: [DONE])
                            break
                    else:
                        now = monotonic()
                    if sample.first_byte is None:
                        sample.first_byte = now
                    reader.close(now)
                    sample.end = now
                    if ended:
                        await _drain(chunks)
            finally:
                await response.aclose()


class ResponseTooLarge(ValueError):
    """A response body passed ``target.max_response_size``: counted as ``protocol``."""


def _capped(reader: Reader, limit: int) -> Callable[[bytes, float], bool]:
    """``reader.feed``, refusing bytes past ``limit``: a server sending without end (or far
    more than any answer) must not grow a VU's memory until the timeout. Returns whether the
    answer is complete (its end marker came): the request ends there."""
    seen = 0
    feed = reader.feed

    def sink(chunk: bytes, now: float) -> bool:
        nonlocal seen
        seen += len(chunk)
        if seen > limit:
            raise ResponseTooLarge(f"response larger than target.max_response_size ({limit} bytes)")
        feed(chunk, now)
        return reader.done

    return sink


def _refuse_unsafe(target: str, headers: Mapping[str, str]) -> None:
    """httpx's own refusal (h11's) quotes the header's value, a secret: refuse first."""
    unsafe = unsafe_request(target, headers)
    if unsafe:
        raise UnsafeRequest(unsafe)


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """Read what follows an answer's end marker for a moment, so that a body that ends
    properly keeps its connection; one kept open is closed by the caller's ``aclose``."""
    read = 0
    with contextlib.suppress(Exception):
        async with asyncio.timeout(_DRAIN_AFTER_DONE):
            async for chunk in chunks:
                read += len(chunk)
                if read > 1 << 16:
                    break


async def _error_text(response: httpx.Response) -> str:
    body = b""
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > _MAX_ERROR_BODY:
            break
    text = body[:_MAX_ERROR_BODY].decode("utf-8", "replace").strip()
    return _http_error(response.status_code, text)
