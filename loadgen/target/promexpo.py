"""vLLM's metric names on the built-in target's ``/metrics``: the truth scrape tests read.

The target imitates what vLLM's server exposes (``vllm:num_requests_running``,
``vllm:num_requests_waiting``, ``vllm:gpu_cache_usage_perc``, the time-to-first-token,
end-to-end and queue-time histograms, the prompt and generation token counters, requests
finished), fed from the same events the truth log records, so a scrape can be checked
against it. ``gpu_cache_usage_perc`` comes from the capacity model: the share of the slots
generations hold (0 when slots are unlimited); with the prefix cache on, the prompt tokens
looked up and those found count as vLLM's ``prefix_cache_queries_total`` and
``prefix_cache_hits_total``; preemptions never happen here. Pure: values in, text out.
"""

from __future__ import annotations

import bisect
from typing import Any

__all__ = ["VllmMetrics"]

# vLLM's own bucket bounds (seconds) for these histograms
_TTFT_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
    0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
)  # fmt: skip
_E2E_BUCKETS = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
    40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
)  # fmt: skip
_MODEL = 'model_name="loadgen-builtin"'


class _Histogram:
    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value

    def lines(self, name: str) -> list[str]:
        out = [f"# TYPE {name} histogram"]
        cumulative = 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            cumulative += n
            le = "+Inf" if bound == float("inf") else repr(bound)
            out.append(f'{name}_bucket{{le="{le}",{_MODEL}}} {cumulative}')
        out.append(f"{name}_count{{{_MODEL}}} {self.count}")
        out.append(f"{name}_sum{{{_MODEL}}} {self.sum!r}")
        return out


class VllmMetrics:
    """Counters and histograms fed by the generations; gauges read at render time."""

    __slots__ = (
        "e2e",
        "generation_tokens",
        "prefix_hits",
        "prefix_queries",
        "prompt_tokens",
        "queue",
        "success",
        "ttft",
    )

    def __init__(self) -> None:
        self.ttft = _Histogram(_TTFT_BUCKETS)
        self.e2e = _Histogram(_E2E_BUCKETS)
        self.queue = _Histogram(_TTFT_BUCKETS)  # finer than vLLM's: a queue is often ~0
        self.prompt_tokens = 0
        self.generation_tokens = 0
        self.success = 0
        self.prefix_queries = 0
        self.prefix_hits = 0

    def finished(
        self,
        *,
        arrival: float,
        start: float,
        first: float | None,
        end: float,
        prompt_tokens: int,
        tokens: int,
        ok: bool,
        llm: dict[str, Any] | None = None,
    ) -> None:
        """One generation ended (its truth line is written at the same moment); ``llm`` is
        its truth line's model-server fields, when it has them."""
        self.prompt_tokens += prompt_tokens
        if llm is not None and llm.get("prefix_cache") is not None:
            self.prefix_queries += prompt_tokens
            self.prefix_hits += int(llm.get("cached_tokens") or 0)
        self.generation_tokens += tokens
        if start:
            self.queue.observe(start - arrival)
        if first is not None:
            self.ttft.observe(first - arrival)
        if ok:
            self.success += 1
            self.e2e.observe(end - arrival)

    def render(self, running: int, waiting: int, slots: int) -> str:
        """The page, Prometheus text format 0.0.4."""
        usage = running / slots if slots > 0 else 0.0
        lines = [
            "# HELP vllm:num_requests_running Number of requests in model execution batches.",
            "# TYPE vllm:num_requests_running gauge",
            f"vllm:num_requests_running{{{_MODEL}}} {running}",
            "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
            "# TYPE vllm:num_requests_waiting gauge",
            f"vllm:num_requests_waiting{{{_MODEL}}} {waiting}",
            "# HELP vllm:gpu_cache_usage_perc KV-cache usage. 1 means 100 percent usage.",
            "# TYPE vllm:gpu_cache_usage_perc gauge",
            f"vllm:gpu_cache_usage_perc{{{_MODEL}}} {usage!r}",
            "# TYPE vllm:num_preemptions_total counter",
            f"vllm:num_preemptions_total{{{_MODEL}}} 0",
            "# TYPE vllm:prompt_tokens_total counter",
            f"vllm:prompt_tokens_total{{{_MODEL}}} {self.prompt_tokens}",
            "# TYPE vllm:generation_tokens_total counter",
            f"vllm:generation_tokens_total{{{_MODEL}}} {self.generation_tokens}",
            "# TYPE vllm:prefix_cache_queries_total counter",
            f"vllm:prefix_cache_queries_total{{{_MODEL}}} {self.prefix_queries}",
            "# TYPE vllm:prefix_cache_hits_total counter",
            f"vllm:prefix_cache_hits_total{{{_MODEL}}} {self.prefix_hits}",
            "# TYPE vllm:request_success_total counter",
            f"vllm:request_success_total{{{_MODEL}}} {self.success}",
            *self.ttft.lines("vllm:time_to_first_token_seconds"),
            *self.e2e.lines("vllm:e2e_request_latency_seconds"),
            *self.queue.lines("vllm:request_queue_time_seconds"),
        ]
        return "\n".join(lines) + "\n"
