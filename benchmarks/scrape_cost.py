"""What scraping the server's /metrics costs the generator (issue 22: < 2 % of its CPU at
1,000 streams, scraping every second).

Runs the same closed-model load twice against the built-in target (in its own process): 1,000
users streaming answers, once without ``target.metrics`` and once scraping the target's
``/metrics`` (vLLM's names) every second, and prints the generator's CPU seconds per run
second for each and the difference as a share of the first. Run it on an otherwise idle
machine with at least 2 free cores (the target needs one):

    python benchmarks/scrape_cost.py [--users 1000] [--duration 30s] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from typing import Any

import loadgen
from loadgen import profile_from_dict
from loadgen.target import BuiltinTarget, TargetConfig

TARGET = {
    "timing": {"ttft": "200ms", "itl": "20ms", "output_tokens": 64},
    "capacity": {"slots": 0},
}


def profile(url: str, users: int, duration: str, scrape: bool) -> dict[str, Any]:
    target: dict[str, Any] = {"base_url": url, "timeout": "60s"}
    if scrape:
        target["metrics"] = {"url": f"{url}/metrics", "interval": "1s", "preset": "vllm"}
    return {
        "name": "scrape-cost",
        "target": target,
        "users": [{"name": "chat", "tasks": [{"chat": {"category": "simple"}}]}],
        "load": {"users": users, "duration": duration, "ramp_up": "1s", "graceful_stop": "30s"},
        "seed": 1,
    }


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def one(url: str, users: int, duration: str, scrape: bool) -> tuple[float, int, int]:
    """CPU seconds per wall second of the run, requests, scrapes."""
    data = profile(url, users, duration, scrape)
    start_cpu, start = cpu(), time.monotonic()
    result = await loadgen.run(profile_from_dict(data))
    wall = time.monotonic() - start
    scrapes = int((result.data.get("server") or {}).get("scrapes", 0))
    return (cpu() - start_cpu) / wall, result.requests, scrapes


async def direct(url: str) -> tuple[float, float]:
    """CPU ms of one scrape's own work: the GET (httpx) and the parse of the vLLM preset's
    series, best of 20, on the target's page after some traffic."""
    import httpx

    from loadgen.core.promtext import parse
    from loadgen.core.serverpresets import PRESETS

    keep = [n for s in PRESETS["vllm"] for n in s.names()]
    async with httpx.AsyncClient() as client:
        get, parsed = 1e9, 1e9
        for _ in range(20):
            a = cpu()
            text = (await client.get(f"{url}/metrics")).text
            b = cpu()
            parse(text, 1.0, keep)
            c = cpu()
            get, parsed = min(get, b - a), min(parsed, c - b)
    return get * 1000, parsed * 1000


async def main(users: int, duration: str, repeat: int) -> None:
    async with BuiltinTarget(TargetConfig.from_mapping(TARGET)) as target:
        plain, scraped = [], []
        for r in range(repeat):
            # Interleaved, and in alternating order: runs share this process, and a later run
            # pays for the heap the earlier ones left (a fixed order biased the difference).
            order = (False, True) if r % 2 == 0 else (True, False)
            got = {}
            for scrape in order:
                got[scrape] = await one(target.url, users, duration, scrape=scrape)
            (base, requests, _), (with_scrape, requests2, scrapes) = got[False], got[True]
            plain.append(base)
            scraped.append(with_scrape)
            print(
                f"without: {base:.3f} CPU s/s ({requests} requests); "
                f"with: {with_scrape:.3f} CPU s/s ({requests2} requests, {scrapes} scrapes)"
            )
        get, parsed = await direct(target.url)
    a, b = statistics.median(plain), statistics.median(scraped)
    print(f"scraping every 1 s at {users} streams: {(b - a) / a * 100:+.2f} % of generator CPU")
    print(
        f"one scrape's own CPU: GET {get:.2f} ms + parse {parsed:.2f} ms = "
        f"{(get + parsed) / 10 / a:.2f} % of the generator's CPU per second at one scrape a second"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--duration", default="30s")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.users, args.duration, args.repeat))
