"""Where a run is, while it runs: a live area on a terminal, a plain line every N s in CI.

On a terminal (stderr is a TTY and ``CI`` is unset) the area is drawn by ``rich`` (a
well-kept renderer: cursor control, resizing and wide characters done right) and redrawn
each second from the engine's snapshots; in CI or through a pipe one plain summary line is
written every ``interval`` seconds, so a ten-minute run is not ten silent minutes.
``NO_COLOR`` removes colour only. The fields themselves are ``console.progress_fields``, so
both forms say the same thing.

Front layer: only the CLI imports it (and with it ``rich``).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Literal, TextIO

from loadgen.core.shapes import plan
from loadgen.report.console import ProgressState, progress_fields, progress_line

__all__ = ["Progress", "mode"]

Mode = Literal["live", "plain", "off"]


def mode(*, quiet: bool, stream: TextIO | None = None) -> Mode:
    """Live area for a person at a terminal, plain lines in CI or a pipe, nothing when quiet."""
    if quiet:
        return "off"
    if (stream or sys.stderr).isatty() and not os.environ.get("CI"):
        return "live"
    return "plain"


class Progress:
    """Follows ``runner.snapshots()`` and shows the run's state; ``stop()`` clears the area."""

    def __init__(
        self, runner: Any, *, how: str, interval: float = 10.0, stream: TextIO | None = None
    ) -> None:
        self.runner = runner
        self.how = how
        self.interval = interval
        self.stream = stream or sys.stderr  # looked up now: tests and embedders replace it
        load = runner.profile.load
        steps = plan(load)
        breakpoint_search = runner.profile.breakpoint is not None
        self.state = ProgressState(
            total=None if breakpoint_search or not steps else steps[-1].until,
            steps=tuple(steps),
            open_model=load.arrivals,
        )
        self._live: Any = None
        self._last_plain = time.monotonic()  # the first plain line after one interval

    async def watch(self) -> None:
        """Until the run ends: take each snapshot, then draw (live) or print (plain, every
        ``interval`` seconds)."""
        if self.how == "live":
            self._start_live()
        async for record in self.runner.snapshots():
            self.state.take(record)
            self.state.stopping = bool(getattr(self.runner, "stopping", False))
            self.state.in_flight = getattr(self.runner, "in_flight", None)
            self._show()

    def _show(self) -> None:
        if self._live is not None:
            self._live.update(self._renderable(), refresh=True)
        elif self.how == "plain":
            now = time.monotonic()
            if now - self._last_plain >= self.interval:
                self._last_plain = now
                self.stream.write(progress_line(self.state) + "\n")
                self.stream.flush()

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=self.stream, no_color=bool(os.environ.get("NO_COLOR")))
        self._live = Live(self._renderable(), console=console, refresh_per_second=1, transient=True)
        self._live.start()

    def _renderable(self) -> Any:
        """Labels above values; Text, not markup, so a stage name cannot inject styles."""
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 2))
        fields = progress_fields(self.state)
        for _ in fields:
            grid.add_column(no_wrap=True)
        grid.add_row(*(Text(label, style="cyan") for label, _ in fields))
        style = "bold yellow" if self.state.stopping else "bold"
        grid.add_row(*(Text(value, style=style) for _, value in fields))
        return grid

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
