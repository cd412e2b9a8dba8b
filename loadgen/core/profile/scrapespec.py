"""Validation of ``target.metrics``: which Prometheus pages to scrape, how often, as what."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loadgen.core import units
from loadgen.core.profile.checker import Checker, kind_of
from loadgen.core.profile.model import MetricsSpec
from loadgen.core.profile.source import Path_
from loadgen.core.serverpresets import PRESETS

__all__ = ["PRESET_NAMES", "metrics"]

_KEYS = ("url", "urls", "interval", "preset", "series")
PRESET_NAMES = tuple(PRESETS)


def metrics(check: Checker, value: Any, path: Path_) -> MetricsSpec | None:
    """The section, or None when absent; a bare string is one URL."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"url": value}
    m = check.mapping(value, path, _KEYS)
    if not m:
        return None
    urls = _urls(check, m, path)
    interval = check.unit(m.get("interval"), (*path, "interval"), units.parse_duration, 1.0)
    if interval < 0.1:
        check.bad(
            (*path, "interval"),
            f"{interval:g}s is too short",
            "write at least 100ms; 1s suits most servers",
        )
        interval = 1.0
    preset = m.get("preset")
    if preset is not None and preset not in PRESET_NAMES:
        check.bad(
            (*path, "preset"),
            f"unknown preset {preset!r}",
            f"use one of {', '.join(PRESET_NAMES)}, or leave it out to guess from the page",
        )
        preset = None
    return MetricsSpec(
        urls=urls,
        interval=interval,
        preset=preset,
        series=_names(check, m.get("series"), (*path, "series")),
    )


def _urls(check: Checker, m: dict[str, Any], path: Path_) -> tuple[str, ...]:
    if "url" in m and "urls" in m:
        check.bad((*path, "urls"), "both url and urls given", "keep one: urls: [a, b] for replicas")
    raw = m.get("urls", [m["url"]] if "url" in m else None)
    key = "urls" if "urls" in m else "url"
    if raw is None:
        check.bad(path, "missing url", "write url: http://host:port/metrics (or builtin)")
        return ()
    if isinstance(raw, str) or not isinstance(raw, Sequence) or not raw:
        check.bad(
            (*path, key),
            f"expected a list of URLs, got {kind_of(raw)}",
            "write urls: [http://a:8000/metrics, ...]",
        )
        return ()
    out = []
    for i, url in enumerate(raw):
        where = (*path, key, i) if key == "urls" else (*path, key)
        if url == "builtin" or (isinstance(url, str) and url.startswith(("http://", "https://"))):
            out.append(url)
        else:
            check.bad(
                where,
                f"{url!r} is not an http(s) URL",
                "write http://host:port/metrics, or builtin",
            )
    return tuple(out)


def _names(check: Checker, value: Any, path: Path_) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        check.bad(
            path, "expected a list of metric names", "write series: [vllm:num_requests_swapped]"
        )
        return ()
    return tuple(value)
