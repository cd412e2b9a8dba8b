"""Command line: ``loadgen run|validate|serve`` and ``python -m loadgen PROFILE``.

The only module that prints, installs signal handlers and picks uvloop. Every failure maps to
one ``ExitCode`` (SPEC §3); a user's mistake is one clear message, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from loadgen._version import __version__
from loadgen.cli.quick import APIS, QuickOptions, choose_model, profile_text
from loadgen.cli.quick import models as quick_models
from loadgen.core import packaged, units
from loadgen.core.errors import OutputError, Problem, ProfileError, StartError
from loadgen.core.profile import Profile, load_profile
from loadgen.core.result import Result
from loadgen.core.safetext import terminal
from loadgen.engine import collector
from loadgen.engine.steps import FileSteps

__all__ = ["ExitCode", "main"]

T = TypeVar("T")


class ExitCode(enum.IntEnum):
    OK = 0
    THRESHOLD_FAILED = 1
    USAGE = 2
    OUTPUT = 3  # a result or report file could not be written (full disk, --out a file)
    INTERRUPTED = 130


_COMMANDS = (
    "run",
    "validate",
    "serve",
    "report",
    "compare",
    "aws",
    "check",
    "merge",
    "profiles",
    "init",
)
# Commands with parsers of their own: loadgen COMMAND ARGS → function(ARGS) -> exit code.
_DELEGATED = {
    "serve": ("loadgen.target.cli", "serve_main"),
    "report": ("loadgen.cli.report", "report_main"),
    "compare": ("loadgen.cli.report", "compare_main"),
    "aws": ("loadgen.cli.aws", "aws_main"),
    "merge": ("loadgen.cli.distributed", "merge_main"),
}


def _parser() -> argparse.ArgumentParser:
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
    run.add_argument(
        "profile", nargs="?", help="the profile: a YAML file or a shipped name (smoke, load, …)"
    )
    _quick_arguments(run)
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
    run.add_argument("--out", help="directory for the result files (default: report.dir/NAME-TIME)")
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

    from loadgen.cli.distributed import add_distributed_arguments

    add_distributed_arguments(run)
    for name, what in (
        ("report", "re-render every format from a result (see --help)"),
        ("merge", "merge segment results exactly (see --help)"),
        ("compare", "compare two results; exit 1 on a regression (see --help)"),
        ("aws", "AWS helpers: discover APIs, pools, function URLs (see --help)"),
    ):
        sub.add_parser(name, help=what, add_help=False)
    sub.add_parser(
        "serve", help="run the built-in chatbot target (see `loadgen serve --help`)", add_help=False
    )
    return parser


def _quick_arguments(run: argparse.ArgumentParser) -> None:
    quick = run.add_argument_group(
        "quick run (no profile)", "a chat load against any OpenAI-compatible server"
    )
    quick.add_argument("--url", help="the server's base URL, or builtin for the built-in target")
    quick.add_argument(
        "--model", help="the model to ask for (default: the server's only model, from /v1/models)"
    )
    quick.add_argument("--api", choices=APIS, default="openai", help="how to chat (openai)")
    quick.add_argument("--prompt", help="the question every request asks")
    quick.add_argument("--max-tokens", type=_positive_int, help="max_tokens of each request")
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


def _header(text: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=VALUE, e.g. x-tenant=acme")
    return name.strip(), value


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


def _duration(text: str) -> float:
    """A run length: finite and > 0 (``inf`` would never end, ``0`` would send nothing)."""
    try:
        seconds = units.parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is no time: the run would send nothing")
    return seconds


def _rate(text: str) -> str:
    """Checked here, kept as written (workers and the quick profile take the text)."""
    try:
        rate = units.parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if rate <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is no arrivals: the run would send nothing")
    return text


def _scale(text: str) -> float:
    try:
        factor = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; write 0.5 or 2") from None
    if not math.isfinite(factor) or factor <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number > 0, such as 0.5 or 2")
    return factor


_START_AT_HORIZON = 86400.0  # further ahead is a typo (milliseconds for seconds)


def _start_at(text: str) -> float:
    """Epoch seconds within a day from now: a later start is a mistake, not a plan."""
    try:
        at = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not epoch seconds") from None
    if not math.isfinite(at):
        raise argparse.ArgumentTypeError(f"{text!r} is not a time; write epoch seconds")
    if at - time.time() > _START_AT_HORIZON:
        raise argparse.ArgumentTypeError(
            f"{text!r} is more than a day away; write epoch seconds (date +%s), not milliseconds"
        )
    return at


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in _DELEGATED:
        import importlib

        module, function = _DELEGATED[args_list[0]]
        code: int = getattr(importlib.import_module(module), function)(args_list[1:])
        return code
    if args_list and args_list[0] not in _COMMANDS and not args_list[0].startswith("-"):
        args_list.insert(0, "run")  # python -m loadgen PROFILE.yaml
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse printed the problem; SPEC §3 says 2
        return ExitCode.USAGE if exc.code else ExitCode.OK
    if args.command is None:
        parser.print_help()
        return ExitCode.USAGE
    try:
        if args.command == "profiles":
            return _profiles()
        if args.command == "init":
            return _init(args)
        if args.command == "run" and (args.url or args.profile is None):
            printed = _quick(args)
            if printed is not None:
                return printed
        if getattr(args, "profile", None):
            args.profile = str(packaged.resolve(args.profile))
            if args.command == "run" and args.print_profile:
                load_profile(args.profile, sets=args.sets)  # its problems, if any, as usual
                print(Path(args.profile).read_text(encoding="utf-8"), end="")
                return ExitCode.OK
        if args.command == "validate":
            return _validate(args)
        if args.command == "check":
            return _check(args)
        from loadgen.cli.distributed import run_distributed, wants_distributed

        if wants_distributed(args):
            return run_distributed(args)
        return _run(args)
    except ProfileError as exc:
        for problem in exc.problems:
            print(f"error: {terminal(str(problem))}", file=sys.stderr)
        return ExitCode.USAGE
    except StartError as exc:
        print(f"error: {terminal(str(exc))}", file=sys.stderr)
        return ExitCode.USAGE
    except OutputError as exc:
        print(output_failure(exc), file=sys.stderr)
        return ExitCode.OUTPUT
    except KeyboardInterrupt:  # outside a run's handlers: while loading, rendering reports
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def _profiles() -> int:
    """``loadgen profiles``: the shipped profiles, one line each."""
    where = packaged.directory()
    if where is None:
        print("this installation of loadgen carries no profiles", file=sys.stderr)
        return ExitCode.USAGE
    names = packaged.names()
    width = max(map(len, names))
    for name in names:
        print(f"{name.ljust(width)}  {packaged.describe(where / (name + '.yaml'))}")
    print("\nrun one with `loadgen run NAME`; copy them into a project with `loadgen init`")
    return ExitCode.OK


def _init(args: argparse.Namespace) -> int:
    """``loadgen init [DIR]``: the shipped profiles and a .env.example, to edit and commit."""
    dest = Path(args.dir)
    try:
        copied, kept = packaged.copy_into(dest, force=args.force)
    except OSError as exc:
        print(f"error: cannot write into {dest}: {exc.strerror or exc}", file=sys.stderr)
        return ExitCode.USAGE
    for path in copied:
        print(f"wrote {path}")
    for path in kept:
        print(f"kept  {path} (exists; --force overwrites)")
    print(
        f"\nnext: `loadgen run {dest / 'profiles' / 'smoke.yaml'}` (the built-in target), or set "
        "CHATBOT_URL in profiles/.env to point it at your server (see profiles/.env.example)"
    )
    return ExitCode.OK


def _quick(args: argparse.Namespace) -> int | None:
    """The quick path: write the profile the options stand for, then run it like any other
    (returns None to go on with ``args.profile`` set), or print it (``--print-profile``)."""
    if args.url is None:
        raise ProfileError(
            [
                Problem(
                    "run",
                    None,
                    "",
                    "no profile given",
                    "name a profile (`loadgen profiles` lists the shipped ones), or run a quick "
                    "load: loadgen run --url http://127.0.0.1:8000 --users 10 --duration 30s",
                )
            ]
        )
    if args.profile is not None:
        raise ProfileError(
            [Problem("--url", None, "", "give a profile or --url, not both", "drop one")]
        )
    url = args.url.rstrip("/")
    model = args.model
    if model is None and args.api == "openai" and url != "builtin":
        model = _ask_model(url, args)
    opts = QuickOptions(
        url=url,
        model=model,
        api=args.api,
        prompt=args.prompt,
        max_tokens=args.max_tokens,
        headers=tuple(args.headers),
        api_key_env=args.api_key_env,
        users=args.users,
        rate=args.rate,
        duration=units.format_duration(args.duration) if args.duration else "30s",
    )
    text = profile_text(opts)
    if args.print_profile:
        print(text, end="")
        return ExitCode.OK
    out = (
        Path(args.out) if args.out else Path("reports") / f"quick-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "profile.yaml").write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StartError(f"cannot write {out}: {exc.strerror or exc}", "choose --out") from exc
    args.profile, args.out = str(out / "profile.yaml"), str(out)
    args.users = args.rate = args.duration = None  # in the profile now
    return None


def _ask_model(url: str, args: argparse.Namespace) -> str:
    headers = dict(args.headers)
    if args.api_key_env and os.environ.get(args.api_key_env):
        headers["authorization"] = f"Bearer {os.environ[args.api_key_env]}"
    try:
        listed = run_loop(lambda: quick_models(url, headers))
    except (OSError, ValueError) as exc:
        raise StartError(str(exc), "pass --model NAME") from exc
    model, said = choose_model(listed, url)
    if model is None:
        raise StartError(said)
    print(f"loadgen: {said}", file=sys.stderr)
    return model


def _validate(args: argparse.Namespace) -> int:
    from loadgen.core.describe import describe
    from loadgen.core.redact import redact_text

    profile = load_profile(args.profile, sets=args.sets)
    target = redact_text(profile.target.base_url, profile.secrets)
    print(terminal(f"{args.profile}: ok — profile {profile.name!r}, target {target}"))
    for line in describe(profile):
        print(terminal(redact_text(line, profile.secrets)))
    return ExitCode.OK


def _check(args: argparse.Namespace) -> int:
    """Print one row per request of the preflight; exit 2 when any failed, with the fix."""
    import textwrap

    from loadgen.engine.preflight import WIDTH, CheckRow, fixes, preflight, table
    from loadgen.engine.run import Engine
    from loadgen.report.console import text_table

    profile = load_profile(args.profile, sets=args.sets)

    async def go() -> list[CheckRow]:
        async with Engine(profile) as engine:
            target = engine.secrets.text(engine.base_url)
            print(terminal(f"checking {profile.name!r} against {target}"), file=sys.stderr)
            return await preflight(engine)

    rows = run_loop(go)
    for line in text_table(table(rows)):
        print(line)
    failed = [r for r in rows if not r.ok]
    for fix in fixes(rows):
        fix = terminal(fix)
        print(textwrap.fill(fix, WIDTH, subsequent_indent="    ", break_on_hyphens=False))
    if not rows:
        print("nothing ran: the profile has no tasks")
        return ExitCode.USAGE
    print(
        f"\n{len(rows) - len(failed)} of {len(rows)} requests ok"
        + ("" if not failed else " — fix the problems above before a long run")
    )
    return ExitCode.USAGE if failed else ExitCode.OK


def _run(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile, sets=args.sets)
    rate = None
    if args.rate is not None:
        if profile.load.model != "open":
            raise ProfileError(
                [
                    Problem(
                        "--rate",
                        None,
                        "",
                        f"{args.profile} uses the closed model",
                        "use --users, or set load.model: open in the profile",
                    )
                ]
            )
        try:
            rate = units.parse_rate(args.rate)
        except ValueError as exc:
            raise ProfileError([Problem("--rate", None, "", str(exc))]) from None
    if args.users is not None and profile.load.model == "open":
        raise ProfileError(
            [
                Problem(
                    "--users",
                    None,
                    "",
                    f"{args.profile} uses the open model",
                    "use --rate 20/s to scale its arrival rate",
                )
            ]
        )
    if args.follow_steps and profile.breakpoint is None:
        raise ProfileError(
            [
                Problem(
                    "--follow-steps",
                    None,
                    "",
                    f"{args.profile} has no breakpoint search to follow",
                    "give --follow-steps only with a profile that has breakpoint:",
                )
            ]
        )
    out = Path(args.out) if args.out else _default_out(profile)
    quiet = args.quiet or args.json
    live = progress_choice(args, quiet)
    if not quiet:
        print(
            terminal(f"loadgen {__version__}: running {profile.name!r} — results in {out}"),
            file=sys.stderr,
        )
    failure: OutputError | None = None
    try:
        result = run_loop(lambda: _run_async(profile, args, out, live, rate))
    except OutputError as exc:
        if not isinstance(exc.result, Result):
            raise  # nothing ran: the directory could not be made
        result, failure = exc.result, exc
    written: list[Path] = []
    if failure is None:
        try:
            written = render_reports(result, out, profile.report.formats)
        except OutputError as exc:
            failure = exc
    if args.json:
        print(json_summary(result, written))
    elif not args.quiet:
        from loadgen.report.console import summary

        print(summary(result.data))
        print(f"\nresult: {result.path or 'not written'}")
        for path in written:
            print(f"report: {path}")
    if failure is not None:  # the run's numbers stand; its files do not
        print(output_failure(failure), file=sys.stderr)
        return ExitCode.OUTPUT
    return result.exit_code


def output_failure(exc: OutputError) -> str:
    """The one line an output failure prints: the path, the OS's cause and the fix."""
    return f"error: {terminal(str(exc))} — {exc.hint}"


