"""Server metrics, pure: every preset's real page read into the series the preset names,
windows of scrapes into rates, gauges and percentiles (no sockets)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loadgen.core.promtext import guess_preset, parse, sample_names
from loadgen.core.serverpresets import PRESETS, Series
from loadgen.core.serverseries import combine, quantile, replica_window, resolve

PAGES = Path(__file__).parent / "server_metrics"


def page(server: str) -> str:
    return (PAGES / f"{server}.txt").read_text()


def zeroed(text: str) -> str:
    """The same page with every sample at 0: a server that has served nothing yet."""
    return "\n".join(
        ln if ln.startswith("#") else re.sub(r" [^ ]+$", " 0", ln) for ln in text.splitlines()
    )


def window_of(server: str, seconds: float = 10.0) -> dict:
    """From a fresh server (all zero) to the fixture page, ``seconds`` later."""
    series = PRESETS[server]
    keep = [n for s in series for n in s.names()]
    before = parse(zeroed(page(server)), 0.0, keep)
    after = parse(page(server), seconds, keep)
    found = resolve(series, after)
    return combine([replica_window(found, before, [after])], found)


# each server's page, in the fixture, shows 12 running, 3 waiting, KV cache 0.42, 5120 prompt
# and 20480 generated tokens, and TTFTs of 10 ≤ 100 ms, 20 in (100, 250], 10 in (250, 500]
EXPECTED = {
    "vllm": {
        "gauges": {"running": 12, "waiting": 3, "kv_cache": 0.42},
        "counts": {"prompt_tps": 5120, "generation_tps": 20480, "requests": 40, "preemptions": 2},
        "ratios": {"prefix_hit": 0.25},
        "hists": {"ttft": (175.0, 180.0), "e2e": (1000.0, 1200.0), "queue": (None, 10.0)},
    },
    "sglang": {
        "gauges": {"running": 12, "waiting": 3, "kv_cache": 0.42, "prefix_hit": 0.25},
        "counts": {"prompt_tps": 5120, "generation_tps": 20480},
        "ratios": {},
        "hists": {"ttft": (175.0, 180.0), "e2e": (1000.0, 1200.0), "queue": (None, 10.0)},
    },
    "tgi": {
        "gauges": {"running": 12, "waiting": 3},
        "counts": {"prompt_tps": 5120, "generation_tps": 20480, "requests": 40},
        "ratios": {},
        "hists": {"e2e": (1000.0, 1200.0), "queue": (None, 10.0)},
    },
    "llamacpp": {
        "gauges": {"running": 12, "waiting": 3, "kv_cache": 0.42},
        "counts": {"prompt_tps": 5120, "generation_tps": 20480},
        "ratios": {},
        "hists": {},
    },
    "triton": {  # two models (the ensemble and its engine) count every request twice
        "gauges": {"running": 12, "waiting": 3, "kv_cache": 0.42},
        "counts": {"requests": 80},
        "ratios": {"queue_mean": 10.0, "e2e_mean": 1200.0},
        "hists": {"ttft": (175.0, 180.0)},
    },
}


@pytest.mark.parametrize("server", sorted(EXPECTED))
def test_each_server_page_is_recognised_by_its_names(server):
    """A page of vLLM, SGLang, TGI, llama.cpp or Triton names is guessed as that preset."""
    assert guess_preset(sample_names(page(server))) == server


@pytest.mark.parametrize("server", sorted(EXPECTED))
def test_each_preset_reads_its_server_page_to_the_expected_series(server):
    """The fixture's values come out under the common keys: gauges as they are, counters as
    their increase (and that over 10 s as the rate), histograms as p50 and mean in ms."""
    want = EXPECTED[server]
    w = window_of(server)
    assert {k: g["last"] for k, g in w["gauges"].items()} == pytest.approx(want["gauges"])
    assert w["counts"] == pytest.approx(want["counts"])
    assert w["rates"] == pytest.approx({k: v / 10 for k, v in want["counts"].items()})
    assert w["ratios"] == pytest.approx(want["ratios"])
    assert set(w["histograms"]) == set(want["hists"])
    for key, (p50, mean) in want["hists"].items():
        h = w["histograms"][key]
        assert h["count"] == 40
        assert h["mean"] == pytest.approx(mean)
        if p50 is not None:
            assert h["p50"] == pytest.approx(p50)


def test_vllm_before_the_rename_reads_gpu_cache_usage_and_the_hit_rate_gauge():
    """Older vLLM pages name KV-cache usage gpu_cache_usage_perc and give the prefix-cache hit
    rate as a gauge: the preset falls back to those names."""
    text = (
        page("vllm")
        .replace("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
        .replace("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hit_rate_x")
    )
    text += "# TYPE vllm:gpu_prefix_cache_hit_rate gauge\nvllm:gpu_prefix_cache_hit_rate 0.5\n"
    found = {s.key: s.metric for s in resolve(PRESETS["vllm"], parse(text, 0.0))}
    assert found["kv_cache"] == "vllm:gpu_cache_usage_perc"
    assert found["prefix_hit"] == "vllm:gpu_prefix_cache_hit_rate"


def test_a_counter_that_went_down_restarted_and_its_new_value_is_the_increase():
    """A server restart resets its counters: the increase is the new value, never negative."""
    s = [Series("prompt_tps", "vllm:prompt_tokens_total", "counter")]
    before = parse("vllm:prompt_tokens_total 900\n", 0.0)
    after = parse("vllm:prompt_tokens_total 50\n", 1.0)
    assert combine([replica_window(s, before, [after])], s)["counts"] == {"prompt_tps": 50}


def test_replicas_add_up_their_queues_and_average_their_kv_cache():
    """Two replicas: waiting requests and token rates add, KV-cache usage is averaged."""
    series = PRESETS["vllm"]
    parts = []
    for waiting, usage, tokens in ((2, 0.2, 100), (6, 0.6, 300)):
        base = parse("vllm:prompt_tokens_total 0\n", 0.0)
        snap = parse(
            f"vllm:num_requests_waiting {waiting}\nvllm:kv_cache_usage_perc {usage}\n"
            f"vllm:prompt_tokens_total {tokens}\n",
            2.0,
        )
        parts.append(replica_window(resolve(series, snap), base, [snap]))
    w = combine(parts, series)
    assert w["gauges"]["waiting"]["last"] == 8
    assert w["gauges"]["kv_cache"]["last"] == pytest.approx(0.4)
    assert w["gauges"]["kv_cache"]["max"] == pytest.approx(0.6)
    assert w["rates"]["prompt_tps"] == pytest.approx(200)


@pytest.mark.parametrize(
    ("q", "buckets", "want"),
    [
        pytest.param(0.5, {1.0: 10, 2.0: 20, float("inf"): 20}, 1.0, id="on a bound"),
        pytest.param(0.75, {1.0: 10, 2.0: 20, float("inf"): 20}, 1.5, id="halfway into a bucket"),
        pytest.param(0.99, {1.0: 10, float("inf"): 20}, 1.0, id="in +Inf: the top finite bound"),
        pytest.param(0.5, {1.0: 0, float("inf"): 0}, None, id="no observations: none"),
    ],
)
def test_quantile_interpolates_inside_a_bucket_as_histogram_quantile_does(q, buckets, want):
    assert quantile(q, buckets) == want


def test_a_page_that_is_not_prometheus_text_is_a_value_error():
    """HTML from a wrong URL is refused with the parser's reason, not a traceback."""
    with pytest.raises(ValueError, match="not Prometheus text"):
        parse("<html><body>login</body></html>\n", 0.0)


def test_only_the_wanted_families_are_parsed():
    """Filtering before the parser keeps the preset's families and drops the rest."""
    snap = parse(page("vllm"), 0.0, ["vllm:num_requests_waiting"])
    assert set(snap.samples) == {"vllm:num_requests_waiting"}
