"""Class 2 of issue #18: memory stays bounded whatever a server sends.

Each attack runs ``python -m loadgen run`` in a child process against a hostile route, beside a
healthy class on the same origin; the child's own peak RSS is its VmHWM, polled. Before the
fixes one VU reached 1.9 GiB on endless headers, 1.7 GiB on a 60 MiB JSON answer, ~1 GiB on
an SSE event of millions of ``data:`` lines and a 520 MiB plateau on rejected long lines; here
each run stays under ``PEAK_MIB`` while the healthy class keeps its 50 ms first token.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import transport_server as ts
import yaml

from loadgen.core.readers import MAX_JSON, JSONReader
from loadgen.core.sse import SSEDecoder, SSEError

PEAK_MIB = 120  # a 2-VU run peaks at ~55-75 MiB; each attack took 0.5 to 1.9 GiB before
FLOOD = 200 << 20  # the most any route sends to one request (the client gives up far sooner)
BLOCK = 64 << 10


async def _flood(w: ts.Writer, first: bytes, block: bytes) -> bool:
    w.write(first)
    sent = 0
    while sent < FLOOD:
        w.write(block)
        await w.drain()
        sent += len(block)
    return False


async def endless_headers(w: ts.Writer) -> bool:
    line = b"x-h: " + b"v" * 90 + b"\r\n"
    return await _flood(w, b"HTTP/1.1 200 OK\r\n", line * (BLOCK // len(line)))


async def endless_header_value(w: ts.Writer) -> bool:
    return await _flood(w, b"HTTP/1.1 200 OK\r\nx-big: ", b"a" * BLOCK)


async def informational_flood(w: ts.Writer) -> bool:
    hint = b"HTTP/1.1 103 Early Hints\r\nlink: </x.css>\r\n\r\n"
    return await _flood(w, b"", hint * (BLOCK // len(hint)))


async def huge_json(w: ts.Writer) -> bool:
    size = 60 << 20  # under the 64 MiB max_response_size
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n["
    block = b"{}," * (BLOCK // 3)
    w.write(head % size)
    sent = 1
    while sent + len(block) < size:
        w.write(block)
        await w.drain()
        sent += len(block)
    w.write(b"{}" + b" " * (size - sent - 3) + b"]")
    await w.drain()
    return True


async def many_small_values(w: ts.Writer) -> bool:
    body = b'{"choices":[{"message":{"content":"a"}}],"pad":[' + b"{}," * (2 << 20) + b"{}]}"
    w.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
        % (len(body), body)
    )
    await w.drain()
    return True


async def many_data_lines(w: ts.Writer) -> bool:
    w.write(ts.SSE_HEAD + ts.framed(ts.sse_answer()[0]))
    return await _flood(w, b"", ts.framed(b"data:x\n" * (BLOCK // 7)))


async def long_lines(w: ts.Writer) -> bool:
    w.write(ts.SSE_HEAD + ts.framed(b"data: {"))
    return await _flood(w, b"", ts.framed(b"x" * BLOCK))


def _hwm_mib(pid: int) -> int:
    """The process's peak RSS so far (VmHWM), 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def run_child(tmp: Path, data: dict[str, Any], limit: float = 40.0) -> tuple[dict[str, Any], int]:
    """Run the CLI on ``data``; return the result and the child's own peak RSS in MiB.

    VmHWM, polled: it belongs to the child's address space, made fresh by exec, whereas
    ``ru_maxrss`` keeps the high-water mark of the forked copy of this (large) process.
    """
    profile = tmp / "profile.yaml"
    profile.write_text(yaml.safe_dump(data))
    out = tmp / "out"
    with (tmp / "stdout").open("wb") as so, (tmp / "stderr").open("wb") as se:
        child = subprocess.Popen(
            [sys.executable, "-m", "loadgen", "run", str(profile), "--out", str(out)],
            stdout=so,
            stderr=se,
        )
        peak = 0
        deadline = time.monotonic() + limit
        while child.poll() is None:
            peak = max(peak, _hwm_mib(child.pid))
            if time.monotonic() > deadline:
                child.kill()
            time.sleep(0.02)
    assert child.returncode in (0, 1), (tmp / "stderr").read_text()[-2000:]
    return json.loads((out / "result.json").read_text()), peak