def json_summary(result: Result, written: Sequence[Path], **extra: Any) -> str:
    """``--json``: where the files are, the run, the overall numbers and the verdict (the
    same checks the console, HTML and JUnit show; ``exit_code`` is the process's)."""
    data = result.data
    verdict = result.verdict
    summary = {
        "result": str(result.path),
        "reports": [str(p) for p in written],
        "run": data["run"],
        "thresholds": data.get("thresholds", []),
        "slo": data.get("slo", []),
        "health": data.get("health", {}),
        **extra,
        "overall": overall_brief(data),
        "verdict": verdict.to_dict(),
        "exit_code": verdict.exit_code,
    }
    return json.dumps(summary, indent=1)


def overall_brief(data: dict[str, Any]) -> dict[str, Any]:
    """The overall scope for ``--json``: every number, no encoded histograms."""
    overall = data["scopes"]["overall"]
    brief = {k: v for k, v in overall.items() if k != "metrics"}
    brief["metrics"] = {
        k: {kk: vv for kk, vv in v.items() if kk != "hdr"} for k, v in overall["metrics"].items()
    }
    return brief


def render_reports(result: Result, out: Path, formats: Sequence[str]) -> list[Path]:
    """Render the report formats (json is the result itself). A file that cannot be written
    raises ``OutputError``; any other rendering failure is a warning (the result is safe)."""
    wanted = [f for f in formats if f != "json"]
    if not wanted:
        return []
    from loadgen.report import render_all

    try:
        return render_all(result, out, wanted)
    except OSError as exc:  # a full disk, a path that is a file: exit 3, not a warning
        where = exc.filename if isinstance(exc.filename, str) else out
        raise OutputError(where, exc) from exc
    except Exception as exc:  # the results are safe on disk already; say what failed
        print(
            f"warning: could not render {', '.join(wanted)}: {exc} — the result is in "
            f"{result.path}; retry with `loadgen report {result.path}`",
            file=sys.stderr,
        )
        return []


