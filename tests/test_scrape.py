"""Scraping the built-in target's /metrics during real runs: numbers checked against its
truth log; a scrape that fails is counted, never fatal; profile mistakes are named."""

from __future__ import annotations

import asyncio
import copy
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


@pytest.fixture(scope="module")
def saturated(tmp_path_factory):
    """One run of 6 users on 2 slots for 3 s, scraped every 500 ms, with its truth log."""
    tmp_path = tmp_path_factory.mktemp("saturated")
    data = chat_profile(users=6, duration="3s", builtin=SATURATED)
    data["target"]["metrics"] = {"url": "builtin", "interval": "500ms"}
    truth_path = tmp_path / "truth.jsonl"
    result = run_async(loadgen.run(profile_from_dict(data), out=tmp_path / "out", truth=truth_path))
    return result, truth_path, tmp_path


def test_scraped_counters_add_up_to_the_truth_and_the_queue_shows_saturation(saturated):
    """6 users on 2 slots for 3 s, scraped every 500 ms: the prompt and generated tokens and
    the requests the scrapes counted equal the truth log's totals, both over the whole run and
    added up over the intervals; waiting requests reach 4 (6 users, 2 slots) and KV-cache usage
    is 1.0 (every slot busy); the server's TTFT histogram counted every request."""
    result, truth_path, tmp_path = saturated
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


def test_segments_of_one_run_scrape_the_server_once_and_merge_into_one_view(tmp_path):
    """Two segments against one target: segment 1 alone scrapes it (segment 2 has no server
    section), and the merged result keeps its view: its scrapes, its whole-run numbers, one
    part per second; the merged document is still valid against the schema. A split run
    over processes is tests/test_scrape_split.py."""
    from loadgen import Engine
    from loadgen.core.merge import merge_results
    from loadgen.target import BuiltinTarget, TargetConfig

    async def both() -> list:
        async with BuiltinTarget(TargetConfig.from_mapping(SATURATED)) as target:
            data = chat_profile(target.url, users=4, duration="2s")
            data["target"]["metrics"] = {"url": f"{target.url}/metrics", "interval": "500ms"}
            profile = profile_from_dict(data)

            async def one(i: int):
                async with Engine(profile, segment=(i, 2)) as engine:
                    return await engine.run()

            return await asyncio.gather(one(1), one(2))

    first, second = [r.data for r in run_async(both())]
    assert "server" not in second
    merged = merge_results([first, second])
    server = merged["server"]
    assert server["scrapes"] == first["server"]["scrapes"] >= 4
    assert server["failures"] == 0
    assert server["run"] == first["server"]["run"]
    windows = [i["server"] for i in merged["intervals"] if "server" in i]
    assert windows
    assert max(w["parts"] for w in windows) == 1
    schema = json.loads((Path(__file__).parents[1] / "docs" / "result.schema.json").read_text())
    jsonschema.validate(json.loads(json.dumps(merged)), schema)


def test_a_breakpoint_step_that_broke_is_annotated_with_the_queue_and_kv_cache(tmp_path):
    """2 slots, steps of 2 and 4 users: at 2 users nothing waits; at 4 the other 2 queue,
    TTFT p95 passes 150 ms and the step breaks. The report's step rows show the server's
    queue and KV cache, and the console and the summary say "waiting requests 0 → 2"."""
    from loadgen.report.serverview import step_state

    data = chat_profile(
        builtin={
            "timing": {"ttft": "100ms", "itl": "10ms", "output_tokens": 10},
            "capacity": {"slots": 2, "contention": 0},
        }
    )
    del data["load"]["users"], data["load"]["duration"]
    data["target"]["metrics"] = {"url": "builtin", "interval": "250ms"}
    data["slo"] = {"ttft_p95": "150ms"}
    data["breakpoint"] = {"start": 2, "step": 2, "step_duration": "2s", "warmup": "500ms", "max": 4}
    result = run_async(loadgen.run(profile_from_dict(data), out=tmp_path), timeout=120)
    steps = result.data["breakpoint"]["steps"]
    assert [s["verdict"] for s in steps] == ["ok", "broken"]
    ok, broken = (step_state(result.data["intervals"], s) for s in steps)
    assert ok is not None
    assert broken is not None
    assert ok["waiting_max"] == 0
    assert broken["waiting_max"] == 2
    assert round(broken["waiting"]) == 2
    assert broken["kv_cache_max"] == 1.0
    text = summary(result.data)
    assert "the server then: waiting requests 0 → 2, KV cache 100 %" in text
    html = render_all(result, tmp_path / "html", ["html"])[0].read_text()
    assert "; server: waiting requests 0 → 2, KV cache 100 %" in html
    assert '<th class="">server</th>' in html
    assert "waiting 0.0 (max 0)" in html


def test_compare_covers_the_server_series(saturated):
    """Against a copy whose server TTFT doubled and queue grew, compare's "server" rows flag
    the TTFT p50 as a regression, show the waiting requests unjudged, and say so when only
    one side scraped."""
    from loadgen.report.compare import compare, text

    result = saturated[0]
    base = result.data
    new = copy.deepcopy(base)
    run = new["server"]["run"]
    run["histograms"]["ttft"]["p50"] *= 2
    run["gauges"]["waiting"]["mean"] += 10
    c = compare(base, new)
    server = {d.metric: d for d in c.diffs if d.scope == "server"}
    assert server["ttft.p50"].verdict == "regression"
    assert server["ttft.p50"].new == 2 * server["ttft.p50"].base
    assert server["waiting.mean"].verdict == "not judged"
    assert server["waiting.mean"].new == server["waiting.mean"].base + 10
    assert server["prompt_tps"].verdict == "same"
    assert "server   waiting.mean" in text(c)
    del new["server"]
    assert "server metrics: only in the base result" in compare(base, new).notes


