"""The screenshots in docs/img/ of the live page and the explorable report, from a real run.

Runs ``loadgen run PROFILE --ui 0`` against the built-in target (two user classes, a ramp,
a few injected 429s and 500s), opens the page in headless Chromium (tests/cdp.py), holds 12
users from the page, shoots it, stops the run from the page, then opens the run's report,
zooms to a range, hovers an interval and shoots the "Over time" section, then the per-name
charts (requests/s, errors/s, TTFT, E2E of each request name) with an interval hovered.

    python benchmarks/ui_screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cdp import Browser

PROFILE = {
    "name": "chat-ramp",
    "target": {
        "base_url": "builtin",
        "builtin": {
            "timing": {
                "ttft": {"lognormal": {"median": "150ms", "sigma": 0.4}},
                "itl": {"uniform": ["8ms", "20ms"]},
                "output_tokens": {"uniform": [20, 60]},
            },
            "faults": {"http_429": 0.02, "http_500": 0.01},
        },
    },
    "users": [
        {
            "name": "regular",
            "weight": 3,
            "think_time": {"uniform": ["200ms", "600ms"]},
            "tasks": [
                {"weight": 3, "chat": {"category": "simple"}},
                {"weight": 1, "chat": {"category": "complex"}},
            ],
        },
        {
            "name": "monitor",
            "think_time": {"constant": "1s"},
            "tasks": [{"http": {"path": "/health"}}],
        },
    ],
    "load": {
        "stages": [
            {"duration": "10s", "users": 8, "name": "ramp"},
            {"duration": "40s", "users": 8, "name": "steady"},
        ],
        "graceful_stop": "3s",
    },
    "thresholds": {
        "ttft.p95": "< 400ms",
        "errors.rate": "< 5%",
        "ttft{name=chat.complex}.p99": "< 600ms",
    },
    "slo": {"ttft_p95": "500ms"},
    "report": {"formats": ["json", "html"]},
}


async def _shoot(url: str, work: Path, out: Path, proc: subprocess.Popen[bytes]) -> None:
    async with Browser(work / "live", width=1400, height=1200) as b:
        await b.goto(url)
        await b.wait_for("lgLive.board && lgLive.board.points() >= 14", timeout=40)
        await b.type_into("#lg-level", "12")
        await b.click("#lg-hold")
        await b.wait_for("lgLive.board.points() >= 22", timeout=30)
        await b.eval("window.scrollTo(0, 0)")
        await b.screenshot(out / "live-ui.png")
        await b.click("#lg-stop")
    proc.wait(60)


async def _report(report: Path, work: Path, out: Path) -> None:
    async with Browser(work / "report", width=1400, height=1000) as b:
        await b.goto(report.as_uri())
        await b.wait_for("window.lgBoard && lgBoard.plots.ttft")
        full = await b.eval("document.documentElement.scrollHeight")
        await b._viewport(1400, full)  # the size the shot is taken at: no resize after the hover
        await b.eval("lgBoard.plots.ttft.setScale('x', {min: 4, max: 20})")
        box = await b.eval(
            "(() => { const u = lgBoard.plots.ttft; u.root.scrollIntoView({block: 'center'});"
            " const r = u.over.getBoundingClientRect();"
            " return [r.left + u.valToPos(12, 'x'), r.top + r.height / 2]; })()"
        )
        await b.mouse(*box)
        top = await b.eval(
            "document.getElementById('over-time').getBoundingClientRect().top + window.scrollY"
        )
        height = await b.eval("document.getElementById('over-time').getBoundingClientRect().height")
        await b.screenshot(out / "report-explore.png", clip=(top, min(height, 1900)))
        await b.eval(
            "lgBoard.plots.ttft.setScale('x', {min: lgBoard.cols.t[0],"
            " max: lgBoard.cols.t[lgBoard.cols.t.length - 1]})"
        )
        await b._viewport(1400, full)  # as above: the shot's size before the hover
        box = await b.eval(
            "(() => { const u = lgBoard.plots.name_ttft; u.root.scrollIntoView({block: 'center'});"
            " const r = u.over.getBoundingClientRect();"
            " return [r.left + u.valToPos(12, 'x'), r.top + r.height / 2]; })()"
        )
        await b.mouse(*box)
        top, bottom = await b.eval(
            "[document.getElementById('lg-chart-name_rps').getBoundingClientRect().top,"
            " document.getElementById('lg-chart-name_e2e').getBoundingClientRect().bottom]"
            ".map(v => v + window.scrollY)"
        )
        await b.screenshot(out / "report-names.png", clip=(top - 8, bottom - top + 16))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/img")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        profile = work / "chat-ramp.json"
        profile.write_text(json.dumps(PROFILE))
        err = work / "stderr.txt"
        with err.open("wb") as stream:
            proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "loadgen", "run", str(profile)),
                    *("--out", str(work / "run"), "--ui", "0", "--quiet"),
                ],
                stderr=stream,
            )
        deadline = time.monotonic() + 30
        while not (found := re.search(r"live page: (\S+)", err.read_text())):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(err.read_text())
            time.sleep(0.1)
        asyncio.run(_shoot(found.group(1), work, out, proc))
        asyncio.run(_report(work / "run" / "report.html", work, out))
    for name in ("live-ui.png", "report-explore.png", "report-names.png"):
        print(out / name, (out / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
