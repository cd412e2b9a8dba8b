"""``loadgen merge RESULT...`` and ``loadgen run PROFILE --processes N|auto / --ray ADDRESS``.

Front layer: prints, installs signal handlers and picks uvloop, like ``loadgen.cli.run``. Exit
codes follow SPEC §3 on the merged result; a run in which a worker died exits 1 (the test did
not run as planned) unless it was interrupted (130).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loadgen.cli.export import export_options, worker_args
from loadgen.cli.outputs import json_summary, render_reports
from loadgen.cli.quick import flag_sets
from loadgen.cli.runloop import attended, progress_choice, run_loop
from loadgen.cli.ui import LivePage
from loadgen.core import units
from loadgen.core.errors import ProfileError, StartError
from loadgen.core.result import Result

if TYPE_CHECKING:
    from loadgen.core.profile import Profile

__all__ = [
    "add_distributed_arguments",
    "auto_count",
    "merge_main",
    "run_distributed",
    "wants_distributed",
]


def add_distributed_arguments(run: argparse.ArgumentParser) -> None:
    """Add ``--processes`` and ``--ray`` to the ``run`` parser."""
    run.add_argument(
        "--processes",
        metavar="N|auto",
        help="run the load as N segments in N worker processes on this machine "
        "(auto: as many as the plan's streamed reads need by the paced-capacity estimate, "
        "at most one per CPU); results are merged",
    )
    run.add_argument(
        "--ray",
        metavar="auto|ADDRESS",
        help="run segments as Ray actors (auto: this machine's cluster, else a local one; "
        "--processes sets how many, default one per cluster CPU); needs loadgen[ray]",
    )


def wants_distributed(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "processes", None) or getattr(args, "ray", None))


def run_distributed(args: argparse.Namespace) -> int:
    """Run ``args.profile`` across processes or Ray actors; print like ``loadgen run``.

    Reads from ``args``: profile, sets, users, duration, rate (text), seed, out, truth,
    quiet, json, segment, start_at, processes (text or None), ray (text or None).
    """
    try:
        return _run(args)
    except ProfileError as exc:
        for problem in exc.problems:
            _err(f"error: {problem}")
    except (StartError, _Usage) as exc:
        _err(f"error: {exc}")
    return 2


class _Usage(Exception):
    pass


def _run(args: argparse.Namespace) -> int:
    from loadgen.core.profile import load_profile

    if tuple(getattr(args, "segment", (1, 1))) != (1, 1) or getattr(args, "start_at", None):
        raise _Usage("--segment/--start-at run one part by hand; --processes/--ray split for you")
    profile = load_profile(args.profile, sets=[*args.sets, *flag_sets(args)])
    rate = None
    if args.rate is not None:
        try:
            rate = units.parse_rate(args.rate)
        except ValueError as exc:
            raise _Usage(f"--rate: {exc}") from None
    count = _count(args, profile, rate)
    seed = args.seed if args.seed is not None else profile.seed
    seed = seed if seed is not None else secrets.randbits(32)  # every segment needs the same
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else Path(profile.report.dir) / f"{profile.name}-{stamp}"
    runner, what = _runner(args, profile, _Plan(count, seed, out, rate))
    if args.processes == "auto" and not args.ray:
        what += " (auto: the paced-capacity estimate and the CPUs here)"
    quiet = args.quiet or args.json
    if not quiet:
        _err(f"loadgen: running {profile.name!r} in {what}, seed {seed} — results in {out}")
    live = progress_choice(args, quiet)
    page = LivePage.from_args(args)
    result = _loop(runner, live, page)
    written = render_reports(result, out, profile.report.formats)
    _print(result, written, args)
    if page is not None and page.linger:
        page.stay_up(result.data)
    return result.exit_code


def _count(args: argparse.Namespace, profile: Profile, rate: float | None) -> int | None:
    """``--processes``: a number, or auto: as many as the paced-capacity estimate of the plan
    needs, at most one per CPU here (Ray's own count with --ray)."""
    if not args.processes:
        return None
    if args.processes == "auto":
        return None if args.ray else auto_count(profile, args.users, rate)
    if args.processes.isdigit() and int(args.processes) > 0:
        return int(args.processes)
    raise _Usage(f"--processes {args.processes!r}: write a number > 0 or auto")


def auto_count(profile: Profile, users: str | int | None, rate: float | None) -> int:
    """``--processes auto`` on this machine: ``loadgen.core.pacing.auto_parts`` of the plan's
    estimate (``users``/``rate`` as the command line overrides them) and the CPUs here."""
    from loadgen.core.pacing import auto_parts, estimate
    from loadgen.engine.limits import cpus

    peak = int(users) if isinstance(users, int) or (users and users.isdigit()) else None
    return auto_parts(estimate(profile, users=peak, rate=rate), cpus())


@dataclass(frozen=True)
class _Plan:
    count: int | None
    seed: int
    out: Path
    rate: float | None


def _runner(args: argparse.Namespace, profile: Profile, plan: _Plan) -> tuple[Any, str]:
    """The distributed run and how the first line names it."""
    if args.ray:
        from loadgen.engine.distributed.ray import RayOptions, RayRun

        ray = RayOptions(
            address=args.ray,
            seed=plan.seed,
            actors=plan.count,
            out=plan.out,
            users=args.users,
            duration=args.duration,
            rate=plan.rate,
            truth=args.truth,
            export=export_options(args, plan.out),
        )
        return RayRun(profile, ray), f"Ray actors ({args.ray})"
    from loadgen.engine.distributed.local import LocalOptions, LocalRun

    assert plan.count is not None
    local = LocalOptions(
        profile_path=str(args.profile),
        processes=plan.count,
        out=plan.out,
        seed=plan.seed,
        sets=(*args.sets, *flag_sets(args)),
        users=args.users,
        duration=args.duration,
        rate=args.rate,
        truth=args.truth,
        extra_args=tuple(worker_args(args, plan.out)),
    )
    return LocalRun(profile, local), f"{plan.count} processes"


def _loop(runner: Any, live: tuple[str, float], page: LivePage | None = None) -> Result:
    async def main() -> Result:
        connect = getattr(runner, "connect", None)
        if connect is not None:
            connect()  # ray.init replaces the SIGTERM handler: install ours after it
        return await attended(runner, live, page)

    return run_loop(main)


def merge_main(argv: Sequence[str]) -> int:
    """``loadgen merge RESULT... [--out DIR]``: merge segment results, judge thresholds."""
    from loadgen.cli.report import BadInput, load_checked
    from loadgen.core.merge import merge_results

    parser = argparse.ArgumentParser(
        prog="loadgen merge",
        description="Merge the results of a test's segments (--segment i/n) into one result: "
        "histograms added, counters summed, intervals aligned on wall-clock seconds, "
        "thresholds judged on the merged numbers.",
    )
    parser.add_argument("results", nargs="+", help="result.json files (or their directories)")
    parser.add_argument("--out", help="directory for the merged result (default: PARENT/merged)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    parser.add_argument("--json", action="store_true", help="print the overall summary as JSON")
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return 2 if exc.code else 0
    try:
        parts = [load_checked(p) for p in args.results]
        data = merge_results([p.data for p in parts])
    except (BadInput, ValueError) as exc:
        _err(f"loadgen merge: {exc}")
        return 2
    dirs = [p.path.parent.resolve() for p in parts if p.path is not None]
    out = Path(args.out) if args.out else Path(os.path.commonpath(dirs)) / "merged"
    out.mkdir(parents=True, exist_ok=True)
    result = Result(data, out / "result.json")
    result.save(out / "result.json")
    formats = data.get("profile", {}).get("raw", {}).get("report", {}).get("formats", ["html"])
    written = render_reports(result, out, formats)
    _print(result, written, args)
    return result.exit_code


def _print(result: Result, written: Sequence[Path], args: argparse.Namespace) -> None:
    data = result.data
    if args.json:
        _out(
            json_summary(
                result,
                written,
                parts=data.get("parts", []),
                clock=data.get("clock", {}),
                health={k: v for k, v in data.get("health", {}).items() if k != "by_part"},
            )
        )
        return
    if args.quiet:
        return
    from loadgen.report.console import summary

    _out(summary(data))
    _out("\n" + _parts_text(data))
    _out(f"\nresult: {result.path}")
    for path in written:
        _out(f"report: {path}")


def _parts_text(data: dict[str, Any]) -> str:
    """Which segments ran where, how many requests each, which failed, the clock skew."""
    lines = []
    for p in data.get("parts", []):
        if p.get("status") == "ok":
            lines.append(
                f"  segment {p['segment']}: {p['requests']} requests, {p['stop_reason']}"
                + (f", clock {p['clock_offset'] * 1000:+.1f} ms" if p.get("clock_offset") else "")
            )
        else:
            error = str(p.get("error", "")).splitlines()[-1:] or [""]
            kept = (
                f"; {p.get('requests', 0)} requests in its {p.get('journaled_intervals')} "
                "journaled intervals kept (partial)"
                if p.get("status") == "partial"
                else ""
            )
            lines.append(
                f"  segment {p['segment']}: FAILED (exit {p.get('exit_code')}): {error[0]}"
                f"{kept} — see {p.get('dir', 'its stderr')}"
            )
    seg = data.get("segment", {})
    head = f"segments: {len(seg.get('merged', []))} of {seg.get('count')} merged"
    if seg.get("missing"):
        head += f" (missing: {', '.join(map(str, seg['missing']))})"
    partial = data.get("run", {}).get("partial_parts")
    if partial:
        head += f" (partial, cut short: {', '.join(map(str, partial))})"
    clock = data.get("clock")
    if clock and "max_abs_offset" in clock:
        head += f"; clock skew up to {clock['max_abs_offset'] * 1000:.1f} ms (corrected)"
    late = data.get("distributed", {}).get("start_late_max")
    if late is not None and late > 0.1:
        head += f"; a worker started {late:.2f} s after the agreed start"
    return "\n".join([head, *lines])


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
