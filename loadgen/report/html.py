"""Render the HTML report (and the compare page) with Jinja from the top-level templates.

Templates live in the repository's ``templates/``; a wheel force-includes them as
``loadgen/templates`` (pyproject), so both places are searched, the installed one first.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from loadgen.core.result import Result
from loadgen.core.safetext import terminal
from loadgen.report import charts, explore, view
from loadgen.report.compare import Comparison, rule
from loadgen.report.series import MAX_POINTS
from loadgen.report.viewcharts import percentile_points

__all__ = ["environment", "render_compare", "render_html", "template_dir"]


def template_dir() -> Path:
    """``loadgen/templates`` when installed from a wheel, else the repository's ``templates``."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "templates", package.parent / "templates"):
        if (candidate / "report.html.j2").is_file():
            return candidate
    raise FileNotFoundError(f"report templates not found beside {package}; reinstall loadgen")


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_printable,
    )


def _printable(value: Any) -> Any:
    """Every value a template prints: text from servers and profiles loses escape sequences
    and control characters (jinja escapes it after); markup loadgen built is left alone."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return terminal(value, lines=True)
    return value


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)


def render_html(result: Result, path: Path, *, max_points: int = MAX_POINTS) -> Path:
    """Write the one-file report to ``path`` and return it."""
    context = view.build(result, max_points=max_points)
    context["explore"] = explore.report_context(result.data, template_dir())  # interactive
    path.write_text(render("report.html.j2", context), encoding="utf-8")
    return path


def _overlay(base: dict[str, Any], new: dict[str, Any], metric: str, title: str) -> str:
    lines = []
    for data, label, color, dashed in (
        (base, "base", charts.COLORS["gray"], True),
        (new, "new", charts.COLORS["blue"], False),
    ):
        m = data["scopes"]["overall"]["metrics"].get(metric) or {}
        points = percentile_points(m["hdr"], int(m.get("count", 0))) if m.get("hdr") else []
        lines.append(charts.Line(label, points, color, dashed=dashed))
    return charts.percentile_chart(lines, title=title, y_label="ms", width=570, height=270)


def render_compare(c: Comparison, base: dict[str, Any], new: dict[str, Any], path: Path) -> Path:
    """Write the comparison page: verdict, per-scope tables and percentile overlays."""
    scopes = []
    for scope in c.scopes():
        rows = [
            {
                "metric": d.metric,
                "cells": d.cells(),
                "verdict": d.verdict,
                "intervals": d.intervals(),
            }
            for d in c.diffs
            if d.scope == scope
        ]
        scopes.append(
            {
                "name": scope,
                "rows": rows,
                "regressions": sum(r["verdict"] == "regression" for r in rows),
            }
        )
    context = {
        "c": c,
        "rule": rule(c),
        "scopes": scopes,
        "charts": [
            _overlay(base, new, "ttft", "TTFT by percentile"),
            _overlay(base, new, "e2e", "E2E by percentile"),
        ],
        "version": base.get("loadgen_version", ""),
    }
    path.write_text(render("compare.html.j2", context), encoding="utf-8")
    return path
