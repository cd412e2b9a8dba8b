"""``loadgen serve`` / ``python -m loadgen.target serve``: the only place that prints.

Prints exactly one line to stdout once listening (``loadgen target listening on URL``),
serves until SIGINT or SIGTERM (or, with ``--until-stdin-closes``, until the parent that
started it dies) and exits 0. Bad flags or config: one line per problem on
stderr naming the flag or ``file:line`` and the fix, exit 2, no traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from loadgen.core import collector
from loadgen.target.config import TargetConfig
from loadgen.target.flags import build_parser, config_from_args
from loadgen.target.server import serve

__all__ = ["main", "serve_main"]

READY_PREFIX = "loadgen target listening on "


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"loadgen serve: {message}; see loadgen serve --help\n")
        raise SystemExit(2)


def _raise_nofile() -> None:
    """10,000 open streams need more descriptors than the usual soft limit of 1024."""
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if name == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if name == "uvloop":
            raise ValueError(
                "--event-loop uvloop: uvloop is not installed; "
                "pip install uvloop or use --event-loop asyncio"
            ) from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def _run(config: TargetConfig, *, until_stdin_closes: bool = False) -> bool:
    """Serve until SIGINT, SIGTERM or (when asked) the end of stdin; True when stdin ended."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    orphaned = False
    if until_stdin_closes:
        fd = sys.stdin.fileno()

        def on_stdin() -> None:
            nonlocal orphaned
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:  # the parent closed its end, or died
                loop.remove_reader(fd)
                orphaned = True
                stop.set()

        loop.add_reader(fd, on_stdin)

    def ready(url: str) -> None:
        sys.stdout.write(f"{READY_PREFIX}{url}\n")
        sys.stdout.flush()

    await serve(config, stop, ready)
    return orphaned


def serve_main(argv: list[str] | None = None) -> int:
    """Entry of ``loadgen serve ARGS``; returns the exit code."""
    parser = build_parser()
    parser.__class__ = _Parser
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help (0) or a bad flag (2, already explained)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        config = config_from_args(args)
        factory = _loop_factory(config.event_loop)
    except ValueError as exc:
        for line in str(exc).splitlines():
            sys.stderr.write(f"loadgen serve: {line}\n")
        return 2
    _raise_nofile()
    coro: Coroutine[Any, Any, bool] = _run(config, until_stdin_closes=args.until_stdin_closes)
    try:
        with collector.tuned(), asyncio.Runner(loop_factory=factory) as runner:
            orphaned = runner.run(coro)
    except OSError as exc:
        sys.stderr.write(
            f"loadgen serve: cannot listen on {config.host}:{config.port}: "
            f"{exc.strerror or exc}; pick another --port (0 = any free port)\n"
        )
        return 2
    except KeyboardInterrupt:
        return 0
    if orphaned and args.orphan_dir:
        shutil.rmtree(args.orphan_dir, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m loadgen.target serve ...``."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "serve":
        sys.stderr.write(
            "usage: python -m loadgen.target serve [options]; "
            "see python -m loadgen.target serve --help\n"
        )
        return 2
    return serve_main(args[1:])
