"""What a finished run leaves: the exit code, the reports, the ``--json`` summary and the line
an output failure prints. Shared by ``loadgen run`` and ``--processes``/``--ray``.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loadgen.core.errors import OutputError
from loadgen.core.result import Result
from loadgen.core.safetext import terminal

__all__ = ["ExitCode", "json_summary", "output_failure", "overall_brief", "render_reports"]


class ExitCode(enum.IntEnum):
    OK = 0
    THRESHOLD_FAILED = 1
    USAGE = 2
    OUTPUT = 3  # a result or report file could not be written (full disk, --out a file)
    INTERRUPTED = 130


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
