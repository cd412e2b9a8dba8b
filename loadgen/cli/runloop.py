"""Running a runner (an Engine or a distributed run) the CLI's way: on uvloop when installed,
with progress on stderr and Ctrl-C, SIGTERM and SIGHUP stopping it as k6 does.

Shared by ``loadgen run`` (``loadgen.cli.run``) and ``--processes``/``--ray``
(``loadgen.cli.distributed``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from loadgen.core import collector, units
from loadgen.core.result import Result

__all__ = ["attended", "progress_choice", "run_loop", "stop_notice"]

T = TypeVar("T")


def progress_choice(args: argparse.Namespace, quiet: bool) -> tuple[str, float]:
    """How to show progress: a live area at a terminal, a plain line every
    ``--progress-interval`` seconds in CI or a pipe, nothing with --quiet or --json."""
    from loadgen.cli.progress import mode

    return mode(quiet=quiet), float(getattr(args, "progress_interval", None) or 10.0)


_STOP_SIGNALS = (
    (signal.SIGINT, "Ctrl-C"),
    (signal.SIGTERM, "SIGTERM"),
    (signal.SIGHUP, "SIGHUP"),  # a closed terminal or ssh session: keep the results too
)


async def attended(runner: Any, progress: tuple[str, float], ui: Any = None) -> Result:
    """``runner.run()`` (an Engine or a distributed run) with Ctrl-C, SIGTERM and SIGHUP
    stopping it as k6 does: the first lets requests in flight finish (up to
    ``load.graceful_stop``), the second cancels them at once; results are written either way.
    Progress goes to stderr as ``progress`` says; the handlers go when the run ends.
    ``ui``: a ``loadgen.cli.ui.LivePage`` (``--ui``) serving the live page meanwhile."""
    if ui is not None:
        async with ui.serving(runner) as finished:
            done = await attended(runner, progress)
            finished(done.data)
            return done
    from loadgen.cli.progress import Progress

    how, interval = progress
    shown = Progress(runner, how=how, interval=interval) if how != "off" else None
    loop = asyncio.get_running_loop()
    signals = [sig for sig, _ in _STOP_SIGNALS]

    def on_signal(label: str) -> None:
        if not runner.stopping:
            runner.stop(f"interrupted by {label}")
            grace = units.format_duration(runner.profile.load.graceful_stop)
            print(stop_notice(grace, runner.in_flight), file=sys.stderr, flush=True)
        elif not runner.stopping_now:
            runner.stop_now(f"interrupted by {label}")
            print("stopping now — requests in flight are interrupted", file=sys.stderr, flush=True)

    for sig, label in _STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, label)
    watcher = asyncio.create_task(shown.watch()) if shown is not None else None
    try:
        result: Result = await runner.run()
        return result
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if shown is not None:
            shown.stop()
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def stop_notice(grace: str, in_flight: int | None) -> str:
    """The line the first Ctrl-C prints: what the stop waits for and how to skip it."""
    if in_flight == 0:
        return "stopping — no request in flight; writing the results"
    what = (
        "the requests in flight"
        if in_flight is None
        else f"{in_flight} request{'' if in_flight == 1 else 's'}"
    )
    return f"stopping — waiting up to {grace} for {what}; Ctrl-C again to stop now"


def run_loop(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run on uvloop when it is installed, with the cycle collector tuned for a run (the
    CLI's choices for the process it owns; the library never picks a loop or touches gc)."""
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with collector.tuned(), asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(factory())
