"""Flags of ``loadgen serve``: one flag per config key, merged over the YAML file.

The table below is the single list of knobs: each flag writes its string into the same
nested mapping a YAML file produces, then ``config_from_mapping`` validates both the same
way. Errors name the flag when a flag gave the value, else ``file:line`` of the key.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from loadgen.target.config import ConfigError, TargetConfig, config_from_mapping, config_to_mapping
from loadgen.target.yamlfile import load_yaml_with_lines

__all__ = ["FLAGS", "build_parser", "config_from_args", "parse_serve_args", "write_config"]

# (flag, dotted YAML key, metavar, help)
FLAGS: list[tuple[str, str, str, str]] = [
    ("--host", "host", "ADDR", "address to bind (default 127.0.0.1; loopback only is wise)"),
    ("--port", "port", "N", "port to listen on; 0 picks a free one (default 0)"),
    ("--seed", "seed", "N", "seed of every random draw (default 0)"),
    ("--truth", "truth", "FILE", "write one JSON line per request (ground truth) to FILE"),
    ("--truth-flush", "truth_flush", "DUR", "how often the truth log is flushed (default 100ms)"),
    ("--event-loop", "event_loop", "NAME", "auto (uvloop when installed), uvloop or asyncio"),
    (
        "--ttft",
        "timing.ttft",
        "DIST",
        "time to first token: 200ms, uniform:100ms,300ms, normal:MEAN,SD, lognormal:MEDIAN,SIGMA",
    ),
    ("--itl", "timing.itl", "DIST", "delay between tokens, same forms as --ttft"),
    ("--tokens", "timing.output_tokens", "DIST", "output tokens per answer: 32, uniform:20,80, …"),
    (
        "--prefill-per-token",
        "timing.prefill_per_token",
        "DUR",
        "extra TTFT per prompt token not in the prefix cache (prefill), e.g. 0.1ms",
    ),
    ("--context-ttft", "timing.context_ttft", "DUR", "older alias: prefill per 1000 tokens"),
    ("--slots", "capacity.slots", "N", "concurrent generations; 0 = unlimited (default 64)"),
    ("--contention", "capacity.contention", "X", "how much sharing the slots slows tokens"),
    ("--max-queue", "capacity.max_queue", "N", "queued requests beyond which 503 (0 = no cap)"),
    ("--fault-500", "faults.http_500.rate", "RATE", "fraction of chat requests answered 500"),
    ("--fault-503", "faults.http_503.rate", "RATE", "fraction answered 503"),
    ("--fault-429", "faults.http_429.rate", "RATE", "fraction answered 429 with Retry-After"),
    ("--retry-after", "faults.http_429.retry_after", "DUR", "Retry-After of 429 (default 1s)"),
    (
        "--fault-expire-token",
        "faults.expire_token.rate",
        "RATE",
        "fraction whose access token expires early (401)",
    ),
    ("--fault-drop", "faults.drop_mid_stream.rate", "RATE", "fraction dropped mid-stream"),
    (
        "--fault-malformed",
        "faults.malformed_chunk.rate",
        "RATE",
        "fraction carrying one malformed chunk",
    ),
    ("--fault-stall", "faults.stall.rate", "RATE", "fraction that stall mid-stream"),
    ("--stall-duration", "faults.stall.duration", "DUR", "length of a stall (default 5s)"),
    (
        "--fault-slow-body",
        "faults.slow_body_read.rate",
        "RATE",
        "fraction whose request body is read slowly",
    ),
    (
        "--slow-body-delay",
        "faults.slow_body_read.delay",
        "DUR",
        "delay of a slow body read (default 2s)",
    ),
    ("--token-ttl", "auth.token_ttl", "DUR", "access token lifetime (default 15m)"),
    ("--refresh-ttl", "auth.refresh_ttl", "DUR", "refresh token lifetime (default 24h)"),
    ("--admin-email", "auth.admin_email", "EMAIL", "preset admin account"),
    ("--admin-password", "auth.admin_password", "PASSWORD", "its password"),
    ("--api-key", "auth.api_keys", "KEY", "static API key accepted as a bearer (repeatable)"),
    ("--model", "chat.model", "NAME", "model name reported by /v1/models and chunks"),
    ("--citation-rate", "chat.citation_rate", "RATE", "fraction of /api/chat answers citing"),
    ("--prefix-block-tokens", "prefix_cache.block_tokens", "N", "tokens per cached block (16)"),
    ("--prefix-cache-blocks", "prefix_cache.capacity_blocks", "N", "blocks the cache holds"),
    ("--reasoning-share", "reasoning.share", "RATE", "share of answer tokens that reason"),
    (
        "--reasoning-efforts",
        "reasoning.efforts",
        "LIST",
        "share per reasoning_effort, e.g. low=0.25,medium=0.5,high=0.75",
    ),
    (
        "--reasoning-field",
        "reasoning.field",
        "NAME",
        "delta key of reasoning text: reasoning_content (default) or reasoning",
    ),
    ("--tool-call-rate", "tool_calls.rate", "RATE", "share of tools requests answering a call"),
    ("--embedding-dimensions", "embeddings.dimensions", "N", "vector length (default 256)"),
]
_BOOL_FLAGS = [
    (
        "--require-auth-openai",
        "auth.require_auth_openai",
        "require a bearer token (or API key) on the /v1 generation and embedding routes",
    ),
    (
        "--prefix-cache",
        "prefix_cache.enabled",
        "cache prompt blocks: cached tokens cost no prefill",
    ),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loadgen serve",
        description="Serve the built-in chatbot target (OpenAI-compatible and chatbot API).",
        epilog="Every flag is also a key of the --config YAML file; flags win.",
    )
    parser.add_argument("--config", metavar="FILE", help="YAML config file (see docs/target.md)")
    parser.add_argument(
        "--until-stdin-closes",
        action="store_true",
        help="also stop when stdin reaches its end: a parent holding the other end of the "
        "pipe takes the target with it when it dies, even by SIGKILL",
    )
    parser.add_argument(
        "--orphan-dir",
        metavar="DIR",
        help="with --until-stdin-closes: remove DIR when stdin closes (the parent that "
        "made it is gone and cannot)",
    )
    for flag, key, metavar, help_text in FLAGS:
        action = "append" if key == "auth.api_keys" else "store"
        parser.add_argument(flag, dest=key, metavar=metavar, help=help_text, action=action)
    for flag, key, help_text in _BOOL_FLAGS:
        parser.add_argument(flag, dest=key, action="store_const", const=True, help=help_text)
    return parser


def _set(mapping: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = mapping
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            # A fault written as a bare rate becomes {rate: x} so a sub-flag can join it.
            child = {} if child is None or part not in _rate_keys() else {"rate": child}
            node[part] = child
        node = child
    node[parts[-1]] = value


def _rate_keys() -> set[str]:
    return {key.split(".")[1] for _, key, _, _ in FLAGS if key.startswith("faults.")}


def _where(key: str, origin: Mapping[str, str], lines: Mapping[str, int], file: str | None) -> str:
    if key in origin:
        return origin[key]
    probe = key
    while probe:
        if probe in lines:
            return f"{file}:{lines[probe]}: {key}"
        probe = probe.rpartition(".")[0]
    return f"{file}: {key}" if file else key


def config_from_args(args: argparse.Namespace) -> TargetConfig:
    """Merge ``--config`` and flags; raise ``ValueError`` whose lines name flag or file:line."""
    file: str | None = args.config
    data: Any = {}
    lines: dict[str, int] = {}
    if file is not None:
        data, lines = load_yaml_with_lines(file)
        if not isinstance(data, dict):
            raise ValueError(f"{file}:1: the config must be a mapping of keys to values")
    origin: dict[str, str] = {}
    for flag, key, _, _ in FLAGS + [(f, k, "", h) for f, k, h in _BOOL_FLAGS]:
        value = getattr(args, key, None)
        if value is not None:
            _set(data, key, value)
            origin[key] = flag
            if key.endswith(".rate"):
                origin[key.rpartition(".")[0]] = flag
    try:
        return config_from_mapping(data)
    except ConfigError as exc:
        messages = [f"{_where(key, origin, lines, file)}: {msg}" for key, msg in exc.problems]
        raise ValueError("\n".join(messages)) from None


def parse_serve_args(argv: Sequence[str]) -> TargetConfig:
    """Parse argv into a config; argparse exits 2 on unknown flags by itself."""
    return config_from_args(build_parser().parse_args(list(argv)))


def write_config(config: TargetConfig, path: Path) -> None:
    """Write a config as YAML that ``--config`` reads back (used by BuiltinTarget)."""
    path.write_text(yaml.safe_dump(config_to_mapping(config), sort_keys=False), encoding="utf-8")
