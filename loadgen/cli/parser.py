"""The ``loadgen`` argument parser: a declarative table, one ``add_argument`` per option, and the
argument types that check an option's text once, at parse time, and say what to write instead.

The types keep their names: argparse prints a type's ``__name__`` when it raises ValueError.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import yaml

from loadgen._version import __version__
from loadgen.cli.distributed import add_distributed_arguments
from loadgen.cli.export import OutAction, add_export_arguments
from loadgen.cli.quick import APIS, SAMPLES
from loadgen.cli.ui import add_ui_arguments
from loadgen.core import units
from loadgen.core.lengths import parse_length
from loadgen.core.profile.replayspec import ratio
from loadgen.core.traces import FORMATS as TRACE_FORMATS

__all__ = ["parser"]


def parser() -> argparse.ArgumentParser:
    """The ``loadgen`` parser; the delegated commands parse their own arguments."""
    parser = argparse.ArgumentParser(
        prog="loadgen",
        description="Load-test chatbot and LLM APIs: streamed TTFT, inter-token latency, "
        "end-to-end latency and tokens/s, measured from each request's intended start.",
        epilog="`python -m loadgen PROFILE.yaml` is `loadgen run PROFILE.yaml`. "
        "`loadgen serve --help` shows the built-in target's options.",
    )
    parser.add_argument("--version", action="version", version=f"loadgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run a profile (a file, or a shipped one by name), or --url for a quick run",
        description="Run a profile: a YAML file, a shipped profile by name (`loadgen "
        "profiles` lists them), or with no profile a chat load against --url.",
    )
    _run_arguments(run)
    sub.add_parser("profiles", help="list the shipped profiles, one line each")
    init = sub.add_parser(
        "init", help="copy the shipped profiles and a .env.example into DIR/profiles"
    )
    init.add_argument("dir", nargs="?", default=".", help="the project directory (default .)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")

    check = sub.add_parser(
        "check", help="preflight: reach the target, log in, run every task once, show a table"
    )
    check.add_argument("profile")
    check.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY.PATH=VALUE")
    validate = sub.add_parser("validate", help="check a profile without running it")
    validate.add_argument("profile")
    validate.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="KEY.PATH=VALUE"
    )

    for name, what in (
        ("report", "re-render every format from a result (see --help)"),
        ("merge", "merge segment results exactly (see --help)"),
        ("compare", "compare two results; exit 1 on a regression (see --help)"),
        ("aws", "AWS helpers: discover APIs, pools, function URLs (see --help)"),
        ("ui", "open a result in the live page: charts, tables, checks (see --help)"),
    ):
        sub.add_parser(name, help=what, add_help=False)
    sub.add_parser(
        "serve", help="run the built-in chatbot target (see `loadgen serve --help`)", add_help=False
    )
    return parser


def _run_arguments(run: argparse.ArgumentParser) -> None:
    """The ``run`` options, in ``--help`` order."""
    run.add_argument(
        "profile", nargs="?", help="the profile: a YAML file or a shipped name (smoke, load, …)"
    )
    _quick_arguments(run)
    _scrape_arguments(run)
    run.add_argument(
        "--users", type=_positive_int, help="scale the load plan to this many users at peak"
    )
    run.add_argument(
        "--duration", type=_duration, help="scale the load plan to this total length (30s, 5m)"
    )
    run.add_argument("--rate", type=_rate, help="arrival rate for open-model profiles (20/s)")
    run.add_argument(
        "--scale",
        type=_scale,
        metavar="F",
        help="multiply the plan's users or rate by F (0.1 for a tenth)",
    )
    run.add_argument("--seed", type=int, help="seed for reproducible choices")
    run.add_argument(
        "--segment",
        type=_segment,
        default=(1, 1),
        metavar="I/N",
        help="run the I-th of N exact parts of the load (for several processes "
        "or machines; give every part the same --seed)",
    )
    run.add_argument(
        "--start-at",
        type=_start_at,
        metavar="EPOCH",
        help="start at this wall-clock time (seconds since the epoch)",
    )
    run.add_argument(
        "--follow-steps",
        metavar="FILE",
        help="breakpoint profiles run as one of several parts: take each step's level from "
        "the JSON lines a driver appends to FILE instead of judging (--processes does this)",
    )
    run.add_argument(
        "--out",
        action=OutAction,
        help="directory for the result files (default: report.dir/NAME-TIME); "
        "prometheus=URL pushes live metrics to a remote write receiver (repeatable; "
        "URL?histograms=native sends native histograms)",
    )
    run.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a profile value, e.g. --set target.timeout=30s (repeatable)",
    )
    run.add_argument(
        "--truth", help="with the built-in target: write its per-request truth log here"
    )
    run.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    run.add_argument(
        "--progress-interval",
        type=_duration,
        metavar="D",
        help="in CI or a pipe, print a progress line this often (default 10s)",
    )
    run.add_argument("--json", action="store_true", help="print the overall summary as JSON")
    add_distributed_arguments(run)
    add_export_arguments(run)
    add_ui_arguments(run)


def _scrape_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--warm-connections",
        action="store_true",
        help="open each user's connection before the clock starts, so first requests do not "
        "pay connect time (closed model; load.warm_connections, docs/metrics.md)",
    )
    run.add_argument(
        "--scrape",
        action="append",
        default=[],
        metavar="URL",
        help="scrape this Prometheus /metrics page during the run (builtin: the target's own; "
        "repeatable for replicas; with a profile or --url; docs/server-metrics.md)",
    )


def _quick_arguments(run: argparse.ArgumentParser) -> None:
    quick = run.add_argument_group(
        "quick run (no profile)", "a chat load against any OpenAI-compatible server"
    )
    quick.add_argument("--url", help="the server's base URL, or builtin for the built-in target")
    quick.add_argument(
        "--model", help="the model to ask for (default: the server's only model, from /v1/models)"
    )
    quick.add_argument(
        "--api", choices=APIS, default="openai", help="the endpoint or protocol (openai: chat)"
    )
    quick.add_argument("--prompt", help="the question every request asks")
    quick.add_argument("--max-tokens", type=_positive_int, help="max_tokens of each request")
    for flag, what in (
        ("--input-tokens", "send synthetic prompts of N tokens (N:SD for a normal spread)"),
        ("--output-tokens", "ask for exactly N output tokens (max_tokens, min_tokens, ignore_eos)"),
    ):
        quick.add_argument(flag, type=_length, metavar="N[:SD]", help=what)
    quick.add_argument("--system", help="a system message before every prompt")
    quick.add_argument(
        "--dataset",
        metavar="FILE",
        help="send the prompts of a JSONL, CSV or ShareGPT JSON file (docs/datasets.md)",
    )
    quick.add_argument(
        "--dataset-sample",
        choices=SAMPLES,
        help="the order rows are drawn in (shuffle: each row once per pass, seeded)",
    )
    _trace_arguments(quick)
    quick.add_argument(
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        type=_param,
        help="a request field, VALUE read as YAML (temperature=0, ignore_eos=true; repeatable)",
    )
    quick.add_argument(
        "--header",
        dest="headers",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        type=_header,
        help="a header sent with every request (repeatable)",
    )
    quick.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="send Authorization: Bearer $VAR (read from the environment, never written out)",
    )
    quick.add_argument(
        "--print-profile", action="store_true", help="print the profile the options stand for"
    )


def _trace_arguments(quick: argparse._ArgumentGroup) -> None:
    """``--trace FILE`` and its options: a replay (docs/replay.md)."""
    quick.add_argument(
        "--trace",
        metavar="FILE",
        help="replay a trace's requests at their own timestamps (docs/replay.md)",
    )
    quick.add_argument(
        "--trace-format",
        choices=TRACE_FORMATS,
        help="the trace's format (default: jsonl, or csv for a .csv file)",
    )
    quick.add_argument(
        "--time-scale",
        type=_time_scale,
        metavar="X",
        help="multiply the trace's gaps by X: 0.5 replays twice as fast, 1/60 an hour a minute",
    )


def _length(text: str) -> str:
    """A token length as the quick path takes it: ``512`` or ``512:64`` (mean:stdev)."""
    try:
        parse_length(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from exc
    return text


def _param(text: str) -> tuple[str, Any]:
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write KEY=VALUE, e.g. temperature=0")
    try:
        parsed = yaml.safe_load(value) if value else ""
    except yaml.YAMLError:
        parsed = value
    return name.strip(), parsed


def _header(text: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=VALUE, e.g. x-tenant=acme")
    return name.strip(), value


def _time_scale(text: str) -> float:
    try:
        value = float(ratio(text))
    except ValueError:
        value = math.nan
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: write a number > 0 (0.5: twice as fast)")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number > 0")
    return value


def _segment(text: str) -> tuple[int, int]:
    i, slash, n = text.partition("/")
    if not slash or not i.isdigit() or not n.isdigit() or not 1 <= int(i) <= int(n):
        raise argparse.ArgumentTypeError(f"{text!r}: write I/N with 1 <= I <= N, e.g. 2/8")
    return int(i), int(n)


def _sends_something(text: str, parse: Callable[[str], float], nothing: str) -> float:
    """``parse(text)``, which must be > 0: zero time or zero arrivals would send nothing."""
    try:
        value = parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is {nothing}: the run would send nothing")
    return value


def _duration(text: str) -> float:
    """A run length: finite and > 0 (``inf`` would never end, ``0`` would send nothing)."""
    return _sends_something(text, units.parse_duration, "no time")


def _rate(text: str) -> str:
    """Checked here, kept as written (workers and the quick profile take the text)."""
    _sends_something(text, units.parse_rate, "no arrivals")
    return text


def _scale(text: str) -> float:
    try:
        factor = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; write 0.5 or 2") from exc
    if not math.isfinite(factor) or factor <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number > 0, such as 0.5 or 2")
    return factor


_START_AT_HORIZON = 86400.0  # further ahead is a typo (milliseconds for seconds)


def _start_at(text: str) -> float:
    """Epoch seconds within a day from now: a later start is a mistake, not a plan."""
    try:
        at = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not epoch seconds") from exc
    if not math.isfinite(at):
        raise argparse.ArgumentTypeError(f"{text!r} is not a time; write epoch seconds")
    if at - time.time() > _START_AT_HORIZON:
        raise argparse.ArgumentTypeError(
            f"{text!r} is more than a day away; write epoch seconds (date +%s), not milliseconds"
        )
    return at
