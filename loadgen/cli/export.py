"""``--out prometheus=URL``, ``--metrics-port``, ``--metrics-host`` and ``--run-id``: the
live Prometheus export's options, and the run wrapped in the exporter.

``--out`` keeps its meaning (the result directory); a value ``prometheus=URL`` names a
remote write receiver instead, so ``--out DIR --out prometheus=URL`` gives both;
``prometheus=URL?histograms=native`` sends native histograms to that receiver. With
``--processes N`` or ``--ray`` each worker or actor exports its own part (labelled
``segment="i/N"``); part i serves ``/metrics`` on PORT + i − 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["OutAction", "add_export_arguments", "export_options", "exported", "worker_args"]

T = TypeVar("T")

#: The ``--out KIND=URL`` outputs there are.
OUTPUTS = ("prometheus",)


class OutAction(argparse.Action):
    """``--out DIR`` sets the result directory; ``--out prometheus=URL`` adds a receiver."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        text = str(values)
        kind, eq, url = text.partition("=")
        if eq and kind in OUTPUTS:
            if not url.startswith(("http://", "https://")):
                parser.error(
                    f"--out {text}: write prometheus=http://HOST:PORT/api/v1/write "
                    "(the receiver's remote write URL)"
                )
            from loadgen.core.promwire import receiver

            try:
                receiver(url)
            except ValueError as exc:
                parser.error(f"--out prometheus={exc}")
            namespace.remote_write = [*(getattr(namespace, "remote_write", None) or ()), url]
            return
        if getattr(namespace, self.dest, None) not in (None, text):
            parser.error(f"--out {text}: the result directory was already given; give one")
        setattr(namespace, self.dest, text)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: write a TCP port, 1 to 65535, e.g. 9464")
    return int(text)


def add_export_arguments(run: argparse.ArgumentParser) -> None:
    """Add the export options to the ``run`` parser (``--out`` itself is the parser's)."""
    run.set_defaults(remote_write=[])
    run.add_argument(
        "--metrics-port",
        type=_port,
        metavar="PORT",
        help="serve the run's metrics for Prometheus to scrape at http://127.0.0.1:PORT/metrics "
        "(histograms as histograms; with --processes or --ray, part i on PORT+i-1)",
    )
    run.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address --metrics-port listens on (default 127.0.0.1; 0.0.0.0 for all)",
    )
    run.add_argument(
        "--run-id",
        metavar="ID",
        help="the run_id label of exported series (default: the result directory's name)",
    )


def export_options(args: argparse.Namespace, out: Path) -> Any:
    """The ``ExportOptions`` the arguments ask for (``wanted`` False when none)."""
    from loadgen.engine.export import ExportOptions

    port = getattr(args, "metrics_port", None)
    index = int(getattr(args, "segment", (1, 1))[0])
    return ExportOptions(
        remote_write=tuple(getattr(args, "remote_write", None) or ()),
        metrics_port=None if port is None else port + index - 1,
        metrics_host=getattr(args, "metrics_host", "127.0.0.1"),
        run_id=getattr(args, "run_id", None) or out.name,
    )


def worker_args(args: argparse.Namespace, out: Path) -> list[str]:
    """What a ``--processes`` worker is told so it exports its own part under the run's id."""
    argv: list[str] = []
    for url in getattr(args, "remote_write", None) or ():
        argv += ["--out", f"prometheus={url}"]
    if getattr(args, "metrics_port", None) is not None:
        argv += ["--metrics-port", str(args.metrics_port), "--metrics-host", args.metrics_host]
    if argv:
        argv += ["--run-id", getattr(args, "run_id", None) or out.name]
    return argv


async def exported(
    engine: Any, args: argparse.Namespace, out: Path, run: Callable[[], Awaitable[T]]
) -> T:
    """``run()``, with the engine's metrics exported as the arguments ask; a push that
    failed is a warning on stderr after the run (the result stands)."""
    options = export_options(args, out)
    if not options.wanted:
        return await run()
    from loadgen.engine.export import Exporter

    async with Exporter(engine, options) as exporter:
        result = await run()
    for problem in exporter.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return result
