"""The live page's tables and status line, as plain values: checks as they stand, the
per-scope tables with the report's columns, the totals and the generator's health.

Functions of result-shaped data only: the live server (loadgen.engine.uiserver) passes the
statistics so far in the result's shape, ``loadgen ui`` and ``--ui-linger`` a finished result;
the page shows both the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadgen.core.verdict import judge, value_text
from loadgen.report import fmt
from loadgen.report.breakpoint import breakpoint_view
from loadgen.report.view import check_rows, columns, groups, scope_cells

__all__ = ["breakpoint_table", "final_status", "limit_rows", "scope_tables", "totals"]

_TABLES = (("by_name", "name"), ("by_class", "user class"), ("by_category", "category"))


def scope_tables(scopes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per request name / class / category: the report's columns, one row per scope and
    the overall row last."""
    headers = [header for _, header, _, _ in columns()]
    out = []
    for key, label in _TABLES:
        rows = [[name, *scope_cells(scope)] for name, scope in sorted(scopes.get(key, {}).items())]
        if rows:
            if "overall" in scopes:
                rows.append(["all", *scope_cells(scopes["overall"])])
            out.append(
                {
                    "id": key,
                    "groups": [["", 1], *groups()],
                    "columns": [label, *headers],
                    "rows": rows,
                }
            )
    return out


def limit_rows(limits: Sequence[Mapping[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Thresholds or SLOs as evaluated so far: ok is None while nothing is measured."""
    rows = []
    for t in limits:
        unit = str(t.get("unit") or "")
        value = t.get("value")
        rows.append(
            {
                "kind": kind,
                "expr": str(t.get("expr", "")),
                "value": value_text(value, unit) if value is not None else "–",
                "limit": f"{t.get('op', '')} {value_text(t.get('limit'), unit)}",
                "ok": None if value is None else bool(t.get("ok")),
            }
        )
    return rows


def totals(overall: Mapping[str, Any], elapsed: float) -> dict[str, str]:
    """The header's numbers: requests, errors, the rate and tokens so far."""
    return {
        "elapsed": f"{elapsed:.0f} s",
        "requests": fmt.count(overall.get("requests", 0)),
        "errors": fmt.count(overall.get("errors", 0)),
        "error rate": fmt.pct(overall.get("error_rate", 0.0)),
        "req/s": fmt.rate(overall.get("rps", 0.0)),
        "output tok/s": fmt.rate(overall.get("output_tps", 0.0)),
        "input tok/s": fmt.rate(overall.get("input_tps", 0.0)),
    }


def breakpoint_table(bp: dict[str, Any] | None) -> dict[str, Any] | None:
    """A breakpoint search's steps judged so far: the report's sentence, columns and rows."""
    view = breakpoint_view(bp)
    if view is None:
        return None
    rows = [r["cells"] for r in view["rows"]]
    return {"summary": view["summary"], "columns": list(view["columns"]), "rows": rows}


def final_status(data: Mapping[str, Any]) -> dict[str, Any]:
    """A finished run as the page shows it (``--ui-linger``, ``loadgen ui RESULT.json``)."""
    verdict = judge(data)
    overall = data["scopes"]["overall"]
    checks = [
        {
            "kind": c["kind"],
            "expr": c["expr"],
            "value": c["value"],
            "limit": c["limit"],
            "ok": c["ok"] if c["gates"] else (True if c["ok"] else None),
        }
        for c in check_rows(dict(data))
    ]
    warnings = (data.get("health") or {}).get("warnings") or []
    return {
        "state": "finished",
        "verdict": verdict.status,
        "text": verdict.text,
        "totals": totals(overall, float(data["run"]["duration"])),
        "checks": checks,
        "tables": scope_tables(data["scopes"]),
        "health": [str(w.get("plain") or w.get("what") or "") for w in warnings],
        "breakpoint": breakpoint_table(data.get("breakpoint")),
    }
