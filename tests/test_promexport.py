"""Live export to a real Prometheus (Debian's ``prometheus``, started here on 127.0.0.1):
after a run, PromQL over its HTTP API gives the result's request and error counts, per scope
and per part, and a p95 from the exported buckets within the bucket of the result's own
value at the rank histogram_quantile uses — by remote write (``--out prometheus=URL``) and
by scraping ``--metrics-port``, for one process and for ``--processes 2`` (``--ray``: in
tests/test_distributed_ray.py).

Without the ``prometheus`` binary these tests skip, except under ``CI=true`` (where
``.ci/run`` installs it), where a missing binary is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from promserver import ROOT, Prom, counts_match, p95_within_a_bucket, running_prometheus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prom]:
    with running_prometheus(tmp_path_factory.mktemp("prometheus")) as running:
        yield running


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


def test_one_process_pushed_and_scraped_equal_the_result(prom, tmp_path):
    """Requests overall and per name, errors by kind, and ttft/e2e p95 from the buckets."""
    data = _run(prom, tmp_path, "single")
    scopes = data["scopes"]
    overall = scopes["overall"]
    assert overall["requests"] > 20
    assert overall["errors_by_kind"]  # faults were injected
    sel = 'run_id="single",scope='
    counts_match(prom, "loadgen_requests_total", sel + '"overall"', overall["requests"])
    assert len(scopes["by_name"]) == 2
    for name, scope in scopes["by_name"].items():
        where = f'{sel}"name",name="{name}"'
        counts_match(prom, "loadgen_requests_total", where, scope["requests"])
    for kind, count in overall["errors_by_kind"].items():
        counts_match(prom, "loadgen_errors_total", f'{sel}"overall",kind="{kind}"', count)
    ttft_count = overall["metrics"]["ttft"]["count"]
    counts_match(prom, "loadgen_ttft_seconds_count", sel + '"overall"', ttft_count)
    for metric in ("ttft", "e2e"):
        p95_within_a_bucket(prom, metric, "single", overall["metrics"][metric])
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
        counts_match(prom, "loadgen_requests_total", f'{sel},segment="{i}/2"', requests)
    counts_match(prom, "loadgen_requests_total", sel, overall["requests"])
    for metric in ("ttft", "e2e"):
        p95_within_a_bucket(prom, metric, "twoparts", overall["metrics"][metric])
