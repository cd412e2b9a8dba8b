"""The live page (``--ui``) in a real headless Chromium, over a real ``loadgen run``.

One run serves the module: the page loads and gains a point each second, a hold typed into
the page changes the engine's users, the stop button ends the run, and the result records
both as events; a control connection from another origin, or without the page's token, is
refused with 403. Needs Debian's chromium (skipped without it).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import websockets
from cdp import CHROMIUM, Browser
from support import run_async
from websockets.exceptions import InvalidStatus

from loadgen.report.breakpoint import breakpoint_view

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.slow,  # each runs loadgen and Chromium for about 10 s
]

TIMING = {
    "ttft": {"constant": "20ms"},
    "itl": {"constant": "5ms"},
    "output_tokens": {"constant": 6},
}


def _profile(tmp: Path, load: dict[str, Any]) -> Path:
    profile = tmp / "live.json"
    profile.write_text(
        json.dumps(
            {
                "name": "live",
                "target": {"base_url": "builtin", "timeout": "20s", "builtin": {"timing": TIMING}},
                "users": [
                    {
                        "think_time": {"constant": "50ms"},
                        "tasks": [{"chat": {"category": "simple"}}],
                    }
                ],
                "load": load,
                "thresholds": {"errors.count": "== 0"},
                "report": {"formats": ["json", "html"]},
            }
        )
    )
    return profile


class LiveRun:
    """``loadgen run PROFILE --ui 0`` in a process of its own; its stderr in a file."""

    def __init__(self, tmp: Path, profile: Path, *extra: str) -> None:
        self.out = tmp / "out"
        self.err_path = tmp / "stderr.txt"
        with self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "loadgen", "run", str(profile), "--out", str(self.out)),
                    *("--ui", "0", "--quiet", *extra),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**os.environ, "CI": "1"},
            )

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def url(self, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while not (found := re.search(r"live page: (http://\S+)", self.stderr)):
            assert self.proc.poll() is None, self.stderr
            assert time.monotonic() < deadline, f"no live page URL; stderr:\n{self.stderr}"
            time.sleep(0.05)
        return found.group(1)

    def finish(self, timeout: float = 30.0) -> dict[str, Any]:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            pytest.fail(f"the run did not end; stderr:\n{self.stderr}")
        data: dict[str, Any] = json.loads((self.out / "result.json").read_text())
        return data

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


async def _refused(url: str, *, origin: str, token: str) -> int:
    """The status a WebSocket handshake to the page's control socket gets."""
    ws_url = url.replace("http://", "ws://") + f"ws?token={token}"
    try:
        async with websockets.connect(ws_url, origin=origin, open_timeout=5) as ws:  # type: ignore[arg-type]
            await ws.recv()
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


async def _drive(run: LiveRun, tmp: Path) -> dict[str, Any]:
    url = run.url()
    seen: dict[str, Any] = {}
    async with Browser(tmp) as b:
        await b.goto(url)
        await b.wait_for("window.lgLive && lgLive.board && lgLive.board.points() >= 1")
        first = await b.eval("lgLive.board.points()")
        started = time.monotonic()
        await b.wait_for(f"lgLive.board.points() >= {first + 3}", timeout=15)
        seen["gain"] = (first, await b.eval("lgLive.board.points()"), time.monotonic() - started)
        seen["t"] = await b.eval("lgLive.board.cols.t")
        seen["charts"] = await b.eval("[Object.keys(lgLive.board.plots), lgLive.board.laidOut()]")
        token = await b.eval("JSON.parse(document.getElementById('lg-config').textContent).token")
        origin = url.rstrip("/")
        seen["foreign"] = await _refused(url, origin="http://evil.example", token=token)
        seen["no_token"] = await _refused(url, origin=origin, token="guess")
        seen["own"] = await _refused(url, origin=origin, token=token)
        await b.type_into("#lg-level", "4")
        await b.click("#lg-hold")
        await b.wait_for("/done: hold 4/.test(document.getElementById('lg-msg').textContent)")
        # the engine follows: the page's own points show 4 users within a few seconds
        await b.wait_for("lgLive.board.cols.users.slice(-3).every(u => u === 4)", timeout=15)
        seen["magenta"] = await b.eval("lgLive.board.events.map(e => e.label)")
        seen["names"] = await b.eval(
            "[lgLive.board.cols.t, lgLive.board.cols['n.rps|chat.simple'],"
            " lgLive.board.plots.name_rps.lgKeys]"
        )
        seen["errors"] = list(b.errors)
        await b.click("#lg-stop")
        await b.wait_for("/done: stop/.test(document.getElementById('lg-msg').textContent)")
        # the run's verdict reaches the page before its server closes
        seen["final"] = await b.wait_for(
            "lgLive.status.state === 'finished' && document.getElementById('lg-state').textContent",
            timeout=20,
        )
    return seen


