"""``loadgen run``: a profile, or with ``--url`` a quick chat load, run in this process.

``--processes`` and ``--ray`` runs go to ``loadgen.cli.distributed`` instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from loadgen._version import __version__
from loadgen.cli.export import exported
from loadgen.cli.outputs import ExitCode, json_summary, output_failure, render_reports
from loadgen.cli.quick import MODEL_APIS, QuickOptions, choose_model, flag_sets, profile_text
from loadgen.cli.quick import models as quick_models
from loadgen.cli.runloop import attended, progress_choice, run_loop
from loadgen.cli.ui import LivePage
from loadgen.core import units
from loadgen.core.errors import OutputError, Problem, ProfileError, StartError
from loadgen.core.profile import Profile, load_profile
from loadgen.core.result import Result
from loadgen.core.safetext import terminal
from loadgen.engine.steps import FileSteps

__all__ = ["quick", "run"]


def run(args: argparse.Namespace) -> int:
    """``loadgen run PROFILE``: run it, write the result and reports, print the summary."""
    profile = load_profile(args.profile, sets=[*args.sets, *flag_sets(args)])
    rate = _checked_rate(args, profile)
    out = Path(args.out) if args.out else _default_out(profile)
    quiet = args.quiet or args.json
    live = progress_choice(args, quiet)
    page = LivePage.from_args(args)
    if not quiet:
        print(
            terminal(f"loadgen {__version__}: running {profile.name!r} — results in {out}"),
            file=sys.stderr,
        )
    failure: OutputError | None = None
    try:
        result = run_loop(lambda: _run_async(profile, args, out, live, rate, page))
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
    _show(result, written, args)
    if failure is not None:  # the run's numbers stand; its files do not
        print(output_failure(failure), file=sys.stderr)
        return ExitCode.OUTPUT
    if page is not None and page.linger:
        page.stay_up(result.data)
    return result.exit_code


def _checked_rate(args: argparse.Namespace, profile: Profile) -> float | None:
    """The options that fit only some profiles, checked against this one; ``--rate`` in
    arrivals per second (None when not given)."""
    rate = None
    if args.rate is not None:
        if profile.load.model != "open":
            raise _misfit(
                "--rate",
                f"{args.profile} uses the {profile.load.model} model",
                "use --users, or set load.model: open in the profile",
            )
        try:
            rate = units.parse_rate(args.rate)
        except ValueError as exc:
            raise ProfileError([Problem("--rate", None, "", str(exc))]) from None
    if args.users is not None and profile.load.model == "replay":
        raise _misfit(
            "--users",
            f"{args.profile} replays a trace: its rows are the arrivals",
            "drop --users; load.time_scale speeds the trace up or slows it down",
        )
    if args.users is not None and profile.load.model == "open":
        raise _misfit(
            "--users",
            f"{args.profile} uses the open model",
            "use --rate 20/s to scale its arrival rate",
        )
    if args.follow_steps and profile.breakpoint is None:
        raise _misfit(
            "--follow-steps",
            f"{args.profile} has no breakpoint search to follow",
            "give --follow-steps only with a profile that has breakpoint:",
        )
    return rate


def _quick_options(args: argparse.Namespace, url: str, model: str | None) -> QuickOptions:
    """The quick path's options, read from the command line."""
    return QuickOptions(
        url=url,
        model=model,
        api=args.api,
        prompt=args.prompt,
        max_tokens=args.max_tokens,
        headers=tuple(args.headers),
        input_tokens=args.input_tokens,
        output_tokens=args.output_tokens,
        params=tuple(args.params),
        system=args.system,
        dataset=args.dataset,
        dataset_sample=args.dataset_sample,
        api_key_env=args.api_key_env,
        scrape=tuple(getattr(args, "scrape", ())),
        trace=args.trace,
        trace_format=args.trace_format,
        time_scale=args.time_scale,
        users=args.users,
        rate=args.rate,
        duration=units.format_duration(args.duration) if args.duration else "30s",
    )


def _trace_fits(args: argparse.Namespace) -> None:
    """``--trace`` brings its own timing and prompts; its options need it."""
    if args.trace is None:
        for option in ("trace_format", "time_scale"):
            if getattr(args, option) is not None:
                flag = "--" + option.replace("_", "-")
                raise _misfit(flag, f"{flag} needs --trace FILE", "add --trace FILE, or drop it")
        return
    for option, value in (("--users", args.users), ("--rate", args.rate)):
        if value is not None:
            raise _misfit(
                option,
                "--trace replays the trace's own arrivals",
                "drop it; --time-scale 0.5 replays twice as fast",
            )


def _misfit(option: str, problem: str, fix: str) -> ProfileError:
    """An option that does not fit the profile it is given with."""
    return ProfileError([Problem(option, None, "", problem, fix)])


def _show(result: Result, written: Sequence[Path], args: argparse.Namespace) -> None:
    if args.json:
        print(json_summary(result, written))
    elif not args.quiet:
        from loadgen.report.console import summary

        print(summary(result.data))
        print(f"\nresult: {result.path or 'not written'}")
        for path in written:
            print(f"report: {path}")


def _default_out(profile: Profile) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(profile.report.dir) / f"{profile.name}-{stamp}"


async def _run_async(
    profile: Profile,
    args: argparse.Namespace,
    out: Path,
    live: tuple[str, float],
    rate: float | None,
    page: LivePage | None = None,
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
        return await exported(engine, args, out, lambda: attended(engine, live, page))


def _follow(profile: Profile, path: str | None) -> FileSteps | None:
    """``--follow-steps``: the driver's commands, given up after a step and a minute of
    silence (a killed driver must not leave its workers running for ever)."""
    if path is None or profile.breakpoint is None:
        return None
    return FileSteps(Path(path), patience=profile.breakpoint.step_duration + 60.0)


def _no_output_for_embeddings(args: argparse.Namespace) -> None:
    """Name the flag the user typed (the generated profile's line would mean nothing)."""
    if args.api == "embeddings":
        for flag, value in (
            ("--output-tokens", args.output_tokens),
            ("--max-tokens", args.max_tokens),
        ):
            if value is not None:
                raise ProfileError(
                    [Problem(flag, None, "", "an embedding has no output", f"drop {flag}")]
                )


def quick(args: argparse.Namespace) -> int | None:
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
    _no_output_for_embeddings(args)
    _trace_fits(args)
    url = args.url.rstrip("/")
    model = args.model
    if model is None and args.api in MODEL_APIS and url != "builtin":
        model = _ask_model(url, args)
    opts = _quick_options(args, url, model)
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
