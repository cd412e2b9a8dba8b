"""Scraping the built-in target's /metrics during real runs: numbers checked against its
truth log; a scrape that fails is counted, never fatal; profile mistakes are named."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import jsonschema
import pytest
from support import chat_profile, run_async

import loadgen
from loadgen import profile_from_dict
from loadgen.core.errors import ProfileError
from loadgen.report import render_all
from loadgen.report.console import summary

SATURATED = {
    "timing": {"ttft": "100ms", "itl": "10ms", "output_tokens": 10},
    "capacity": {"slots": 2},
    "seed": 5,
}


def chat_lines(path: Path) -> list[dict]:
    return [d for d in map(json.loads, path.read_text().splitlines()) if d["route"] != "/metrics"]


def test_scraped_counters_add_up_to_the_truth_and_the_queue_shows_saturation(tmp_path):
    """6 users on 2 slots for 3 s, scraped every 500 ms: the prompt and generated tokens and
    the requests the scrapes counted equal the truth log's totals, both over the whole run and
    added up over the intervals; waiting requests reach 4 (6 users, 2 slots) and KV-cache usage
    is 1.0 (every slot busy); the server's TTFT histogram counted every request."""
    data = chat_profile(users=6, duration="3s", builtin=SATURATED)
    data["target"]["metrics"] = {"url": "builtin", "interval": "500ms"}
    truth_path = tmp_path / "truth.jsonl"
    result = run_async(loadgen.run(profile_from_dict(data), out=tmp_path / "out", truth=truth_path))
    truth = chat_lines(truth_path)
    server = result.data["server"]
    assert server["preset"] == "vllm"
    assert server["failures"] == 0
    assert server["scrapes"] >= 6
    run = server["run"]
    assert run["counts"]["prompt_tps"] == sum(d["prompt_tokens"] for d in truth) > 0
    assert run["counts"]["generation_tps"] == sum(d["completion_tokens"] for d in truth)
    assert run["counts"]["requests"] == len(truth) == result.requests
    windows = [i["server"] for i in result.data["intervals"] if "server" in i]
    assert sum(w.get("counts", {}).get("prompt_tps", 0) for w in windows) == pytest.approx(
        run["counts"]["prompt_tps"]
    )
    assert run["gauges"]["waiting"]["max"] == 4
    assert run["gauges"]["kv_cache"]["max"] == 1.0
    assert run["histograms"]["ttft"]["count"] == len(truth)
    assert sum(w["scrapes"] for w in windows) == server["scrapes"]
    html = render_all(result, tmp_path / "html", ["html"])[0].read_text()
    assert 'id="server"' in html
    assert "Server: requests running and waiting" in html
    assert "TTFT p50: client, server and the difference" in html
    assert f"{result.data['server']['scrapes']} scrapes, 0 failed; waiting requests max 4" in html
    schema = json.loads((Path(__file__).parents[1] / "docs" / "result.schema.json").read_text())
    jsonschema.validate(json.loads((tmp_path / "out" / "result.json").read_text()), schema)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_closed_port_counts_failed_scrapes_and_the_run_still_passes(tmp_path):
    """Every scrape of a closed port fails with a connect error, counted in the intervals and
    the section; the run's requests and verdict are untouched."""
    data = chat_profile(users=2, duration="2s", builtin=SATURATED)
    url = f"http://127.0.0.1:{closed_port()}/metrics"
    data["target"]["metrics"] = {"urls": [url], "preset": "vllm"}
    result = run_async(loadgen.run(profile_from_dict(data), out=tmp_path / "out"))
    server = result.data["server"]
    assert server["scrapes"] == 0
    assert server["failures"] >= 3
    assert server["run"] is None
    assert any("connect" in e and url in e for e in server["errors"])
    assert (
        sum(i.get("server", {}).get("failures", 0) for i in result.data["intervals"])
        == (server["failures"])
    )
    assert result.requests > 0
    assert result.errors == {}
    assert result.exit_code == 0
    text = summary(result.data)  # the console says it, with why
    assert f"server metrics: vllm, 0 scrapes, {server['failures']} failed (last: {url}" in text


@pytest.mark.parametrize(
    ("metrics", "field", "fix"),
    [
        pytest.param({"url": "ftp://x"}, "target.metrics.url", "http://host", id="not http"),
        pytest.param(
            {"url": "builtin", "preset": "vlm"}, "target.metrics.preset", "vllm", id="preset"
        ),
        pytest.param(
            {"urls": "http://a/metrics"}, "target.metrics.urls", "urls: [", id="urls string"
        ),
        pytest.param(
            {"url": "builtin", "intervall": "1s"}, "target.metrics.intervall", "interval", id="typo"
        ),
        pytest.param(
            {"url": "builtin", "interval": "10ms"}, "target.metrics.interval", "100ms", id="short"
        ),
    ],
)
def test_profile_mistakes_in_target_metrics_name_the_field_and_the_fix(
    tmp_path, metrics, field, fix
):
    """Each mistake is a profile error naming file:line, the field and what to write."""
    import yaml

    data = chat_profile()
    data["target"]["metrics"] = metrics
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ProfileError) as info:
        loadgen.load_profile(path)
    text = str(info.value)
    assert f"{path}:" in text
    assert field in text
    assert fix in text