def scope(result: dict[str, Any], name: str) -> dict[str, Any]:
    return result["scopes"]["by_name"][name]


ATTACKS = [
    pytest.param("/headers", endless_headers, {}, "response head", id="endless headers"),
    pytest.param(
        "/headers",
        endless_headers,
        {"transport": "httpx"},
        "Receive buffer too long",
        id="endless headers (httpx: h11's 16 KiB)",
    ),
    pytest.param(
        "/header-value", endless_header_value, {}, "response head", id="one endless header"
    ),
    pytest.param("/hints", informational_flood, {}, "response head", id="endless 103 responses"),
    pytest.param(
        "/json",
        huge_json,
        {"stream": False},
        f"JSON answer larger than {MAX_JSON} bytes",
        id="a 60 MiB JSON answer",
    ),
    pytest.param(
        "/values",
        many_small_values,
        {"stream": False},
        "holds too many values",
        id="a 6 MiB JSON answer of small values",
    ),
    pytest.param(
        "/lines", many_data_lines, {}, "event data longer than", id="an event of endless data lines"
    ),
    pytest.param("/long", long_lines, {}, "line longer than", id="an endless line"),
]


@pytest.mark.parametrize(("path", "handler", "chat", "why"), ATTACKS)
def test_an_attack_is_refused_with_bounded_memory_and_healthy_timing(
    tmp_path: Path, path: str, handler: ts.Handler, chat: dict[str, Any], why: str
) -> None:
    """The attack is counted as ``protocol`` with its reason, the child's peak RSS stays
    under PEAK_MIB, the run ends on time and the healthy class keeps its first token."""
    chat = dict(chat)
    target = {"transport": chat.pop("transport")} if "transport" in chat else {}
    with ts.HostileServer({path: handler}) as s:
        data = ts.pair(
            s.url, {"chat": {"path": path, **chat}}, duration="2s", timeout="5s", **target
        )
        began = time.monotonic()
        result, peak = run_child(tmp_path, data)
        elapsed = time.monotonic() - began
    assert peak < PEAK_MIB, f"peak RSS {peak} MiB"
    assert elapsed < 2 + 1 + 6  # the plan, graceful_stop, start-up of a child on a loaded box
    assert result["run"]["internal_errors"] == []
    hostile = scope(result, "chat.hostile")
    assert hostile["requests"] >= 1
    assert set(hostile["errors_by_kind"]) == {"protocol"}, result["errors"]
    examples = [e["example"] for e in result["errors"]]
    assert any(why in e for e in examples), examples
    ok = scope(result, "chat.ok")
    assert ok["errors"] == 0
    assert ok["requests"] >= 5
    ttft = ok["metrics"]["ttft"]
    assert ttft["p50"] >= ts.HEALTHY_TTFT * 1000
    assert ttft["p99"] < ts.HEALTHY_TTFT * 1000 + 250


def test_a_refused_line_is_freed_when_the_error_is_raised() -> None:
    """The decoder drops its buffered line before raising: nothing waits for the collector
    (the traceback of the error refers to the decoder)."""
    decoder = SSEDecoder(max_line=1 << 20)
    decoder.feed(b"data: " + b"x" * (1 << 19))
    with pytest.raises(SSEError):
        decoder.feed(b"x" * (1 << 20))
    assert decoder._parts == []
    decoder = SSEDecoder(max_line=1 << 10)
    with pytest.raises(SSEError, match="event data longer than 1024 bytes"):
        decoder.feed(b"data:x\n" * 1000)
    assert decoder._data == []


def test_a_json_answer_is_refused_as_soon_as_it_passes_its_bound() -> None:
    """Past MAX_JSON bytes the reader refuses the next read and keeps nothing of it."""
    reader = JSONReader(openai=True, content_field="content", usage_field=None)
    reader.feed(b"[" + b" " * (MAX_JSON - 2), 0.0)
    with pytest.raises(ValueError, match="larger than"):
        reader.feed(b"  ", 0.0)
    assert len(reader._body) == 0
