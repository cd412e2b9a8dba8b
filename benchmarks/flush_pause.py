"""Print how long recording a batch of finished requests pauses the event loop.

A scope records its requests' values into its histograms in batches (``loadgen.core.measure``);
the loop runs nothing else meanwhile. The pause grows with the batch and with the answers'
length (every inter-token gap is a value): this prints it for answers that arrived in one read,
paced answers of 32 tokens and paced answers of 512 tokens, at fixed batches of 256, 64 and 16
requests, then the batch the adaptive rule (``FLUSH_BUDGET``) settles on and its flushes' p50
and p99 over 4,096 requests of each kind.

    python benchmarks/flush_pause.py

Sans-I/O: no server, no network. Figures are from this machine; run it with nothing else busy.
"""

from __future__ import annotations

import random
import time

from loadgen.core.measure import BATCH, FLUSH_BUDGET, measure
from loadgen.core.sample import Sample
from loadgen.core.stats import Recorder, Scope

KINDS = (
    ("one read, 32 tokens", 32, 0.0),
    ("paced, 32 tokens", 32, 0.02),
    ("paced, 512", 512, 0.02),
)


def answer(rng: random.Random, tokens: int, gap: float) -> Sample:
    s = Sample(name="chat", user_class="u", t0=0.0, send=0.0001, request_id="r")
    s.status = 200
    s.first_byte = 0.5 + rng.random() * 0.002
    jitter = 0.001 if gap else 0.0
    s.token_times = [s.first_byte + k * gap + rng.random() * jitter for k in range(tokens)]
    s.end = s.token_times[-1] + 0.001
    s.usage_tokens = tokens
    return s


def leaf(rec: Recorder, first: Sample) -> Scope:
    rec.add(first)
    return next(iter(rec.leaves.values()))


def fixed(samples: list[Sample], n: int) -> float:
    """The shortest of 5 flushes of ``n`` requests (s)."""
    best = float("inf")
    for _ in range(5):
        rec = Recorder(start=0.0)
        scope = leaf(rec, samples[0])
        scope._batch = 1 << 30  # never flushes by itself
        for s in samples[:n]:
            scope.add(s, measure(rec._plan, s))
        started = time.perf_counter()
        scope._flush()
        best = min(best, time.perf_counter() - started)
    return best


def adaptive(samples: list[Sample]) -> tuple[int, list[float]]:
    """The batch the scope settles on over 4,096 requests, and its flushes' lengths (s)."""
    rec = Recorder(start=0.0)
    scope = leaf(rec, samples[0])
    flush, spans = scope._flush, []

    def timed() -> None:
        started = time.perf_counter()
        flush()
        spans.append(time.perf_counter() - started)

    scope._flush = timed  # type: ignore[method-assign]
    for i in range(4096):
        s = samples[i % len(samples)]
        scope.add(s, measure(rec._plan, s))
    return scope._batch, sorted(spans)


def main() -> None:
    rng = random.Random(1)
    print(f"batch of at most {BATCH} requests, flush budget {FLUSH_BUDGET * 1e3:g} ms")
    for label, tokens, gap in KINDS:
        samples = [answer(rng, tokens, gap) for _ in range(256)]
        pauses = ", ".join(f"{n}: {fixed(samples, n) * 1e3:.3f} ms" for n in (256, 64, 16))
        batch, spans = adaptive(samples)
        p50, p99 = (spans[int(q * (len(spans) - 1))] * 1e3 for q in (0.5, 0.99))
        print(f"  {label:20} fixed batch {pauses}")
        print(
            f"  {'':20} adaptive: settles on {batch}; {len(spans)} flushes, "
            f"p50 {p50:.3f} ms, p99 {p99:.3f} ms"
        )


if __name__ == "__main__":
    main()
