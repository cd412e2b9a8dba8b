"""The explorable report's layer: uPlot and loadgen's chart code inlined, with the run's
points as a JSON data island (loadgen.report.livedata); the live page uses the same assets.

The static SVG charts stay in the page: a reader without JavaScript, and the printed page,
see them; with JavaScript the interactive charts take their place on screen. The assets are
read from the templates folder and inlined raw (never through Jinja, whose ``{{`` a minified
library may contain), so the report stays one file that loads nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import markupsafe

from loadgen.report.livedata import island, page_data

__all__ = ["UPLOT_VERSION", "assets", "report_context"]

UPLOT_VERSION = "1.6.32"  # templates/vendor/uplot/: npm pack uplot@1.6.32 (MIT)


@cache
def assets(base: Path) -> dict[str, markupsafe.Markup]:
    """uPlot's JS and CSS and loadgen's chart code from the templates folder ``base``, as
    text to inline."""
    vendor = base / "vendor" / "uplot"

    def read(path: Path) -> markupsafe.Markup:
        return markupsafe.Markup(path.read_text(encoding="utf-8"))

    return {
        "uplot_js": read(vendor / "uPlot.iife.min.js"),
        "uplot_css": read(vendor / "uPlot.min.css"),
        "charts_js": read(base / "lgcharts.js"),
        "live_js": read(base / "lglive.js"),
    }


def report_context(data: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """The report template's ``explore``: the assets and the run's data island."""
    return {**assets(base), "island": markupsafe.Markup(island(page_data(data)))}
