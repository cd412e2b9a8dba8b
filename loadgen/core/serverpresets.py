"""The series that matter on each model server, by their real names: the scrape presets.

Every preset maps a server's own metric names to a few common keys (``running``,
``waiting``, ``kv_cache``, ``ttft`` …), so the report, ``compare`` and the breakpoint notes
read one vocabulary whatever the server. A key may be listed twice: the first entry whose
metric the server exposes wins (vLLM renamed ``gpu_cache_usage_perc`` to
``kv_cache_usage_perc``; its prefix-cache hit rate became two counters). Names are taken
from each server's documentation (docs/server-metrics.md lists them with their sources).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["KEY_LABELS", "PRESETS", "Kind", "Series", "extra_series"]

Kind = Literal["gauge", "counter", "histogram", "ratio"]


@dataclass(frozen=True, slots=True)
class Series:
    """One series to read: ``kind`` says how an interval sees it.

    gauge: last, mean and max of the scrapes; counter: increase and rate per second;
    histogram: percentiles of the bucket increase (times in ms); ratio: the increase of
    ``metric`` over the increase of ``per`` (× ``scale``)."""

    key: str
    metric: str  # a gauge's or counter's sample name; a histogram's family name
    kind: Kind
    unit: str = ""  # histograms: "s", "ms" or "us" (read as ms); else what the value is
    labels: tuple[tuple[str, str], ...] = ()
    per: str = ""  # ratio: the denominator counter
    scale: float = 1.0
    across: Literal["sum", "mean"] = "sum"  # several replicas: add up, or average

    def names(self) -> tuple[str, ...]:
        """The sample and family names this series needs from a page."""
        return (self.metric, self.per) if self.per else (self.metric,)


KEY_LABELS = {
    "running": "running requests",
    "waiting": "waiting requests",
    "kv_cache": "KV-cache usage",
    "prefix_hit": "prefix-cache hit rate",
    "ttft": "server TTFT",
    "e2e": "server e2e latency",
    "queue": "server queue time",
    "queue_mean": "server queue time (mean)",
    "e2e_mean": "server e2e latency (mean)",
    "prompt_tps": "prompt tokens/s",
    "generation_tps": "generation tokens/s",
    "requests": "requests completed/s",
    "preemptions": "preemptions/s",
}

_S = Series
_MEAN: Literal["mean"] = "mean"

PRESETS: dict[str, tuple[Series, ...]] = {
    "vllm": (
        _S("running", "vllm:num_requests_running", "gauge"),
        _S("waiting", "vllm:num_requests_waiting", "gauge"),
        _S("kv_cache", "vllm:kv_cache_usage_perc", "gauge", "ratio", across=_MEAN),
        _S("kv_cache", "vllm:gpu_cache_usage_perc", "gauge", "ratio", across=_MEAN),
        _S(
            "prefix_hit",
            "vllm:prefix_cache_hits_total",
            "ratio",
            "ratio",
            per="vllm:prefix_cache_queries_total",
        ),
        _S("prefix_hit", "vllm:gpu_prefix_cache_hit_rate", "gauge", "ratio", across=_MEAN),
        _S("ttft", "vllm:time_to_first_token_seconds", "histogram", "s"),
        _S("e2e", "vllm:e2e_request_latency_seconds", "histogram", "s"),
        _S("queue", "vllm:request_queue_time_seconds", "histogram", "s"),
        _S("prompt_tps", "vllm:prompt_tokens_total", "counter", "tokens"),
        _S("generation_tps", "vllm:generation_tokens_total", "counter", "tokens"),
        _S("requests", "vllm:request_success_total", "counter", "requests"),
        _S("preemptions", "vllm:num_preemptions_total", "counter", "preemptions"),
    ),
    "sglang": (
        _S("running", "sglang:num_running_reqs", "gauge"),
        _S("waiting", "sglang:num_queue_reqs", "gauge"),
        _S("kv_cache", "sglang:token_usage", "gauge", "ratio", across=_MEAN),
        _S("prefix_hit", "sglang:cache_hit_rate", "gauge", "ratio", across=_MEAN),
        _S("ttft", "sglang:time_to_first_token_seconds", "histogram", "s"),
        _S("e2e", "sglang:e2e_request_latency_seconds", "histogram", "s"),
        _S("queue", "sglang:queue_time_seconds", "histogram", "s"),
        _S("prompt_tps", "sglang:prompt_tokens_total", "counter", "tokens"),
        _S("generation_tps", "sglang:generation_tokens_total", "counter", "tokens"),
    ),
    "tgi": (
        _S("running", "tgi_batch_current_size", "gauge"),
        _S("waiting", "tgi_queue_size", "gauge"),
        _S("e2e", "tgi_request_duration", "histogram", "s"),
        _S("queue", "tgi_request_queue_duration", "histogram", "s"),
        # per-request token histograms: their _sum is the tokens counter
        _S("prompt_tps", "tgi_request_input_length_sum", "counter", "tokens"),
        _S("generation_tps", "tgi_request_generated_tokens_sum", "counter", "tokens"),
        _S("requests", "tgi_request_success", "counter", "requests"),
    ),
    "llamacpp": (
        _S("running", "llamacpp:requests_processing", "gauge"),
        _S("waiting", "llamacpp:requests_deferred", "gauge"),
        _S("kv_cache", "llamacpp:kv_cache_usage_ratio", "gauge", "ratio", across=_MEAN),
        _S("prompt_tps", "llamacpp:prompt_tokens_total", "counter", "tokens"),
        _S("generation_tps", "llamacpp:tokens_predicted_total", "counter", "tokens"),
    ),
    "triton": (
        _S(
            "running",
            "nv_trt_llm_request_metrics",
            "gauge",
            labels=(("request_type", "scheduled"),),
        ),
        _S("waiting", "nv_trt_llm_request_metrics", "gauge", labels=(("request_type", "waiting"),)),
        _S("waiting", "nv_inference_pending_request_count", "gauge"),
        _S(
            "kv_cache",
            "nv_trt_llm_kv_cache_block_metrics",
            "gauge",
            "ratio",
            labels=(("kv_cache_block_type", "fraction"),),
            across=_MEAN,
        ),
        _S("ttft", "nv_inference_first_response_histogram_ms", "histogram", "ms"),
        # Triton's core durations are cumulative microsecond counters: mean per request
        _S(
            "queue_mean",
            "nv_inference_queue_duration_us",
            "ratio",
            "ms",
            per="nv_inference_request_success",
            scale=0.001,
        ),
        _S(
            "e2e_mean",
            "nv_inference_request_duration_us",
            "ratio",
            "ms",
            per="nv_inference_request_success",
            scale=0.001,
        ),
        _S("requests", "nv_inference_request_success", "counter", "requests"),
    ),
    "generic": (),
}


def extra_series(name: str, family_type: str | None) -> Series:
    """A ``series:`` name the profile adds: read as its page declares it (untyped: a gauge)."""
    if family_type == "histogram":
        unit = "s" if name.endswith("_seconds") else "ms" if name.endswith("_ms") else ""
        return Series(name, name, "histogram", unit)
    if family_type == "counter" or name.endswith("_total"):
        return Series(name, name, "counter")  # read as ``name`` or ``name_total``
    return Series(name, name, "gauge")
