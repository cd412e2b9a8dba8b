"""The HTML report in headless Chromium: it renders, prints, and logs no console message.

Needs Debian's chromium (`apt-get install -y chromium`); skipped without it. Set
LOADGEN_SCREENSHOTS=DIR to keep the PNGs (and the PDF) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from report_helpers import cached_run, enrich

from loadgen.core.result import Result
from loadgen.report import render_all

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed (apt-get install -y chromium)",
)
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--disable-extensions",
    # anything that tried the network would fail loudly instead of loading
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = cached_run(tmp_path_factory)
    out = tmp_path_factory.mktemp("shot")
    return render_all(Result(enrich(base.data), base.path), out, ["html"])[0]


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def keep(path: Path) -> None:
    if target := os.environ.get("LOADGEN_SCREENSHOTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


@pytest.mark.parametrize("width", [1280, 1920])
def test_screenshot_at_laptop_and_desktop_width(report, tmp_path, width):
    """A full-height screenshot is written and is not blank (a rendered page compresses
    to far more than an empty one)."""
    shot = tmp_path / f"report-{width}.png"
    proc = chromium(
        tmp_path, f"--window-size={width},5200", f"--screenshot={shot}", report.as_uri()
    )
    assert shot.exists(), proc.stderr[-2000:]
    assert png_size(shot) == (width, 5200)
    assert shot.stat().st_size > 100_000
    keep(shot)


def test_no_console_messages_and_the_dom_holds_the_charts(report, tmp_path):
    """Chromium logs every console message as CONSOLE; the page has none. The rendered DOM
    holds all ten charts."""
    proc = chromium(tmp_path, "--dump-dom", report.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln]
    assert console == []
    assert proc.stdout.count("<svg") == 13  # 10, input tokens/s, ISL and OSL


def test_prints_to_pdf(report, tmp_path):
    """The print stylesheet produces a multi-page PDF (A4 landscape)."""
    pdf = tmp_path / "report.pdf"
    chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", report.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert (
        data.count(b"/Type /Page\n") + data.count(b"/Type /Page>") + data.count(b"/Type /Page ")
        >= 2
        or len(data) > 50_000
    )
    keep(pdf)
