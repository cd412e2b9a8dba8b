"""The quick path: ``loadgen run --url URL --users N --duration D`` with no profile file.

The options become an ordinary profile (YAML text), so the run is the same engine, the same
result and the same reports as a profile's, and ``--print-profile`` shows a user the file to
save and grow. ``${VAR}`` stays in the text for ``--api-key-env``: the key is read from the
environment when the profile is loaded, never written into the profile or the result.

Front layer: the CLI calls it; ``models`` is the one function here that does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["QuickOptions", "choose_model", "flag_sets", "models", "profile_text", "scrape_sets"]

APIS = ("openai", "completions", "responses", "embeddings", "sse", "ws")
#: The APIs of a model server: they take the model, the lengths, params and a dataset.
MODEL_APIS = APIS[:4]
SAMPLES = ("shuffle", "sequential", "random")
DEFAULT_PROMPT = "Explain in three sentences what a load test measures."


@dataclass(frozen=True, kw_only=True, slots=True)
class QuickOptions:
    url: str
    model: str | None = None
    api: str = "openai"
    prompt: str | None = None
    max_tokens: int | None = None
    headers: Sequence[tuple[str, str]] = field(default_factory=tuple)
    input_tokens: str | None = None  # "512" or "512:64" (mean:stdev)
    output_tokens: str | None = None
    params: Sequence[tuple[str, Any]] = field(default_factory=tuple)
    system: str | None = None
    dataset: str | None = None  # a prompt file (JSONL, CSV, ShareGPT JSON)
    dataset_sample: str | None = None  # shuffle | sequential | random
    api_key_env: str | None = None
    scrape: Sequence[str] = field(default_factory=tuple)  # --scrape: /metrics URLs
    trace: str | None = None  # --trace: replay this file's requests at their timestamps
    trace_format: str | None = None
    time_scale: float | None = None
    users: int | None = None
    rate: str | None = None
    duration: str = "30s"
    timeout: str = "60s"


def _workload(opts: QuickOptions) -> dict[str, Any]:
    """The model-server keys of the chat task, from --input-tokens, --output-tokens,
    --system and --param."""
    out: dict[str, Any] = {}
    for key, text in (("input_tokens", opts.input_tokens), ("output_tokens", opts.output_tokens)):
        if text is not None:
            out[key] = int(text) if text.isdigit() else text
    if opts.system is not None:
        out["system"] = opts.system
    if opts.params:
        out["params"] = dict(opts.params)
    if opts.dataset is not None:
        # Absolute: the profile is saved (and read) in the run's output folder.
        dataset: dict[str, Any] = {"path": str(Path(opts.dataset).resolve())}
        if opts.dataset_sample is not None:
            dataset["sample"] = opts.dataset_sample
        out["dataset"] = dataset
    return out


def _replay(opts: QuickOptions) -> dict[str, Any]:
    """``--trace FILE [--trace-format F] [--time-scale X]``: the replay load (docs/replay.md)."""
    assert opts.trace is not None
    # Absolute: the profile is saved (and read) in the run's output folder.
    load: dict[str, Any] = {"model": "replay", "trace": str(Path(opts.trace).resolve())}
    if opts.trace_format is not None:
        load["format"] = opts.trace_format
    if opts.time_scale is not None:
        load["time_scale"] = opts.time_scale
    return load


def scrape_sets(urls: Sequence[str]) -> list[str]:
    """``--scrape URL…`` on a profile run: the ``--set`` that scrapes those pages instead."""
    return [f"target.metrics.urls={json.dumps(list(urls))}"] if urls else []


def flag_sets(args: Any) -> list[str]:
    """The ``--set`` values a run's flags stand for (``--scrape``, ``--warm-connections``)."""
    sets = scrape_sets(getattr(args, "scrape", ()))
    if getattr(args, "warm_connections", False):
        sets.append("load.warm_connections=true")
    return sets


def profile_text(opts: QuickOptions) -> str:
    """The profile the options stand for, as YAML a user can save and edit."""
    headers = dict(opts.headers)
    if opts.api_key_env:
        headers["authorization"] = f"Bearer ${{{opts.api_key_env}}}"
    target: dict[str, Any] = {"base_url": opts.url, "timeout": opts.timeout}
    if headers:
        target["headers"] = headers
    if opts.scrape:
        target["metrics"] = {"urls": list(opts.scrape)}
    task: dict[str, Any] = {"prompt": opts.prompt or DEFAULT_PROMPT}
    if opts.api in MODEL_APIS:
        if opts.api != "openai":
            task = {"api": opts.api, **task}
        task["model"] = opts.model or "builtin"
        if opts.max_tokens is not None:
            task["max_tokens"] = opts.max_tokens
        task.update(_workload(opts))
        if "input_tokens" in task or "dataset" in task or opts.trace is not None:
            del task["prompt"]  # synthetic prompts, the dataset's or the trace's instead
        step: dict[str, Any] = {"chat": task}
    elif opts.api == "sse":
        step = {"chat": {"api": "sse", **task}}
    else:
        step = {"ws": task}
    if opts.trace is not None:
        load: dict[str, Any] = _replay(opts)
    elif opts.rate is not None:
        load = {"model": "open", "rate": opts.rate, "duration": opts.duration}
    else:
        load = {"users": opts.users or 1, "duration": opts.duration}
    profile = {
        "name": "quick",
        "target": target,
        "users": [{"name": "chat", "tasks": [step]}],
        "load": load,
        "report": {"dir": "reports"},
    }
    head = (
        "# Made by loadgen run --url …; save it, edit it, run it with `loadgen run FILE`.\n"
        "# Reference: docs/profiles.md.\n"
    )
    return head + yaml.safe_dump(profile, sort_keys=False, allow_unicode=True)


def choose_model(listed: Sequence[str], url: str) -> tuple[str | None, str]:
    """The model to use from a server's ``/v1/models`` list, or None and what to tell the
    user: the only model is taken; several or none need ``--model``."""
    if len(listed) == 1:
        return listed[0], f"using the server's only model, {listed[0]!r}"
    if not listed:
        return None, f"{url}/v1/models lists no model — pass --model NAME"
    shown = ", ".join(listed[:10]) + (f" and {len(listed) - 10} more" if len(listed) > 10 else "")
    return None, f"{url}/v1/models lists {len(listed)} models ({shown}) — pick one with --model"


async def models(url: str, headers: dict[str, str], timeout: float = 10.0) -> list[str]:
    """The model ids a server lists at ``/v1/models`` (OpenAI's shape: ``{"data": [{"id"}]}``);
    raises ``OSError`` or ``ValueError`` with a short reason when it cannot say."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(f"{url}/v1/models", headers=headers)
    except httpx.HTTPError as exc:
        raise OSError(f"cannot ask {url}/v1/models: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise ValueError(f"{url}/v1/models answered HTTP {response.status_code}")
    try:
        data = json.loads(response.content)
        return [str(m["id"]) for m in data["data"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{url}/v1/models did not answer OpenAI's model list") from exc
