"""A real headless Chromium driven over the DevTools protocol (a WebSocket, with the
``websockets`` library loadgen already depends on): load pages, evaluate JavaScript, move the
mouse, take screenshots. For the live page and the explorable report.

Needs Debian's ``chromium``; ``CHROMIUM`` is None without it (tests skip with a reason).
Every wait polls with a deadline; a page's uncaught JavaScript errors are collected in
``Browser.errors`` so a test can assert there were none.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import websockets

CHROMIUM = shutil.which("chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
]


class Browser:
    """``async with Browser(tmp) as b: await b.goto(url); await b.eval("1 + 1")``."""

    def __init__(self, tmp: Path, *, width: int = 1280, height: int = 900) -> None:
        self.profile = tmp / "chromium-profile"
        self.size = (width, height)
        self.errors: list[str] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._proc: asyncio.subprocess.Process | None = None
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self.session = ""

    async def __aenter__(self) -> Browser:
        try:
            return await self._open()
        except BaseException:
            await self.__aexit__()  # never leave a browser behind
            raise

    async def _open(self) -> Browser:
        assert CHROMIUM is not None
        self.profile.mkdir(parents=True, exist_ok=True)
        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a previous browser's, in a reused profile
        self._proc = await asyncio.create_subprocess_exec(
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={self.profile}",
            "about:blank",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not port_file.exists() or len(port_file.read_text().split()) < 2:
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            assert self._proc.returncode is None, "chromium exited"
            await asyncio.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        self._ws = await websockets.connect(f"ws://127.0.0.1:{port}{path}", max_size=None)
        self._reader = asyncio.create_task(self._read())
        target = await self.send("Target.createTarget", {"url": "about:blank"}, browser=True)
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, browser=True
        )
        self.session = attached["sessionId"]
        await self.send("Runtime.enable")
        await self.send("Page.enable")
        await self._viewport(*self.size)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            try:
                await asyncio.wait_for(self._proc.wait(), 10)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()

    async def _read(self) -> None:
        async for raw in self._ws:
            msg = json.loads(raw)
            if "id" in msg:
                fut = self._pending.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
            elif msg.get("method") == "Runtime.exceptionThrown":
                details = msg["params"]["exceptionDetails"]
                self.errors.append(details.get("exception", {}).get("description", str(details)))

    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False
    ) -> Any:
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if not browser:
            msg["sessionId"] = self.session
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        await self._ws.send(json.dumps(msg))
        reply = await asyncio.wait_for(fut, 20)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})
        await self.wait_for("document.readyState === 'complete'")

    async def eval(self, expression: str) -> Any:
        got = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in got:
            raise RuntimeError(f"{expression}: {got['exceptionDetails']}")
        return got["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        """Poll ``expression`` until it is truthy; its value, or AssertionError at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.eval(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
            await asyncio.sleep(0.1)

    async def mouse(self, x: float, y: float, kind: str = "mouseMoved", **extra: Any) -> None:
        await self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, **extra})

    async def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element ``selector``."""
        box = await self.eval(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        x, y = box
        await self.mouse(x, y)
        await self.mouse(x, y, "mousePressed", button="left", clickCount=1)
        await self.mouse(x, y, "mouseReleased", button="left", clickCount=1)

    async def type_into(self, selector: str, text: str) -> None:
        await self.eval(f"document.querySelector({json.dumps(selector)}).select()")
        await self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        await self.send("Input.insertText", {"text": text})

    async def screenshot(self, path: Path, *, clip: tuple[float, float] | None = None) -> Path:
        """A PNG of the whole page, or of ``clip`` = (top, height). The viewport is first
        grown to the page's height (charts redraw on resize; shooting beyond the viewport
        would catch canvases cleared and not yet redrawn), then put back."""
        width, height = self.size
        full = int(await self.eval("document.documentElement.scrollHeight"))
        await self._viewport(width, max(height, full))
        await self.eval("new Promise(r => requestAnimationFrame(() => setTimeout(r, 300)))")
        top, tall = clip if clip is not None else (0.0, float(full))
        shot = await self.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "clip": {"x": 0, "y": top, "width": width, "height": tall, "scale": 1},
            },
        )
        await self._viewport(width, height)
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))
        return path

    async def _viewport(self, width: int, height: int) -> None:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
