"""HdrHistogram interval log (``.hlog``) of TTFT and E2E (the registry's ``hlog`` metrics),
one tagged line per interval.

The format of HdrHistogram's ``HistogramLogWriter``: header comments, a legend, then
``Tag=NAME,start,length,max,payload`` lines where start and length are seconds (start relative
to ``BaseTime``), max is in milliseconds (values are recorded in µs, so the max-value units
ratio is 1000) and the payload is the compressed base64 histogram the result already holds.
``HistogramLogProcessor`` (Java), ``HistogramLogAnalyzer``, hdrh's ``HistogramLogReader``
and HdrHistogram_c's ``hdr_log`` read it.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

from loadgen.core import metrics
from loadgen.core.hist import Histogram
from loadgen.core.result import Result

__all__ = ["TAGS", "hlog_text", "tags", "write_hlog"]


def tags() -> tuple[str, ...]:
    """The metrics logged, one tag each, in registry order."""
    return tuple(m.name for m in metrics.hlogged())


TAGS = tags()  # the built-in ones (ttft, e2e)
LEGEND = '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"'


@cache
def _empty() -> str:
    return Histogram().encode()


def hlog_text(data: dict[str, Any]) -> str:
    """The whole log; an interval without samples gets an empty histogram, so gaps show."""
    started = float(data.get("started", 0.0))
    logged = tags()
    when = dt.datetime.fromtimestamp(started, dt.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    lines = [
        f"#[Logged with loadgen {data.get('loadgen_version', '')}: microseconds, tags "
        f"{', '.join(logged)}]",
        "#[Histogram log format version 1.3]",
        f"#[StartTime: {started:.3f} (seconds since epoch), {when}]",
        f"#[BaseTime: {started:.3f} (seconds since epoch)]",
        LEGEND,
    ]
    for iv in data.get("intervals") or []:
        start, length = float(iv.get("t", 0.0)), float(iv.get("length", 0.0))
        for tag in logged:
            brief = iv.get(tag) or {}
            has = bool(brief.get("count")) and "hdr" in brief
            payload = brief["hdr"] if has else _empty()
            peak = float(brief.get("max", 0.0)) if has else 0.0
            lines.append(f"Tag={tag},{start:.3f},{length:.3f},{peak:.3f},{payload}")
    return "\n".join(lines) + "\n"


def write_hlog(result: Result, out_dir: Path) -> Path:
    path = out_dir / "latency.hlog"
    path.write_text(hlog_text(result.data), encoding="ascii")
    return path
