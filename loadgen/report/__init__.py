"""Reports rendered from a result alone (SPEC §4): HTML, CSV, JUnit XML, HdrHistogram log.

The result file is the seam: nothing here imports the engine, so ``loadgen report`` can
re-render any result, and a run's own reports are the same functions of the same data.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from loadgen.core.result import Result

__all__ = ["FORMATS", "render_all"]

FORMATS = ("html", "csv", "junit", "hlog", "json")


def render_all(result: Result, out_dir: Path, formats: Sequence[str]) -> list[Path]:
    """Write each requested format into ``out_dir`` (created) and return the files written.

    ``json`` copies the result itself unless it already is ``out_dir/result.json``.
    Raises ``ValueError`` for an unknown format.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(
            f"unknown report format {', '.join(unknown)}; choose from {', '.join(FORMATS)}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt in dict.fromkeys(formats):
        try:
            written += _render(result, out_dir, fmt)
        except OSError as exc:  # a failed write names no file: say which one it was
            if exc.filename is None:
                exc.filename = str(out_dir / _FILES.get(fmt, ""))
            raise
    return written


# The file each format writes first (csv writes several; a failure names the first).
_FILES = {"html": "report.html", "csv": "stats.csv", "junit": "junit.xml", "hlog": "latency.hlog"}


def _render(result: Result, out_dir: Path, fmt: str) -> list[Path]:
    if fmt == "html":
        from loadgen.report.html import render_html

        return [render_html(result, out_dir / "report.html")]
    if fmt == "csv":
        from loadgen.report.csvout import write_csv

        return write_csv(result, out_dir)
    if fmt == "junit":
        from loadgen.report.junit import write_junit

        return [write_junit(result, out_dir)]
    if fmt == "hlog":
        from loadgen.report.hlog import write_hlog

        return [write_hlog(result, out_dir)]
    target = out_dir / "result.json"
    if result.path is None:
        result.save(target)
    elif result.path.resolve() != target.resolve():
        shutil.copyfile(result.path, target)
    return [target]
