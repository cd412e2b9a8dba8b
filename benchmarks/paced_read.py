"""The cost of one paced read, without sockets: loadgen's real client protocol and reader.

A paced stream (vLLM, TGI, llama.cpp sending each token as it is decoded) gives the client
one small read per token: an HTTP/1.1 chunk holding one ``data: {…}\\n\\n`` event. This
harness builds what ``run_chat`` builds for a streamed OpenAI chat (``fastconn.Connection``,
the ``_capped`` sink, ``OpenAIReader``), starts a request on a transport that writes nowhere,
and feeds the connection ``data_received`` calls holding those reads, as uvloop would after a
``recv``: httptools' parse, the body callback, the arrival stamp, the SSE split, the content
test and the ``token_times`` append all run; the socket and uvloop's own C code do not.

``python benchmarks/paced_read.py ANSWERS TOKENS`` feeds ANSWERS answers of TOKENS content
events (with a role chunk, a finish chunk, a usage chunk and ``[DONE]``, one event per read).
Instruction counts come from callgrind, which counts instructions whatever else the machine
runs: ``--count ANSWERS`` runs answers of 32 and of 96 tokens under it and subtracts, so the
difference divided by the 64 extra reads is the cost of one paced content read, and the
32-token run divided by its reads is the average read with the request's own work included:

    python benchmarks/paced_read.py --count 200

``--coalesced ANSWERS`` counts the zero-delay regime instead: each whole 32-token answer in
one read (the bulk path), instructions per answer. ``--time N`` prints a timeit-style
min-of-5 µs per read instead (noisy on a busy machine). Set PYTHONPATH to compare trees.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loadgen.core.readers import OpenAIReader
from loadgen.edge.deadlines import Deadlines
from loadgen.edge.exchange import _capped
from loadgen.edge.fastconn import Connection, FastResponse

TOKENS = 32
MORE = 96
HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


def _event(payload: dict[str, object]) -> bytes:
    data = b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def answer_reads(tokens: int = TOKENS) -> list[bytes]:
    """One answer as vLLM sends it: a role chunk, ``tokens`` content chunks, the finish chunk, a
    usage chunk and ``[DONE]``, each in its own HTTP chunk (and read); the head opens it."""
    base = {
        "id": "chatcmpl-8f1c2a9d0b7e4c55a1e3",
        "object": "chat.completion.chunk",
        "created": 1764770000,
        "model": "meta-llama/Llama-3.1-8B-Instruct",
    }

    def chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _event({**base, "choices": [choice]})

    reads = [HEAD + chunk({"role": "assistant", "content": ""})]
    reads += [chunk({"content": f" word{i}"}) for i in range(tokens)]
    reads.append(chunk({"content": ""}, "stop"))
    usage = {"prompt_tokens": 12, "completion_tokens": tokens, "total_tokens": tokens + 12}
    reads.append(_event({**base, "choices": [], "usage": usage}))
    reads.append(b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n")
    return reads


class _Nowhere:
    """A transport that takes the request and writes nothing."""

    def write(self, data: bytes) -> None:
        pass

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default


async def feed(answers: int, length: int = TOKENS, whole: bool = False) -> tuple[int, int]:
    """Feed ``answers`` answers of ``length`` tokens, a read per event (``whole``: a read per
    answer); return (reads, tokens)."""
    answer = answer_reads(length)
    if whole:
        answer = [answer[0], b"".join(answer[1:])]  # the head, then the whole body at once
    deadlines = Deadlines()
    conn = Connection()
    conn.connection_made(_Nowhere())  # type: ignore[arg-type]
    done = tokens = 0
    for _ in range(answers):
        reader = OpenAIReader(max_line=1 << 20)
        sink = _capped(reader, 64 << 20)
        task = asyncio.ensure_future(
            conn.exchange(b"POST / HTTP/1.1\r\n\r\n", sink, FastResponse(), None, deadlines)
        )
        await asyncio.sleep(0)  # the request is written; the connection awaits its answer
        data_received = conn.data_received
        for read in answer:
            data_received(read)
        await task
        reader.close(time.monotonic())
        assert reader.done, "no [DONE]"
        assert len(reader.token_times) == length, reader.token_times
        assert reader.usage_tokens == length
        done += len(answer)
        tokens += len(reader.token_times)
    return done, tokens


def _callgrind(answers: int, length: int, *more: str) -> int:
    """Instructions of a whole run feeding ``answers`` answers, counted by callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        cmd += [sys.executable, __file__, str(answers), str(length), *more]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        run = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        found = re.search(r"Collected : (\d+)", run.stderr)
        assert found, run.stderr[-2000:]
        return int(found.group(1))


def main(argv: list[str]) -> None:
    if argv[:1] == ["--count"]:
        answers = int(argv[1])
        base = _callgrind(0, TOKENS)  # start-up and imports, subtracted below
        short, long = _callgrind(answers, TOKENS), _callgrind(answers, MORE)
        reads = answers * len(answer_reads(TOKENS))
        per_content = (long - short) / (answers * (MORE - TOKENS))
        print(
            f"callgrind, {answers} answers: {per_content:.0f} instructions per paced content "
            f"read (the marginal read: {MORE}- minus {TOKENS}-token answers); "
            f"{(short - base) / reads:.0f} per read and {(short - base) / answers:.0f} per "
            f"{TOKENS}-token answer with the request's own work ({reads // answers} reads each)"
        )
        return
    if argv[:1] == ["--coalesced"]:
        answers = int(argv[1])
        base = _callgrind(0, TOKENS, "whole")
        total = _callgrind(answers, TOKENS, "whole")
        print(
            f"callgrind, {answers} answers each in one read (zero delay): "
            f"{(total - base) / answers:.0f} instructions per {TOKENS}-token answer"
        )
        return
    if argv[:1] == ["--time"]:
        answers = int(argv[1])
        best = min(_timed(answers) for _ in range(5))
        reads = answers * len(answer_reads(TOKENS))
        print(f"busy machine: min of 5 runs {best * 1e6 / reads:.2f} µs per paced read")
        return
    length = int(argv[1]) if argv[1:] else TOKENS
    reads, tokens = asyncio.run(feed(int(argv[0]), length, argv[2:] == ["whole"]))
    print(f"fed {reads} reads, {tokens} content events")


def _timed(answers: int) -> float:
    started = time.perf_counter()
    asyncio.run(feed(answers))
    return time.perf_counter() - started


if __name__ == "__main__":
    main(sys.argv[1:])