def _default_out(profile: Profile) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(profile.report.dir) / f"{profile.name}-{stamp}"


async def _run_async(
    profile: Profile,
    args: argparse.Namespace,
    out: Path,
    live: tuple[str, float],
    rate: float | None,
) -> Result:
    from loadgen.engine.run import Engine

    async with Engine(
        profile,
        users=args.users,
        rate=rate,
        scale=args.scale,
        duration=args.duration,
        seed=args.seed,
        out=out,
        truth=args.truth,
        segment=args.segment,
        start_at=args.start_at,
        steps=_follow(profile, args.follow_steps),
    ) as engine:
        for warning in engine.limit_warnings:
            print(f"warning: {warning}", file=sys.stderr)
        return await attended(engine, live)


def _follow(profile: Profile, path: str | None) -> FileSteps | None:
    """``--follow-steps``: the driver's commands, given up after a step and a minute of
    silence (a killed driver must not leave its workers running for ever)."""
    if path is None or profile.breakpoint is None:
        return None
    return FileSteps(Path(path), patience=profile.breakpoint.step_duration + 60.0)


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


async def attended(runner: Any, progress: tuple[str, float]) -> Result:
    """``runner.run()`` (an Engine or a distributed run) with Ctrl-C, SIGTERM and SIGHUP
    stopping it as k6 does: the first lets requests in flight finish (up to
    ``load.graceful_stop``), the second cancels them at once; results are written either way.
    Progress goes to stderr as ``progress`` says; the handlers go when the run ends."""
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
