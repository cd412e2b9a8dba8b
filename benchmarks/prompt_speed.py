"""Print what building synthetic prompts costs the generator (issue 20.2).

Builds 2,000-token prompts for a few seconds with the default tokenizer (and with a
``tokenizer.json`` when one is given), each from a fresh random offset with a new length
draw, as a VU would, and prints µs per prompt and the share of one core that prompt
building takes at 1,000 requests per second. The goal is under 5 %. Each prompt's count is
checked once at the end, outside the timing. The machine may be shared: run it alone.

    python benchmarks/prompt_speed.py [--seconds 3] [--tokens 2000] [path/to/tokenizer.json]
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from loadgen.core.bpe import Tokenizer, default_tokenizer
from loadgen.core.lengths import Normal
from loadgen.core.prompts import PromptBuilder, default_corpus

RATE = 1000  # requests per second


def measure(tokenizer: Tokenizer, tokens: int, seconds: float) -> float:
    """µs per prompt of about ``tokens`` tokens (stdev 2 %), over ``seconds``."""
    started = time.perf_counter()
    builder = PromptBuilder(tokenizer, default_corpus(), seed=1)
    print(f"  builder ready in {time.perf_counter() - started:.2f} s")
    rng = random.Random(7)
    length = Normal(tokens, tokens / 50)
    built, wanted = [], []
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while (now := time.perf_counter()) < deadline:
        for _ in range(50):
            n = length.sample(rng)
            prompt = builder.build(n, rng)
            count += 1
            if count % 997 == 0:
                built.append(prompt)
                wanted.append(n)
    elapsed = now - started
    wrong = sum(tokenizer.count(p) != n for p, n in zip(built, wanted, strict=True))
    if wrong:
        print(f"  {wrong} of {len(built)} checked prompts had the wrong count")
    return elapsed / count * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tokenizer_json", nargs="?")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--tokens", type=int, default=2000)
    args = parser.parse_args(argv)
    tokenizers: list[tuple[str, Tokenizer]] = [("default (loadgen's BPE)", default_tokenizer())]
    if args.tokenizer_json:
        from loadgen.edge.hftokenizer import load_tokenizer

        tokenizers.append((args.tokenizer_json, load_tokenizer(args.tokenizer_json)))
    for label, tokenizer in tokenizers:
        print(f"{label}: {args.tokens}-token prompts")
        us = measure(tokenizer, args.tokens, args.seconds)
        share = us * RATE / 1e6 * 100
        print(f"  {us:.1f} µs per prompt")
        print(f"  prompt building at {RATE:,} req/s: {share:.2f} % of one core (goal < 5 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