def test_live_page_follows_and_steers_a_run(tmp_path):
    """Points arrive about once a second; a hold sets the users; stop ends the run; both are
    events in the result; other origins and a missing token are refused (403)."""
    run = LiveRun(
        tmp_path, _profile(tmp_path, {"users": 2, "duration": "40s", "graceful_stop": "2s"})
    )
    try:
        seen = run_async(_drive(run, tmp_path), timeout=60)
        data = run.finish()
    finally:
        run.kill()
    first, last, waited = seen["gain"]
    assert last - first >= 3
    assert waited < 3 * 1.0 + 6  # a point a second, generous on 2 cores
    gaps = [b - a for a, b in zip(seen["t"], seen["t"][1:], strict=False)]
    assert gaps
    assert all(abs(g - 1.0) < 0.05 for g in gaps), gaps  # one point per interval
    assert seen["charts"] == [
        [
            *("level", "throughput", "ttft", "itl", "e2e", "tokens", "health"),
            *("name_rps", "name_err", "name_ttft", "name_e2e"),
        ],
        True,
    ]
    assert (seen["foreign"], seen["no_token"], seen["own"]) == (403, 403, 101)
    assert seen["magenta"] == ["hold 4 users"]
    assert seen["errors"] == []
    assert seen["final"] == "interrupted"
    # the request name's line: each second's requests/s, as the result records that second
    t, rps, keys = seen["names"]
    assert keys == ["n.rps|chat.simple"]
    recorded = {
        round(iv["t"] + iv["length"], 3): iv["by_name"]["chat.simple"]["requests"] / iv["length"]
        for iv in data["intervals"]
    }
    assert len(t) >= 5
    assert [float(f"{recorded[round(x, 3)]:.4g}") for x in t] == rps
    assert run.proc.returncode == 130  # a stop from the page is an interruption, as Ctrl-C
    events = data["control"]
    assert [(e["action"], e["value"], e["unit"]) for e in events] == [
        ("hold", 4.0, "users"),
        ("stop", None, "users"),
    ]
    hold_t, stop_t = events[0]["t"], events[1]["t"]
    assert hold_t < stop_t < 40
    assert "live page" in data["run"]["stop_reason"]
    assert data["run"]["duration"] < 40
    # the engine held 4 users from the hold on: every whole interval after it (and before
    # the stop) shows 4 running, and before it the plan's 2
    after = [
        i for i in data["intervals"] if hold_t + 1.0 <= i["t"] and i["t"] + i["length"] <= stop_t
    ]
    before = [i for i in data["intervals"] if i["t"] + i["length"] <= hold_t]
    assert after
    assert before
    assert {i["users"] for i in after} == {4}
    assert {i["users"] for i in before} == {2}


def test_a_rate_hold_reschedules_the_open_model(tmp_path):
    """Open model: holding 20/s makes the engine send 20 arrivals a second (counted in the
    result's intervals), from the plan's 5/s."""
    load = {"model": "open", "rate": "5/s", "duration": "30s", "graceful_stop": "2s"}
    run = LiveRun(tmp_path, _profile(tmp_path, load))

    async def drive() -> None:
        async with Browser(tmp_path) as b:
            await b.goto(run.url())
            await b.wait_for("lgLive.board && lgLive.board.points() >= 2")
            await b.type_into("#lg-level", "20")
            await b.click("#lg-hold")
            await b.wait_for("/done: hold 20/.test(document.getElementById('lg-msg').textContent)")
            await b.wait_for("lgLive.board.points() >= 6", timeout=15)
            await b.click("#lg-stop")
            await b.wait_for("/done: stop/.test(document.getElementById('lg-msg').textContent)")

    try:
        run_async(drive(), timeout=60)
        data = run.finish()
    finally:
        run.kill()
    hold = data["control"][0]
    assert (hold["action"], hold["unit"], hold["value"]) == ("hold", "rate", 20.0)
    stop_t = data["control"][1]["t"]
    whole = [i for i in data["intervals"] if abs(i["length"] - 1.0) < 0.01]
    before = [i["sent"] for i in whole if i["t"] + 1.0 <= hold["t"]]
    after = [i["sent"] for i in whole if i["t"] >= hold["t"] + 1.0 and i["t"] + 1.0 <= stop_t]
    assert len(before) >= 1
    assert len(after) >= 2
    # the schedule's count, give or take one arrival a second sent late into the next second
    # on a busy machine: the rate held is 20/s, four times the plan's
    assert abs(sum(before) - 5 * len(before)) <= len(before) + 1, before
    assert abs(sum(after) - 20 * len(after)) <= len(after) + 1, after
    assert all(n >= 14 for n in after), after


