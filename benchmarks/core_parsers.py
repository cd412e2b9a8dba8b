"""Print the throughput of the per-token core: SSE decoding plus OpenAI chunk parsing.

A realistic stream: a role-only chunk, 32 one-token content chunks, a finish chunk, a usage
chunk and ``[DONE]``, fed as one TCP read per event (the worst case for per-call overhead)
and as one read for the whole stream. The machine is shared and noisy: run it a few times
and read the best figure; nothing here is asserted.

    python benchmarks/core_parsers.py
"""

from __future__ import annotations

import json
import time

from loadgen.core.chat import DONE, is_content, parse_openai_chunk
from loadgen.core.hist import Histogram
from loadgen.core.sse import SSEDecoder

TOKENS = 32
HEAD = {
    "id": "chatcmpl-9XyZaBcDeFgHiJkLmNoPqRsTuV",
    "object": "chat.completion.chunk",
    "created": 1718000000,
    "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_0ba0d124f1",
}


def _event(choices: list[object], **more: object) -> bytes:
    body = {**HEAD, "choices": choices, **more}
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def stream() -> list[bytes]:
    """One OpenAI-style streamed response, one bytes object per event."""
    delta = {"index": 0, "logprobs": None, "finish_reason": None}
    events = [_event([{**delta, "delta": {"role": "assistant", "content": ""}}])]
    events += [_event([{**delta, "delta": {"content": f" tok{i}"}}]) for i in range(TOKENS)]
    events.append(_event([{**delta, "delta": {}, "finish_reason": "stop"}]))
    events.append(_event([], usage={"prompt_tokens": 20, "completion_tokens": TOKENS}))
    events.append(b"data: [DONE]\n\n")
    return events


def consume(reads: list[bytes]) -> int:
    decoder = SSEDecoder()
    content = 0
    for read in reads:
        for event in decoder.feed(read):
            if event.data == DONE:
                continue
            if is_content(parse_openai_chunk(event.data)):
                content += 1
    decoder.close()
    return content


def bench(name: str, reads: list[bytes], repeat: int = 3, seconds: float = 1.0) -> None:
    events = sum(r.count(b"\n\n") for r in reads)
    assert consume(reads) == TOKENS
    best = 0.0
    for _ in range(repeat):
        n = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(100):
                consume(reads)
            n += 100
        best = max(best, n / elapsed)
    print(f"{name:<34} {best * events:>12,.0f} events/s  {best:>9,.0f} streams/s")


def bench_decoder_only(reads: list[bytes], seconds: float = 1.0) -> None:
    events = sum(r.count(b"\n\n") for r in reads)
    n = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            decoder = SSEDecoder()
            for read in reads:
                decoder.feed(read)
        n += 100
    print(f"{'SSE decoder only, read per event':<34} {n * events / elapsed:>12,.0f} events/s")


def bench_hist(seconds: float = 1.0) -> None:
    hist = Histogram()
    gaps = [20_000 + 37 * i for i in range(TOKENS - 1)]
    n = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            hist.record_many_us(gaps)
        n += 100 * len(gaps)
    print(f"{'Histogram.record_many_us':<34} {n / elapsed:>12,.0f} values/s")


def main() -> None:
    reads = stream()
    bench("decode + parse, read per event", reads)
    bench("decode + parse, one read", [b"".join(reads)])
    bench_decoder_only(reads)
    bench_hist()


if __name__ == "__main__":
    main()
