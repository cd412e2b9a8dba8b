"""How big and how slow is the report of a one-hour, 50-name run?

Scales a real result (``python -m loadgen profiles/smoke.yaml --duration 6s --out DIR``) to
one hour of 1-second intervals and 50 request names by repeating its intervals and scopes,
with ``--series-names`` of the names (5) also in every interval's per-name series (what the
report's per-name charts draw, at most 8 of them), renders every format and prints the time
and size of each. docs/reports.md quotes the output.

    python benchmarks/report_size.py DIR/result.json [--seconds 3600] [--names 50]
        [--series-names 5]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path
from typing import Any

from loadgen.core.result import Result, load_result
from loadgen.report import render_all


def scale(data: dict[str, Any], seconds: int, names: int, series: int = 5) -> dict[str, Any]:
    """The same run stretched to ``seconds`` intervals and ``names`` request names, the
    first ``series`` of them with per-interval series."""
    d = copy.deepcopy(data)
    real = [iv for iv in data["intervals"] if iv.get("requests")] or data["intervals"]
    d["intervals"] = []
    for t in range(seconds):
        iv = copy.deepcopy(real[t % len(real)])
        iv.update(t=float(t), length=1.0)
        real_names = list((iv.get("by_name") or {}).values())
        if real_names:
            iv["by_name"] = {
                f"chat.route_{i:02d}": real_names[i % len(real_names)] for i in range(series)
            }
        d["intervals"].append(iv)
    factor = seconds / max(1.0, float(data["run"]["duration"]))
    d["plan"] = [dict(s, at=s["at"] * factor, until=s["until"] * factor) for s in data["plan"]]
    d["run"]["duration"] = float(seconds)
    source = list(data["scopes"]["by_name"].values())
    d["scopes"]["by_name"] = {
        f"chat.route_{i:02d}": copy.deepcopy(source[i % len(source)]) for i in range(names)
    }
    return d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result")
    parser.add_argument("--seconds", type=int, default=3600)
    parser.add_argument("--names", type=int, default=50)
    parser.add_argument("--series-names", type=int, default=5)
    args = parser.parse_args()
    data = scale(load_result(args.result).data, args.seconds, args.names, args.series_names)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        source = out / "result.json"
        Result(data).save(source)
        result = load_result(source)
        print(
            f"result.json: {source.stat().st_size / 1e6:.1f} MB, "
            f"{len(data['intervals'])} intervals, {args.names} names, "
            f"{args.series_names} with per-interval series"
        )
        for fmt in ("html", "csv", "junit", "hlog"):
            start = time.perf_counter()
            paths = render_all(result, out, [fmt])
            took = time.perf_counter() - start
            size = sum(p.stat().st_size for p in paths)
            print(
                f"{fmt:6} {took:6.2f} s  {size / 1e3:8.0f} kB  " + ", ".join(p.name for p in paths)
            )


if __name__ == "__main__":
    main()
