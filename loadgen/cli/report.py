"""``loadgen report`` and ``loadgen compare``: render from result files, for people and CI.

Exit codes: 0 done (compare: no regression), 1 compare found a regression, 2 bad input. Bad
input is one line naming the file and the fix, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from loadgen.core import units
from loadgen.core.result import SCHEMA, Result
from loadgen.report import FORMATS, render_all

__all__ = ["compare_main", "load_checked", "report_main"]

DEFAULT_FORMATS = ("html", "csv", "junit", "hlog")
_FIX = "pass the result.json a loadgen run wrote (in its --out directory)"


class BadInput(Exception):
    """A message for the user; the command exits 2."""


def _say(text: str, *, err: bool = False) -> None:
    (sys.stderr if err else sys.stdout).write(text + "\n")


def load_checked(path_text: str) -> Result:
    """Load a result, or raise ``BadInput`` saying what is wrong with the file and the fix."""
    path = Path(path_text)
    if path.is_dir():
        if not (path / "result.json").is_file() and (path / "result.jsonl").is_file():
            return _from_journal(path / "result.jsonl")  # a run killed before it finished
        path = path / "result.json"
    if path.suffix == ".jsonl" and path.is_file():
        return _from_journal(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such file — {_FIX}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not a text file — {_FIX}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}) — {_FIX}") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror}) — check the path") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else None
        raise BadInput(
            f"{path}: not a loadgen result (schema {found!r}, expected {SCHEMA!r}) — {_FIX}"
        )
    missing = [
        k for k in ("run", "scopes", "intervals") if not isinstance(data.get(k), dict | list)
    ]
    if not missing and not isinstance(data["scopes"].get("overall"), dict):
        missing.append("scopes.overall")
    if missing:
        raise BadInput(f"{path}: incomplete result (missing {', '.join(missing)}) — {_FIX}")
    return Result(data, path)


def _from_journal(path: Path) -> Result:
    """The result rebuilt from a journal (``run.truncated`` when the run never finished)."""
    from loadgen.core.journal import JournalError, read_journal

    try:
        data = read_journal(path)
    except JournalError as exc:
        raise BadInput(f"{path}: {exc} — {_FIX}") from None
    return Result(data, path)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise BadInput(f"{self.prog}: {message} — see `{self.prog} --help`")


def _fraction(text: str) -> float:
    try:
        return units.parse_percent(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run(argv: Sequence[str], body: Any) -> int:
    try:
        return int(body(argv))
    except BadInput as exc:
        _say(f"error: {exc}", err=True)
        return 2
    except SystemExit as exc:  # --help
        return 0 if not exc.code else 2


def report_main(argv: list[str]) -> int:
    """``loadgen report RESULT.json [-o DIR] [--format html,csv,...]``."""
    return _run(argv, _report)


def _report(argv: Sequence[str]) -> int:
    parser = _Parser(
        prog="loadgen report", description="Re-render every report format from a result file."
    )
    parser.add_argument("result", help="result.json of a run, or the run's directory")
    parser.add_argument("-o", "--out", help="output directory (default: beside the result)")
    parser.add_argument(
        "--format",
        default=",".join(DEFAULT_FORMATS),
        help=f"comma-separated, among {', '.join(FORMATS)} (default {','.join(DEFAULT_FORMATS)})",
    )
    args = parser.parse_args(argv)
    result = load_checked(args.result)
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise BadInput(f"--format {args.format!r}: choose among {', '.join(FORMATS)}")
    assert result.path is not None
    out = Path(args.out) if args.out else result.path.parent
    if result.doc["run"].get("rebuilt_from_journal"):
        run = result.doc["run"]
        what = "was cut short" if run.get("truncated") else "left no result.json"
        _say(
            f"note: {result.path}: the run {what}; rebuilt from its journal "
            f"({len(result.doc['intervals'])} intervals, {float(run['duration']):.1f} s); "
            "per-name tables and ITL/TTFB are not in a journal",
            err=True,
        )
        result = Result(result.data, None)  # "json" then writes the rebuilt result
    try:
        written = render_all(result, out, formats)
    except OSError as exc:
        raise BadInput(f"{out}: cannot write ({exc.strerror}) — pick a writable -o DIR") from None
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise BadInput(
            f"{result.path}: malformed result ({type(exc).__name__}: {exc}) — "
            "re-run to write a fresh result"
        ) from None
    for path in written:
        _say(str(path))
    return 0


def compare_main(argv: list[str]) -> int:
    """``loadgen compare BASE.json NEW.json``: exit 1 when NEW regressed beyond tolerance."""
    return _run(argv, _compare)


def _metrics(option: str | None) -> list[str] | None:
    """``--metrics``: the names asked for (None: all), each one the comparison knows."""
    from loadgen.report.compare import METRICS

    if not option:
        return None
    known = {m for m, _, _ in METRICS}
    metrics = [m.strip() for m in option.split(",") if m.strip()]
    if unknown := [m for m in metrics if m not in known]:
        raise BadInput(
            f"--metrics: unknown {', '.join(unknown)}; choose among {', '.join(sorted(known))}"
        )
    return metrics


def _compare_parser() -> _Parser:
    from loadgen.report.compare import METRICS

    parser = _Parser(
        prog="loadgen compare",
        description="Compare two results per metric and per request name; exit 1 "
        "when the new one regressed beyond tolerance.",
    )
    parser.add_argument("base", help="the baseline result.json (or its run directory)")
    parser.add_argument("new", help="the result.json to judge")
    parser.add_argument(
        "--tolerance",
        type=_fraction,
        default=0.10,
        help="relative change allowed for latencies and throughput (default 10%%)",
    )
    parser.add_argument(
        "--error-tolerance",
        type=_fraction,
        default=0.01,
        help="absolute rise allowed in the error rate (default 1%%)",
    )
    parser.add_argument(
        "--min-ms",
        type=float,
        default=1.0,
        help="a latency must also grow by this many ms to count (default 1)",
    )
    parser.add_argument(
        "--confidence",
        type=_fraction,
        default=0.95,
        help="a latency change counts only when the percentiles' intervals at this confidence "
        "do not overlap (default 95%%; 0 judges by --tolerance and --min-ms alone)",
    )
    parser.add_argument(
        "--min-requests",
        type=int,
        default=10,
        help="scopes with fewer requests on either side are not judged",
    )
    parser.add_argument(
        "--metrics",
        help="comma-separated subset, e.g. ttft.p95,e2e.p95 "
        f"(default: {', '.join(m for m, _, _ in METRICS)})",
    )
    parser.add_argument("-o", "--out", help="HTML file to write (default: compare.html beside NEW)")
    parser.add_argument("--no-html", action="store_true", help="print only")
    return parser


def _compare(argv: Sequence[str]) -> int:
    from loadgen.report.comparable import run_label
    from loadgen.report.compare import compare, text
    from loadgen.report.html import render_compare

    args = _compare_parser().parse_args(argv)
    base, new = load_checked(args.base), load_checked(args.new)
    metrics = _metrics(args.metrics)
    if not 0.0 <= args.confidence < 1.0:
        raise BadInput(
            f"--confidence {args.confidence:g}: pick a level below 100%, or 0 to not judge noise"
        )
    assert base.path is not None
    assert new.path is not None
    try:
        c = compare(
            base.data,
            new.data,
            base_label=run_label(base.data, str(base.path.parent)),
            new_label=run_label(new.data, str(new.path.parent)),
            confidence=args.confidence,
            tolerance=args.tolerance,
            error_tolerance=args.error_tolerance,
            min_ms=args.min_ms,
            min_requests=args.min_requests,
            metrics=metrics,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(
            f"{args.base} or {args.new}: malformed result ({exc}) — re-run to write a fresh result"
        ) from None
    _say(text(c))
    if not args.no_html:
        out = Path(args.out) if args.out else new.path.parent / "compare.html"
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            render_compare(c, base.data, new.data, out)
        except OSError as exc:
            raise BadInput(
                f"{out}: cannot write ({exc.strerror}) — pick a writable -o FILE"
            ) from None
        _say(f"html: {out}")
    return 1 if c.regressions else 0
