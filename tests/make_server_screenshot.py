"""Make docs/server-metrics.png: the report's server section after a run that saturates
the built-in target (its /metrics scraped every 500 ms), drawn by headless Chromium.

    PYTHONPATH=. python tests/make_server_screenshot.py

Needs Debian's chromium. The run ramps 1 → 10 users on 4 slots over 12 s, so the waiting
requests, the KV cache and the gap between client and server TTFT all move.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from support import chat_profile, run_async

import loadgen
from loadgen.report import render_all

DOCS = Path(__file__).parents[1] / "docs"


def main() -> int:
    builtin = {
        "timing": {"ttft": "150ms", "itl": "15ms", "output_tokens": 24},
        "capacity": {"slots": 4, "contention": 0.3},
        "seed": 7,
    }
    data = chat_profile(users=10, duration="12s", builtin=builtin)
    data["load"] = {"stages": [{"duration": "10s", "users": 10}, {"duration": "2s", "users": 10}]}
    data["target"]["metrics"] = {"url": "builtin", "interval": "500ms"}
    with tempfile.TemporaryDirectory() as tmp:
        result = run_async(loadgen.run(loadgen.profile_from_dict(data), out=Path(tmp) / "out"))
        page = render_all(result, Path(tmp), ["html"])[0].read_text()
        head = page.split("<body", 1)[0]
        section = re.search(r'<section id="server">.*?</section>', page, re.S)
        assert section is not None, "the report has no server section"
        html = Path(tmp) / "server.html"
        html.write_text(f"{head}<body><main>{section.group(0)}</main></body></html>")
        shot = DOCS / "server-metrics.png"
        subprocess.run(
            [
                "chromium",
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={tmp}/profile",
                "--window-size=1280,1250",
                f"--screenshot={shot}",
                html.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
    print(shot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
