"""The live page from the command line: ``--ui [PORT]`` serves it while a run goes,
``--ui-linger`` keeps it up with the final state until Ctrl-C, ``loadgen ui RESULT.json``
opens a past result in the same page.

Control (stop, hold a level, resume) is on only with ``--ui``, and holding a level only for
a run in this process without a breakpoint search; a ``--processes``/``--ray`` run shows the
merged view and can be stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadgen.core.errors import StartError
from loadgen.core.safetext import terminal

__all__ = ["LivePage", "add_ui_arguments", "ui_main"]

DEFAULT_PORT = 8089  # Locust's web UI is 8089 as well: people look there first


def add_ui_arguments(run: argparse.ArgumentParser) -> None:
    group = run.add_argument_group("live page (docs/live-ui.md)")
    group.add_argument(
        "--ui",
        nargs="?",
        const=DEFAULT_PORT,
        type=int,
        metavar="PORT",
        help=f"serve a live page with stop and users/rate controls (port {DEFAULT_PORT}; "
        "0 picks a free one)",
    )
    group.add_argument(
        "--ui-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address for --ui (default 127.0.0.1; another one lets others watch and steer)",
    )
    group.add_argument(
        "--ui-linger",
        action="store_true",
        help="with --ui: keep the page up with the final state until Ctrl-C",
    )


@dataclass
class LivePage:
    """``--ui`` as given, then the port and token the page got (``--ui-linger`` reuses them)."""

    host: str
    port: int
    linger: bool = False
    token: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LivePage | None:
        port = getattr(args, "ui", None)
        if port is None:
            if getattr(args, "ui_linger", False):
                print("warning: --ui-linger does nothing without --ui", file=sys.stderr)
            return None
        return cls(args.ui_host, port, linger=args.ui_linger)

    @contextlib.asynccontextmanager
    async def serving(self, runner: Any) -> AsyncIterator[Callable[[dict[str, Any]], None]]:
        """Serve the page while the body runs ``runner``; push each snapshot to it. The body
        gets ``finished(result_data)``: the pages then show the run's verdict."""
        from loadgen.engine.livefeed import LiveFeed
        from loadgen.engine.uiserver import UIServer
        from loadgen.report.livedata import event_label

        control: Any = getattr(runner, "control", None)  # an Engine's; a distributed run: none
        hold = control is not None and runner.profile.breakpoint is None
        if hold:
            control.allow_steering(runner.profile.load.unit)
        note = (
            ""
            if hold
            else "Holding a level needs a run in one process without a breakpoint "
            "search; this one can only be stopped."
        )
        feed = LiveFeed(runner, control={"stop": True, "hold": hold, "note": note})

        def steer(action: str, value: Any) -> dict[str, Any]:
            if action == "stop" and not runner.stopping:
                print("stopping — asked from the live page", file=sys.stderr, flush=True)
            if not hold:
                if action != "stop":
                    raise ValueError(note)
                runner.stop("stopped from the live page")
                return {"t": None, "action": "stop", "unit": "", "value": None, "by": "ui"}
            event: dict[str, Any] = control.steer(action, value)
            mark = {"t": event["t"], "label": event_label(event), "kind": "control"}
            server.send({"type": "event", "event": mark})
            return event

        server = UIServer(
            feed.init, host=self.host, port=self.port, steer=steer, title=runner.profile.name
        )
        await self._start(server)
        self.port, self.token = server.port, server.token
        follow = asyncio.create_task(_follow(runner, feed, server))

        def finished(data: dict[str, Any]) -> None:
            from loadgen.report.livestatus import final_status

            server.send({"type": "status", "status": final_status(data)})

        try:
            yield finished
        finally:
            follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follow
            await server.aclose()

    async def _start(self, server: Any) -> None:
        try:
            url = await server.start()
        except OSError as exc:
            raise StartError(
                f"--ui: cannot listen on {self.host}:{self.port}: {exc.strerror or exc}",
                "choose another port (--ui 0 picks a free one)",
            ) from exc
        print(f"live page: {url}", file=sys.stderr, flush=True)
        from loadgen.engine.uiserver import is_loopback

        if not is_loopback(self.host):
            print(
                f"warning: the live page listens on {self.host}: anyone who can reach it and "
                "opens the page can stop or steer the run (plain HTTP, no login)",
                file=sys.stderr,
            )

    def stay_up(self, data: dict[str, Any]) -> None:
        """``--ui-linger``: the finished run in the same page (same port and token), until
        Ctrl-C or SIGTERM."""
        from loadgen.cli.runloop import run_loop

        print("live page stays up with the final state; Ctrl-C to end", file=sys.stderr)
        run_loop(lambda: serve_result(data, self.host, self.port, self.token))


async def _follow(runner: Any, feed: Any, server: Any) -> None:
    async for record in runner.snapshots():
        point = feed.take(record)
        server.send({"type": "point", "point": point, "status": feed.status})


async def serve_result(
    data: dict[str, Any], host: str, port: int, token: str | None = None, *, quiet: bool = False
) -> None:
    """Serve a finished result's page until SIGINT or SIGTERM."""
    from loadgen.engine.uiserver import UIServer
    from loadgen.report.livedata import page_data
    from loadgen.report.livestatus import final_status

    message: dict[str, Any] = {
        "type": "init",
        "data": page_data(data),
        "status": final_status(data),
        "control": {"stop": False, "hold": False, "note": ""},
    }
    server = UIServer(
        lambda: message, host=host, port=port, token=token, title=message["data"]["name"]
    )
    page = LivePage(host, port)
    await page._start(server)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, done.set)
    try:
        await done.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await server.aclose()


def ui_main(argv: Sequence[str]) -> int:
    """``loadgen ui RESULT.json [--port P] [--host H]``: a past result in the live page."""
    from loadgen.cli.outputs import ExitCode
    from loadgen.cli.runloop import run_loop
    from loadgen.core.result import load_result

    parser = argparse.ArgumentParser(
        prog="loadgen ui", description="Open a result in the live page (charts, tables, checks)."
    )
    parser.add_argument("result", help="a result.json written by a run")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1")
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return ExitCode.USAGE if exc.code else ExitCode.OK
    path = Path(args.result)
    try:
        result = load_result(path / "result.json" if path.is_dir() else path)
    except (OSError, ValueError) as exc:  # a wrong file: say which and why, no traceback
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = "" if args.result in why else f"{args.result}: "
        print(terminal(f"error: {where}{why} — give a result.json a run wrote"), file=sys.stderr)
        return ExitCode.USAGE
    try:
        run_loop(lambda: serve_result(result.data, args.host, args.port))
    except StartError as exc:
        print(f"error: {terminal(str(exc))}", file=sys.stderr)
        return ExitCode.USAGE
    return ExitCode.OK
