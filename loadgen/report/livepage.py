"""The live page's HTML (``--ui``, ``loadgen ui``): the page shell; its data comes over
the WebSocket, so the page is rendered once per server."""

from __future__ import annotations

import markupsafe

from loadgen.report.explore import assets
from loadgen.report.html import render, template_dir
from loadgen.report.livedata import island

__all__ = ["live_page"]


def live_page(*, title: str, token: str) -> str:
    """The page, with the token that lets it, and only it, send control requests."""
    config = markupsafe.Markup(island({"token": token}))
    return render(
        "live.html.j2", {"title": title, "assets": assets(template_dir()), "config": config}
    )
