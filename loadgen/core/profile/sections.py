"""Validation of the small top-level sections: ``data``, ``thresholds``, ``aws``, ``slo``,
``report``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadgen.core import units
from loadgen.core.aws.config import AwsConfig
from loadgen.core.profile.checker import Checker
from loadgen.core.profile.model import DataPools, ReportSpec
from loadgen.core.profile.source import Path_
from loadgen.core.slo import SLO_KEYS, Slo
from loadgen.core.thresholds import Threshold
from loadgen.core.thresholds import parse as parse_threshold

__all__ = ["aws", "data", "report_spec", "slo", "thresholds"]

_FORMATS = ("json", "html", "csv", "junit", "hlog")


def data(check: Checker, value: Any, path: Path_) -> DataPools:
    """``questions:`` a YAML pool file; ``rows:`` a CSV file, one row per VU in turn."""
    from dataclasses import replace

    from loadgen.core.profile.pools import default_pools, load_pools, load_rows

    d = check.mapping(value, path, ("questions", "rows", "secret"))
    ref = d.get("questions")
    if ref is None:
        pools = default_pools()
    elif not isinstance(ref, str):
        check.bad(
            (*path, "questions"), "expected a file path", "write questions: data/questions.yaml"
        )
        pools = DataPools()
    elif check.missing_file(ref, (*path, "questions")):
        pools = DataPools()
    else:
        pools, problems = load_pools(check.base_dir / ref)
        for p in problems:
            check.problems.append(
                p if p.line else check.lines.problem((*path, "questions"), p.what, p.fix)
            )
    rows_ref = d.get("rows")
    if rows_ref is not None:
        if not isinstance(rows_ref, str):
            check.bad((*path, "rows"), "expected a CSV file path", "write rows: data/users.csv")
        elif not check.missing_file(rows_ref, (*path, "rows")):
            rows, what = load_rows(check.base_dir / rows_ref)
            if what:
                check.bad((*path, "rows"), what, "give a CSV file with a header row")
            pools = replace(pools, rows=rows)
    secret = d.get("secret", [])
    if not isinstance(secret, list) or not all(isinstance(c, str) for c in secret):
        check.bad((*path, "secret"), "expected a list of column names", "write secret: [pin]")
    elif pools.rows and (unknown := [c for c in secret if c not in pools.rows[0]]):
        check.bad(
            (*path, "secret"),
            f"no column {unknown[0]!r} in the rows file",
            f"name columns of its header: {', '.join(pools.rows[0])}",
        )
    else:
        pools = replace(pools, secret_columns=frozenset(secret))
    return pools


def thresholds(check: Checker, value: Any, path: Path_) -> tuple[Threshold, ...]:
    """``{"ttft.p95": "< 1500ms"}`` or a list of ``"ttft.p95 < 1500ms"``; either form may
    give ``{condition|expr: ..., abort_on_fail: true, after: 30s}``."""
    if value is None:
        return ()
    items: list[tuple[Path_, str, Any]] = []
    if isinstance(value, Mapping):
        for key, spec in value.items():
            p = (*path, str(key))
            if isinstance(spec, Mapping):
                opts = check.mapping(spec, p, ("condition", "abort_on_fail", "after"))
                items.append((p, f"{key} {opts.get('condition', '')}", opts))
            else:
                items.append((p, f"{key} {spec}", {}))
    elif isinstance(value, list):
        for i, spec in enumerate(value):
            p = (*path, i)
            if isinstance(spec, Mapping):
                opts = check.mapping(spec, p, ("expr", "abort_on_fail", "after"))
                items.append((p, str(opts.get("expr", "")), opts))
            else:
                items.append((p, str(spec), {}))
    else:
        check.bad(
            path,
            "expected a mapping or a list of expressions",
            'write thresholds: {"ttft.p95": "< 1500ms"}',
        )
        return ()
    out = []
    for p, expr, opts in items:
        abort = check.typed(opts.get("abort_on_fail"), (*p, "abort_on_fail"), bool, False)
        after = check.unit(opts.get("after"), (*p, "after"), units.parse_duration, 0.0)
        try:
            out.append(parse_threshold(expr, abort_on_fail=abort, after=after))
        except ValueError as exc:
            what, _, fix = str(exc).partition("; ")
            check.bad(p, what, fix)
    return tuple(out)


def aws(check: Checker, value: Any, path: Path_) -> AwsConfig | None:
    """``aws:`` is read by loadgen.core.aws.config (pure): region, CloudWatch, cost."""
    from loadgen.core.aws.config import parse_aws

    if not isinstance(value, Mapping):
        check.bad(path, "expected a mapping", "write aws: {region: us-east-1}")
        return None

    def problem(suffix: tuple[str | int, ...], what: str, fix: str = "") -> None:
        check.bad((*path, *suffix), what, fix)

    return parse_aws(value, problem)


def slo(check: Checker, value: Any, path: Path_) -> Slo:
    s = check.mapping(value, path, (*SLO_KEYS, "gate"))
    limits: dict[str, float] = {}
    gate = s.pop("gate", False)
    if not isinstance(gate, bool):
        check.bad((*path, "gate"), f"{gate!r} is not true or false", "write gate: true")
        gate = False
    for key, raw in s.items():
        _, _, unit = SLO_KEYS[key]
        if unit == "ms":
            limits[key] = check.unit(raw, (*path, key), units.parse_duration, 0.0) * 1000
        else:
            limits[key] = check.unit(raw, (*path, key), units.parse_percent, 0.0)
    return Slo(**limits, gate=gate)


def report_spec(check: Checker, value: Any, path: Path_) -> ReportSpec:
    r = check.mapping(value, path, ("dir", "formats", "raw"))
    formats = r.get("formats", ["json", "html"])
    if not isinstance(formats, list) or any(f not in _FORMATS for f in formats):
        check.bad((*path, "formats"), f"expected a list of {', '.join(_FORMATS)}")
        formats = ["json"]
    return ReportSpec(
        dir=check.typed(r.get("dir"), (*path, "dir"), str, "reports"),
        raw=check.typed(r.get("raw"), (*path, "raw"), bool, False),
        formats=tuple(dict.fromkeys(["json", *formats])),
    )
