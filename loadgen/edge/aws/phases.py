"""Connection phases of Bedrock requests: aiohttp's client tracing, reached through aiobotocore.

aiobotocore builds its ``aiohttp.ClientSession`` itself and takes no trace configs, so its
session class is subclassed (``AioConfig(http_session_cls=...)``) to add one. One client
(and pool) serves every VU, so the trace finds the request's ``Sample`` in a context
variable that ``phases_of`` sets around the call: aiohttp runs the callbacks in the caller's
task. aiohttp opens TCP and TLS in one step, so ``connect`` includes the TLS handshake and
``tls`` is not recorded (None).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from time import monotonic
from typing import Any

from loadgen.core.sample import Sample

__all__ = ["phases_of", "traced_session_class"]

_SAMPLE: ContextVar[Sample | None] = ContextVar("loadgen_aws_sample", default=None)


@contextlib.contextmanager
def phases_of(sample: Sample) -> Iterator[None]:
    """Record the connection phases of the AWS requests made inside into ``sample``."""
    token = _SAMPLE.set(sample)
    try:
        yield
    finally:
        _SAMPLE.reset(token)


async def _created_start(session: Any, ctx: Any, params: Any) -> None:
    sample = _SAMPLE.get()
    if sample is not None:
        ctx.loadgen_at = monotonic()
        sample.reused, sample.connect, sample.tls = False, None, None


async def _created(session: Any, ctx: Any, params: Any) -> None:
    sample = _SAMPLE.get()
    if sample is not None:
        sample.write_start = now = monotonic()
        sample.connect = now - getattr(ctx, "loadgen_at", now)


async def _reused(session: Any, ctx: Any, params: Any) -> None:
    sample = _SAMPLE.get()
    if sample is not None:
        sample.reused, sample.connect, sample.tls = True, 0.0, None
        sample.write_start = monotonic()


async def _sent(session: Any, ctx: Any, params: Any) -> None:
    """Headers, then each body chunk: the last one sent is when the request was written."""
    sample = _SAMPLE.get()
    if sample is not None:
        sample.written = monotonic()


@functools.cache
def _trace() -> Any:
    import aiohttp

    config = aiohttp.TraceConfig()
    config.on_connection_create_start.append(_created_start)
    config.on_connection_create_end.append(_created)
    config.on_connection_reuseconn.append(_reused)
    config.on_request_headers_sent.append(_sent)
    config.on_request_chunk_sent.append(_sent)
    config.freeze()
    return config


@functools.cache
def traced_session_class() -> type:
    """aiobotocore's aiohttp session with the phase trace added to each ClientSession it opens
    (imported here: importing loadgen.edge.aws stays light)."""
    from aiobotocore.httpsession import AIOHTTPSession

    class TracedSession(AIOHTTPSession):
        async def _get_session(self, proxy_url: Any) -> Any:
            session = await super()._get_session(proxy_url)  # type: ignore[misc]
            traces = session.trace_configs  # the session's own list, read per request
            if _trace() not in traces:
                traces.append(_trace())
            return session

    return TracedSession
