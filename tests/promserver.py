"""A real Prometheus for the tests (Debian's ``prometheus``, started on 127.0.0.1 with the
remote write receiver and a 250 ms scrape of two ``--metrics-port`` ports), and the checks
the export's tests share: a counter's final value on both paths, and a p95 from the buckets
within the bucket of the result's own value."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from loadgen.core.hist import Histogram
from loadgen.core.promseries import TIME_BOUNDS

ROOT = Path(__file__).resolve().parents[1]
READY_LIMIT = 30.0  # seconds for Prometheus to start (about 1 s on an idle machine)
QUERY_LIMIT = 20.0  # seconds for a pushed or scraped value to show in a query
WINDOW = "[10m]"  # counters only grow within a run: their max over the window is the final value


def _free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports free on 127.0.0.1 now."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            first = s.getsockname()[1]
        if first + count > 65535:
            continue
        try:
            for port in range(first, first + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return int(first)
    raise RuntimeError("no consecutive free ports")


@dataclass
class Prom:
    url: str
    scrape_port: int  # --metrics-port: this one and the next are scraped every 250 ms

    @property
    def write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    def query(self, promql: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        answer.raise_for_status()
        result: list[dict[str, Any]] = answer.json()["data"]["result"]
        return result

    def settled(self, promql: str, done: Callable[[dict[str, float]], bool]) -> dict[str, float]:
        """The query's values by ``job`` ("" for pushed series), polled until ``done`` holds
        for them or QUERY_LIMIT passes (then the last values, for the assertion to show)."""
        deadline = time.monotonic() + QUERY_LIMIT
        while True:
            values = {r["metric"].get("job", ""): float(r["value"][1]) for r in self.query(promql)}
            if done(values) or time.monotonic() > deadline:
                return values
            time.sleep(0.2)


def _scraping(url: str) -> bool:
    """Ready, with both scrape targets known: Prometheus applies its targets a few seconds
    after it starts, and a run that ends before that would never be scraped."""
    try:
        answer = httpx.get(f"{url}/api/v1/targets", timeout=1)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and len(answer.json()["data"]["activeTargets"]) == 2


@contextlib.contextmanager
def running_prometheus(home: Path, *features: str) -> Iterator[Prom]:
    """Prometheus on 127.0.0.1 (data in ``home``), ready and with its scrape targets applied;
    killed on leaving. Skips the test without the binary, fails it under CI=true.
    ``features``: for ``--enable-feature`` (``native-histograms``)."""
    binary = shutil.which("prometheus")
    if binary is None:
        why = "the prometheus binary is missing: apt-get install prometheus (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    scrape = _free_ports(2)
    web = _free_ports(1)
    while web in (scrape, scrape + 1):
        web = _free_ports(1)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "loadgen",
                "scrape_interval": "250ms",
                "scrape_timeout": "250ms",
                "static_configs": [{"targets": [f"127.0.0.1:{scrape + i}" for i in (0, 1)]}],
            }
        ],
    }
    (home / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    argv = [
        binary,
        f"--config.file={home / 'prometheus.yml'}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{web}",
        "--web.enable-remote-write-receiver",
        *(f"--enable-feature={feature}" for feature in features),
    ]
    log = (home / "prometheus.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{web}"
    try:
        deadline = time.monotonic() + READY_LIMIT
        while True:
            assert proc.poll() is None, (home / "prometheus.log").read_text()[-2000:]
            if _scraping(url):
                break
            assert time.monotonic() < deadline, "prometheus did not get ready"
            time.sleep(0.1)
        yield Prom(url, scrape)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()


def bucket(value_ms: float) -> tuple[float, float]:
    """The (lower, upper) edges in seconds of the exported bucket holding ``value_ms``."""
    k = next(i for i, b in enumerate(TIME_BOUNDS) if b >= value_ms / 1000)
    return (TIME_BOUNDS[k - 1] if k else 0.0), TIME_BOUNDS[k]


def at_prometheus_rank(summary: dict[str, Any], q: float) -> float:
    """The result's value (ms) at the rank histogram_quantile aims at, ⌈q·n⌉ (HDR's own p95
    is rank round(q·n): on a sparse tail one sample apart can be several buckets apart)."""
    hist = Histogram.decode(summary["hdr"])
    n = hist.count
    rank = math.ceil(q * n - 1e-9)
    return hist.percentiles_ms([100 * rank / n])[100 * rank / n]


def counts_match(prom: Prom, series: str, selector: str, expected: float) -> None:
    """Both paths, pushed (no job) and scraped (job="loadgen"), end at ``expected``."""
    promql = f"sum by (job) (max_over_time({series}{{{selector}}}{WINDOW}))"
    values = prom.settled(promql, lambda v: v.get("") == v.get("loadgen") == expected)
    assert values == {"": expected, "loadgen": expected}, promql


def p95_within_a_bucket(prom: Prom, metric: str, run_id: str, summary: dict[str, Any]) -> None:
    """histogram_quantile(0.95) over the summed buckets, on both paths, lies in the bucket
    that holds the result's own value at that rank (to HDR's 0.1 %)."""
    promql = (
        f"histogram_quantile(0.95, sum by (le, job) (max_over_time("
        f'loadgen_{metric}_seconds_bucket{{scope="overall",run_id="{run_id}"}}{WINDOW})))'
    )
    values = prom.settled(promql, lambda v: len(v) == 2)
    assert set(values) == {"", "loadgen"}
    truth = at_prometheus_rank(summary, 0.95)
    # HDR reports the top of the value's 0.1 %-wide bucket, and the export counts that HDR
    # bucket at a bound its lowest value reaches: a value just above a bound (a 10 ms ttft
    # measured as 10.004 ms) is counted in the bucket below it.
    lower, upper = bucket(truth / 1.001)[0], bucket(truth)[1]
    for job, estimate in values.items():
        assert lower * 0.999 <= estimate <= upper * 1.001, (job, estimate, truth, summary["p95"])
