"""Live export to a real Prometheus (Debian's ``prometheus``, started here on 127.0.0.1):
after a run, PromQL over its HTTP API gives the result's request and error counts, per scope
and per part, and a p95 from the exported buckets within the bucket of the result's own
value at the rank histogram_quantile uses —
by remote write (``--out prometheus=URL``) and by scraping ``--metrics-port``, for one
process and for ``--processes 2``.

Without the ``prometheus`` binary these tests skip, except under ``CI=true`` (where
``.ci/run`` installs it), where a missing binary is a failure.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
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

pytestmark = pytest.mark.slow


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


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prom]:
    binary = shutil.which("prometheus")
    if binary is None:
        why = "the prometheus binary is missing: apt-get install prometheus (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    home = tmp_path_factory.mktemp("prometheus")
    web, scrape = _free_ports(1), _free_ports(2)
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


def _profile(tmp_path: Path) -> Path:
    """Two request names (a chat and /health), one user class; 500s and broken streams."""
    data = {
        "name": "promtest",
        "target": {
            "base_url": "builtin",
            "timeout": "20s",
            "builtin": {
                "timing": {"ttft": "30ms", "itl": "2ms", "output_tokens": 6},
                "capacity": {"slots": 0},
                "faults": {"http_500": 0.15, "drop_mid_stream": 0.1},
                "seed": 3,
            },
        },
        "users": [
            {
                "name": "regular",
                "think_time": "40ms",
                "tasks": [
                    {"weight": 3, "chat": {"category": "simple"}},
                    {"weight": 1, "name": "health", "http": {"path": "/health"}},
                ],
            }
        ],
        "load": {"users": 4, "duration": "2s", "graceful_stop": "5s"},
        "seed": 7,
        "report": {"formats": ["json"]},
    }
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _run(prom: Prom, tmp_path: Path, run_id: str, *more: str) -> dict[str, Any]:
    out = tmp_path / run_id
    argv = [sys.executable, "-m", "loadgen", "run", str(_profile(tmp_path)), "--quiet"]
    argv += ["--out", str(out), "--out", f"prometheus={prom.write_url}"]
    argv += ["--metrics-port", str(prom.scrape_port), *more]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=90, env=env, check=False)
    assert done.returncode in (0, 1), done.stderr
    assert "warning" not in done.stderr, done.stderr  # every push went through
    data: dict[str, Any] = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return data


def _bucket(value_ms: float) -> tuple[float, float]:
    """The (lower, upper) edges in seconds of the exported bucket holding ``value_ms``."""
    k = next(i for i, b in enumerate(TIME_BOUNDS) if b >= value_ms / 1000)
    return (TIME_BOUNDS[k - 1] if k else 0.0), TIME_BOUNDS[k]


def _at_prometheus_rank(summary: dict[str, Any], q: float) -> float:
    """The result's value (ms) at the rank histogram_quantile aims at, ⌈q·n⌉ (HDR's own p95
    is rank round(q·n): on a sparse tail one sample apart can be several buckets apart)."""
    hist = Histogram.decode(summary["hdr"])
    n = hist.count
    rank = math.ceil(q * n - 1e-9)
    return hist.percentiles_ms([100 * rank / n])[100 * rank / n]


def _counts_match(prom: Prom, series: str, selector: str, expected: float) -> None:
    """Both paths, pushed (no job) and scraped (job="loadgen"), end at ``expected``."""
    promql = f"sum by (job) (max_over_time({series}{{{selector}}}{WINDOW}))"
    values = prom.settled(promql, lambda v: v.get("") == v.get("loadgen") == expected)
    assert values == {"": expected, "loadgen": expected}, promql


def _p95_within_a_bucket(prom: Prom, metric: str, run_id: str, summary: dict[str, Any]) -> None:
    """histogram_quantile(0.95) over the summed buckets, on both paths, lies in the bucket
    that holds the result's own value at that rank (exact to HDR's 0.1 %)."""
    promql = (
        f"histogram_quantile(0.95, sum by (le, job) (max_over_time("
        f'loadgen_{metric}_seconds_bucket{{scope="overall",run_id="{run_id}"}}{WINDOW})))'
    )
    values = prom.settled(promql, lambda v: len(v) == 2)
    assert set(values) == {"", "loadgen"}
    truth = _at_prometheus_rank(summary, 0.95)
    lower, upper = _bucket(truth)
    for job, estimate in values.items():
        assert lower * 0.999 <= estimate <= upper * 1.001, (job, estimate, truth, summary["p95"])


def test_one_process_pushed_and_scraped_equal_the_result(prom, tmp_path):
    """Requests overall and per name, errors by kind, and ttft/e2e p95 from the buckets."""
    data = _run(prom, tmp_path, "single")
    scopes = data["scopes"]
    overall = scopes["overall"]
    assert overall["requests"] > 20
    assert overall["errors_by_kind"]  # faults were injected
    sel = 'run_id="single",scope='
    _counts_match(prom, "loadgen_requests_total", sel + '"overall"', overall["requests"])
    assert len(scopes["by_name"]) == 2
    for name, scope in scopes["by_name"].items():
        where = f'{sel}"name",name="{name}"'
        _counts_match(prom, "loadgen_requests_total", where, scope["requests"])
    for kind, count in overall["errors_by_kind"].items():
        _counts_match(prom, "loadgen_errors_total", f'{sel}"overall",kind="{kind}"', count)
    ttft_count = overall["metrics"]["ttft"]["count"]
    _counts_match(prom, "loadgen_ttft_seconds_count", sel + '"overall"', ttft_count)
    for metric in ("ttft", "e2e"):
        _p95_within_a_bucket(prom, metric, "single", overall["metrics"][metric])
    _dashboard_queries_run(prom, "single")


def _dashboard_queries_run(prom: Prom, run_id: str) -> None:
    """Every query of docs/grafana-dashboard.json is PromQL this Prometheus accepts, and the
    TTFT panel draws the run (its pushed series, over the last minute)."""
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$run_id", run_id).replace("$__rate_interval", "1m")
            answer = prom.query(expr)  # a syntax error is an HTTP 400: raise_for_status
            if panel["title"] == "TTFT percentiles":
                assert answer, expr


def test_two_processes_each_part_labelled_and_summed(prom, tmp_path):
    """--processes 2: each part's series carry its segment and equal its part result; their
    sum and the p95 over the summed buckets are the merged result's."""
    data = _run(prom, tmp_path, "twoparts", "--processes", "2")
    overall = data["scopes"]["overall"]
    sel = 'run_id="twoparts",scope="overall"'
    for i in (1, 2):
        part = json.loads((tmp_path / "twoparts" / f"part-{i}" / "result.json").read_text())
        requests = part["scopes"]["overall"]["requests"]
        _counts_match(prom, "loadgen_requests_total", f'{sel},segment="{i}/2"', requests)
    _counts_match(prom, "loadgen_requests_total", sel, overall["requests"])
    for metric in ("ttft", "e2e"):
        _p95_within_a_bucket(prom, metric, "twoparts", overall["metrics"][metric])
