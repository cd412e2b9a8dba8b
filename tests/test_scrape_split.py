"""Scraping in a split run (``--processes 2 --scrape builtin``): the server is scraped once
per interval, by part 1 only, and its series reach the merged result and report — checked
against the built-in target's truth log, which records every GET /metrics it answered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from support import chat_profile

ROOT = Path(__file__).resolve().parents[1]
SATURATED = {
    "timing": {"ttft": "100ms", "itl": "10ms", "output_tokens": 10},
    "capacity": {"slots": 2},
    "seed": 5,
}


@pytest.mark.slow
def test_two_processes_scrape_the_server_once_and_merge_its_series(tmp_path: Path) -> None:
    """6 users (3 per part) on 2 slots for 3 s: the target answered as many /metrics GETs as
    the merged result counts scrapes (one scraper, not two), part 2 has no server section,
    the server's request, token and TTFT counts are the truth log's over both parts, the
    queue shows the saturation both parts made, and the merged HTML draws the server."""
    data = chat_profile(users=6, duration="3s", builtin=SATURATED)
    data["report"] = {"formats": ["json", "html"]}
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    out, truth_path = tmp_path / "out", tmp_path / "truth.jsonl"
    argv = [sys.executable, "-m", "loadgen", "run", str(path), "--quiet", "--processes", "2"]
    argv += ["--scrape", "builtin", "--out", str(out), "--truth", str(truth_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in truth_path.read_text(encoding="utf-8").splitlines()]
    scraped = [d for d in lines if d["route"] == "/metrics"]
    chats = [d for d in lines if d["route"] != "/metrics"]
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    server = result["server"]
    assert server["preset"] == "vllm"
    assert server["failures"] == 0
    assert server["scrapes"] == len(scraped) >= 4  # 3 s at 1 s, and the last scrape
    part1, part2 = (json.loads((out / f"part-{i}" / "result.json").read_text()) for i in (1, 2))
    assert part1["server"]["scrapes"] == server["scrapes"]
    assert "server" not in part2
    assert part2["scopes"]["overall"]["requests"] > 0  # part 2 did send: its load is counted
    run = server["run"]
    requests = result["scopes"]["overall"]["requests"]
    assert run["counts"]["requests"] == len(chats) == requests
    assert run["counts"]["generation_tps"] == sum(d["completion_tokens"] for d in chats)
    assert run["histograms"]["ttft"]["count"] == len(chats)
    assert run["gauges"]["waiting"]["max"] == 4  # 6 users of both parts on 2 slots
    windows = [i["server"] for i in result["intervals"] if "server" in i]
    assert windows
    assert {w["parts"] for w in windows} == {1}
    assert sum(w["scrapes"] for w in windows) == server["scrapes"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Server: requests running and waiting" in html
    schema = json.loads((ROOT / "docs" / "result.schema.json").read_text())
    jsonschema.validate(result, schema)
