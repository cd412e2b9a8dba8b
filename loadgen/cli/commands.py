"""Command line: ``loadgen run|validate|serve`` and ``python -m loadgen PROFILE``.

The only module that prints, installs signal handlers and picks uvloop. Every failure maps to
one ``ExitCode`` (SPEC §3); a user's mistake is one clear message, never a traceback. The
parser is ``loadgen.cli.parser``; ``run`` is ``loadgen.cli.run`` (``--processes``/``--ray``:
``loadgen.cli.distributed``); ``validate``, ``check``, ``profiles`` and ``init`` are here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from loadgen.cli.distributed import run_distributed, wants_distributed
from loadgen.cli.outputs import ExitCode, output_failure
from loadgen.cli.parser import parser as build_parser
from loadgen.cli.run import quick, run
from loadgen.cli.runloop import run_loop
from loadgen.core import packaged
from loadgen.core.errors import OutputError, ProfileError, StartError
from loadgen.core.profile import load_profile
from loadgen.core.safetext import terminal

__all__ = ["ExitCode", "main"]


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
    "ui",
)
# Commands with parsers of their own: loadgen COMMAND ARGS → function(ARGS) -> exit code.
_DELEGATED = {
    "serve": ("loadgen.target.cli", "serve_main"),
    "report": ("loadgen.cli.report", "report_main"),
    "compare": ("loadgen.cli.report", "compare_main"),
    "aws": ("loadgen.cli.aws", "aws_main"),
    "merge": ("loadgen.cli.distributed", "merge_main"),
    "ui": ("loadgen.cli.ui", "ui_main"),
}


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in _DELEGATED:
        import importlib

        module, function = _DELEGATED[args_list[0]]
        code: int = getattr(importlib.import_module(module), function)(args_list[1:])
        return code
    if args_list and args_list[0] not in _COMMANDS and not args_list[0].startswith("-"):
        args_list.insert(0, "run")  # python -m loadgen PROFILE.yaml
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse printed the problem; SPEC §3 says 2
        return ExitCode.USAGE if exc.code else ExitCode.OK
    if args.command is None:
        parser.print_help()
        return ExitCode.USAGE
    try:
        return _command(args)
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


def _command(args: argparse.Namespace) -> int:
    """Run the parsed command; ``main`` turns what it raises into an exit code."""
    if args.command == "profiles":
        return _profiles()
    if args.command == "init":
        return _init(args)
    if args.command == "run" and (args.url or args.profile is None):
        printed = quick(args)
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
    if wants_distributed(args):
        return run_distributed(args)
    return run(args)


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
