"""Run the target: bind, serve until told to stop, close connections, flush the truth log.

``serve`` never installs signal handlers or prints; the CLI does both and passes ``ready``
(called with the base URL once listening) and ``stop`` (an event that ends serving).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from loadgen.target import routes_api, routes_chat, routes_llm, ws
from loadgen.target.app import App
from loadgen.target.config import TargetConfig
from loadgen.target.http import HttpConnection

__all__ = ["build_app", "serve"]


def build_app(config: TargetConfig, loop: asyncio.AbstractEventLoop) -> App:
    app = App(config, loop)
    routes_chat.register(app)
    routes_llm.register(app)
    routes_api.register(app)
    ws.register(app)
    return app


async def serve(
    config: TargetConfig, stop: asyncio.Event, ready: Callable[[str], None] | None = None
) -> None:
    """Serve until ``stop`` is set. Raises OSError when the address cannot be bound."""
    loop = asyncio.get_running_loop()
    app = build_app(config, loop)
    server = await loop.create_server(
        lambda: HttpConnection(app),
        config.host,
        config.port,
        backlog=8192,
        reuse_address=True,
        family=socket.AF_INET6 if ":" in config.host else socket.AF_INET,
    )
    port = server.sockets[0].getsockname()[1]
    host = f"[{config.host}]" if ":" in config.host else config.host
    truth = app.truth
    flusher: asyncio.Task[None] | None = None
    if truth is not None:

        async def flush_forever() -> None:
            while True:
                await asyncio.sleep(config.truth_flush)
                truth.flush()

        flusher = asyncio.create_task(flush_forever())
    try:
        if ready is not None:
            ready(f"http://{host}:{port}")
        await stop.wait()
    finally:
        server.close()
        for conn in list(app.connections):
            conn.transport.abort()
        if flusher is not None:
            flusher.cancel()
        await asyncio.sleep(0)
        if truth is not None:
            truth.close()