def _interrupt(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> int:
    proc.send_signal(signal.SIGINT)
    return proc.wait(timeout)


_FINISHED = "lgLive.status && lgLive.status.state === 'finished'"
_SHOWN = """({points: lgLive.board.points(), state: document.getElementById('lg-state').textContent,
  control: document.getElementById('lg-control-section').hidden,
  names: (lgLive.status.tables[0] || {rows: []}).rows.map(r => r[0])})"""


def test_linger_keeps_the_final_state_and_ui_opens_a_past_result(tmp_path):
    """--ui-linger: after the run the same page shows the finished run (every interval of
    the result, its verdict, no controls) until Ctrl-C; `loadgen ui RESULT.json` shows it
    the same way."""
    load = {"users": 2, "duration": "3s", "graceful_stop": "2s"}
    run = LiveRun(tmp_path, _profile(tmp_path, load), "--ui-linger")

    async def watch(url: str, sub: str, inits: int = 1) -> dict[str, Any]:
        async with Browser(tmp_path / sub) as b:
            await b.goto(url)
            if inits > 1:  # the run's page, then the lingering server's: the page reconnects
                while "stays up" not in run.stderr:
                    assert run.proc.poll() is None, run.stderr
                    await asyncio.sleep(0.05)
            await b.wait_for(f"lgLive.inits >= {inits}", timeout=25)
            await b.wait_for(_FINISHED, timeout=25)
            shown: dict[str, Any] = await b.eval(_SHOWN)
            shown["errors"] = b.errors
            return shown

    try:
        lingering = run_async(watch(run.url(), "linger", inits=2), timeout=60)
        assert run.proc.poll() is None  # still serving
        assert _interrupt(run.proc) == 0
    finally:
        run.kill()
    data = json.loads((run.out / "result.json").read_text())
    expected = {
        "points": len(data["intervals"]),
        "state": "passed",
        "control": True,
        "names": [*sorted(data["scopes"]["by_name"]), "all"],
        "errors": [],
    }
    assert lingering == expected
    err = tmp_path / "ui-stderr.txt"
    with err.open("wb") as stream:
        ui = subprocess.Popen(
            [sys.executable, "-m", "loadgen", "ui", str(run.out / "result.json"), "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stream,
        )
    try:
        deadline = time.monotonic() + 20
        while not (found := re.search(r"live page: (http://\S+)", err.read_text())):
            assert ui.poll() is None, err.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        opened = run_async(watch(found.group(1), "ui"), timeout=60)
        assert _interrupt(ui) == 0
    finally:
        if ui.poll() is None:
            ui.kill()
            ui.wait(10)
    assert opened == expected


def test_processes_show_the_merged_view_and_can_be_stopped(tmp_path):
    """--processes 2: the page gets the merged seconds (both parts' users added), a hold is
    refused with the reason, and the stop button ends both parts."""
    load = {"users": 4, "duration": "40s", "graceful_stop": "2s"}
    run = LiveRun(tmp_path, _profile(tmp_path, load), "--processes", "2")

    async def drive() -> dict[str, Any]:
        async with Browser(tmp_path) as b:
            await b.goto(run.url(timeout=30))
            await b.wait_for("lgLive.board && lgLive.board.points() >= 3", timeout=30)
            users = await b.eval("lgLive.board.cols.users.slice(-2)")
            hidden = await b.eval("document.getElementById('lg-hold').hidden")
            await b.eval("lgLive.socket.send(JSON.stringify({action: 'hold', value: 3}))")
            await b.wait_for("/refused/.test(document.getElementById('lg-msg').textContent)")
            refused = await b.eval("document.getElementById('lg-msg').textContent")
            await b.click("#lg-stop")
            return {"users": users, "hidden": hidden, "refused": refused, "errors": b.errors}

    try:
        seen = run_async(drive(), timeout=90)
        data = run.finish(timeout=40)
    finally:
        run.kill()
    assert seen["users"] == [4, 4]  # 2 + 2: the merged second, not one part's
    assert seen["hidden"] is True
    assert "one process" in seen["refused"]
    assert seen["errors"] == []
    assert data["run"]["duration"] < 40
    assert len(data["parts"]) == 2


@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray is not installed: pip install 'loadgen[ray]'",
)
def test_ray_actors_show_the_merged_view(tmp_path):
    """--ray auto --processes 2: the page gets the driver's merged seconds (two actors' users
    added), as a --processes run does, and its stop button ends the actors."""
    load = {"users": 4, "duration": "40s", "graceful_stop": "2s"}
    run = LiveRun(tmp_path, _profile(tmp_path, load), "--ray", "auto", "--processes", "2")

    async def drive() -> dict[str, Any]:
        async with Browser(tmp_path) as b:
            await b.goto(run.url(timeout=60))
            await b.wait_for("lgLive.board && lgLive.board.points() >= 3", timeout=45)
            users = await b.eval("lgLive.board.cols.users.slice(-2)")
            await b.click("#lg-stop")
            return {"users": users, "errors": b.errors}

    try:
        seen = run_async(drive(), timeout=120)
        data = run.finish(timeout=60)
    finally:
        run.kill()
    assert seen["users"] == [4, 4]  # 2 + 2: the merged second, not one actor's
    assert seen["errors"] == []
    assert data["run"]["duration"] < 40
    assert len(data["parts"]) == 2


def test_a_breakpoint_search_shows_each_step_as_it_is_judged(tmp_path):
    """A search's steps appear on the page as they are judged, with the report's cells; the
    page offers Stop only (the search picks its own levels)."""
    builtin = {
        "timing": {"ttft": "100ms", "itl": "10ms", "output_tokens": 10},
        "capacity": {"slots": 8, "contention": 0},
    }
    profile = tmp_path / "bp.json"
    profile.write_text(
        json.dumps(
            {
                "name": "bp",
                "target": {"base_url": "builtin", "builtin": builtin},
                "users": [{"tasks": [{"chat": {"category": "simple"}}]}],
                "load": {"graceful_stop": "1s"},
                "slo": {"ttft_p95": "150ms"},
                "breakpoint": {"start": 4, "step": 4, "step_duration": "2s", "warmup": "1s"}
                | {"max": 12},
                "report": {"formats": ["json"]},
            }
        )
    )
    run = LiveRun(tmp_path, profile)

    async def watch() -> dict[str, Any]:
        async with Browser(tmp_path) as b:
            await b.goto(run.url())
            await b.wait_for("lgLive.status && lgLive.status.breakpoint", timeout=20)
            first = await b.eval("lgLive.status.breakpoint.rows[0]")
            shown = await b.eval("!document.getElementById('lg-bp-section').hidden")
            hold = await b.eval("document.getElementById('lg-hold').hidden")
            await b.wait_for(_FINISHED, timeout=30)
            final = await b.eval("lgLive.status.breakpoint.rows")
            return {"first": first, "shown": shown, "hold": hold, "final": final}

    try:
        seen = run_async(watch(), timeout=60)
        data = run.finish()
    finally:
        run.kill()
    rows = [r["cells"] for r in breakpoint_view(data["breakpoint"])["rows"]]
    assert seen["shown"] is True
    assert seen["hold"] is True
    assert seen["first"] == rows[0]  # a judged step's numbers do not change afterwards
    assert seen["final"] == rows
    assert rows[0][0] == "4 users"


def test_a_scraped_server_is_charted_live_beside_the_client(tmp_path):
    """With --scrape, the live page gains the server's queue, KV-cache and TTFT charts while
    the run goes, and each point is the interval's scraped window the result keeps (issue 23
    item 1)."""
    load = {"users": 3, "duration": "5s", "graceful_stop": "2s"}
    run = LiveRun(tmp_path, _profile(tmp_path, load), "--scrape", "builtin")

    async def watch(url: str) -> dict[str, Any]:
        async with Browser(tmp_path / "scraped") as b:
            await b.goto(url)
            await b.wait_for("window.lgLive && lgLive.board && lgLive.board.points() >= 3")
            return {
                "plots": await b.eval("Object.keys(lgLive.board.plots)"),
                "running": await b.eval("lgLive.board.cols['srv.running']"),
                "errors": list(b.errors),
            }

    try:
        seen = run_async(watch(run.url()), timeout=60)
        data = run.finish()
    finally:
        run.kill()
    assert seen["errors"] == []
    assert {"server_queue", "server_kv", "server_ttft"} <= set(seen["plots"])
    windows = [i.get("server") or {} for i in data["intervals"]]
    running = [(w.get("gauges") or {}).get("running") for w in windows]
    expected = [None if r is None else float(f"{r['mean']:.4g}") for r in running]
    assert seen["running"] == expected[: len(seen["running"])]
    assert any(seen["running"])  # the server had work to show while the page watched
