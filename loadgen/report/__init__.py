"""Reports rendered from a result alone (SPEC §4): HTML, CSV, JUnit XML, HdrHistogram log.

The result file is the seam: nothing here imports the engine, so ``loadgen report`` can
re-render any result, and a run's own reports are the same functions of the same data.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from loadgen.result import Result

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
        if fmt == "html":
            from loadgen.report.html import render_html

            written.append(render_html(result, out_dir / "report.html"))
        elif fmt == "csv":
            from loadgen.report.csvout import write_csv

            written += write_csv(result, out_dir)
        elif fmt == "junit":
            from loadgen.report.junit import write_junit

            written.append(write_junit(result, out_dir))
        elif fmt == "hlog":
            from loadgen.report.hlog import write_hlog

            written.append(write_hlog(result, out_dir))
        else:
            target = out_dir / "result.json"
            if result.path is None:
                result.save(target)
            elif result.path.resolve() != target.resolve():
                shutil.copyfile(result.path, target)
            written.append(target)
    return written