def test_the_quick_path_scrape_flag_becomes_target_metrics(capsys, tmp_path):
    """``--scrape URL`` (twice) in the printed quick profile is target.metrics.urls, and on a
    profile run it overrides the profile's section the same way (the profile loads)."""
    import yaml

    from loadgen.cli import main
    from loadgen.cli.quick import scrape_sets

    argv = ["run", "--url", "builtin", "--users", "1", "--print-profile"]
    argv += ["--scrape", "http://a:8000/metrics", "--scrape", "builtin"]
    assert main(argv) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["target"]["metrics"] == {"urls": ["http://a:8000/metrics", "builtin"]}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(chat_profile()))
    profile = loadgen.load_profile(path, sets=scrape_sets(["http://b:9000/metrics"]))
    assert profile.target.metrics is not None
    assert profile.target.metrics.urls == ("http://b:9000/metrics",)
    assert profile.target.metrics.interval == 1.0


def test_a_journal_rebuilt_run_still_draws_the_server_windows(saturated, tmp_path):
    """A run killed before its result.json keeps each second's server window in the journal:
    the rebuilt result's report draws them (without the whole-run section it never wrote)."""
    from loadgen.core.journal import read_journal
    from loadgen.core.result import Result

    result, _, run_dir = saturated
    rebuilt = read_journal(run_dir / "out" / "result.jsonl")
    assert "server" not in rebuilt
    kept = [i["server"] for i in rebuilt["intervals"] if "server" in i]
    assert kept == [i["server"] for i in result.data["intervals"] if "server" in i]
    html = render_all(Result(rebuilt), tmp_path, ["html"])[0].read_text()
    scrapes = result.data["server"]["scrapes"]
    assert f"{scrapes} scrapes, 0 failed (from the journal)" in html
    assert "Server: requests running and waiting" in html


def test_validate_says_what_will_be_scraped():
    """``loadgen validate`` lists the pages, the interval and the preset (or that it is guessed)."""
    from loadgen.core.describe import describe

    data = chat_profile()
    data["target"]["metrics"] = {"urls": ["http://a/metrics", "http://b/metrics"], "interval": "2s"}
    lines = describe(profile_from_dict(data))
    assert (
        "  scrapes http://a/metrics, http://b/metrics every 2s (preset guessed from the page;"
        in ("\n".join(lines))
    )
    data["target"]["metrics"]["preset"] = "sglang"
    assert any("(preset sglang;" in line for line in describe(profile_from_dict(data)))


def test_the_targets_vllm_page_parses_with_its_types_and_the_fed_values():
    """The built-in target's vLLM page, fed two answers (one queued 50 ms), is valid
    Prometheus text: gauges, counters and histograms of the names vLLM uses, with the tokens
    added up, the TTFT from arrival and the cache usage as slots held / slots."""
    from prometheus_client.parser import text_string_to_metric_families

    from loadgen.target.promexpo import VllmMetrics

    m = VllmMetrics()
    m.finished(arrival=0.0, start=0.0, first=0.2, end=1.0, prompt_tokens=30, tokens=8, ok=True)
    m.finished(arrival=0.0, start=0.05, first=0.3, end=1.2, prompt_tokens=12, tokens=5, ok=True)
    families = {f.name: f for f in text_string_to_metric_families(m.render(3, 2, 4))}
    types = {name: f.type for name, f in families.items()}
    assert types["vllm:num_requests_waiting"] == "gauge"
    assert types["vllm:prompt_tokens"] == "counter"  # the parser drops _total
    assert types["vllm:time_to_first_token_seconds"] == "histogram"

    def value(sample: str) -> float:
        return next(s.value for f in families.values() for s in f.samples if s.name == sample)

    assert value("vllm:num_requests_running") == 3
    assert value("vllm:num_requests_waiting") == 2
    assert value("vllm:gpu_cache_usage_perc") == 0.75
    assert value("vllm:prompt_tokens_total") == 42
    assert value("vllm:generation_tokens_total") == 13
    assert value("vllm:time_to_first_token_seconds_count") == 2
    assert value("vllm:time_to_first_token_seconds_sum") == pytest.approx(0.5)
    assert value("vllm:request_queue_time_seconds_sum") == pytest.approx(0.05)


def test_the_prefix_cache_hit_rate_scraped_is_the_truth_logs(tmp_path):
    """With the target's prefix cache on and one long prompt repeating, the scraped hit rate (vLLM's
    hits / queries counters) is the truth log's cached tokens over the prompt tokens looked up."""
    builtin = {**SATURATED, "capacity": {"slots": 0}, "prefix_cache": {"enabled": True}}
    prompt = "Explain how a load test measures time to first token, and why it matters. " * 6
    data = chat_profile(
        users=4, duration="2s", builtin=builtin, tasks=[{"chat": {"prompt": prompt}}]
    )
    data["target"]["metrics"] = {"url": "builtin"}
    truth_path = tmp_path / "truth.jsonl"
    result = run_async(loadgen.run(profile_from_dict(data), out=tmp_path / "out", truth=truth_path))
    looked_up = [d for d in chat_lines(truth_path) if d["prefix_cache"] is not None]
    hits = sum(d["cached_tokens"] for d in looked_up)
    queries = sum(d["prompt_tokens"] for d in looked_up)
    assert hits > 0
    assert result.data["server"]["run"]["ratios"]["prefix_hit"] == pytest.approx(hits / queries)
