"""Whether two results measured the same thing, and how to name each run.

A comparison of different workloads or targets still prints numbers, so it must say so: one
warning line for the profile (name, content other than the target, load plan, seed), one for
the target (the URL, or the built-in target's settings, whose port changes every run), and
one per run whose generator, not target, set the pace.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["differences", "run_label"]

_SHOWN = 3


def run_label(doc: dict[str, Any], where: str = "") -> str:
    """``profile-name started-UTC (where)``: what the report's title calls a run."""
    name = (doc.get("profile") or {}).get("name") or "unnamed"
    parts = [str(name)]
    started = doc.get("started")
    if isinstance(started, int | float) and started > 0:
        parts.append(dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    if where:
        parts.append(f"({where})")
    return " ".join(parts)


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_leaves(sub, f"{path}.{key}" if path else str(key)))
        return out
    return {path: value}


def _changed(base: Any, new: Any) -> list[str]:
    """``path: base → new`` for every leaf that differs (lists compare whole)."""
    b, n = _leaves(base), _leaves(new)
    out = []
    for path in sorted(set(b) | set(n)):
        if b.get(path, "–") != n.get(path, "–"):
            out.append(f"{path} {_show(b.get(path, '–'))} → {_show(n.get(path, '–'))}")
    return out


def _show(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _joined(items: list[str]) -> str:
    more = len(items) - _SHOWN
    return "; ".join(items[:_SHOWN]) + (f"; and {more} more" if more > 0 else "")


def _without_target(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw
    target = {
        k: v for k, v in (raw.get("target") or {}).items() if k not in ("base_url", "builtin")
    }
    return {**raw, "target": target}


def _target(doc: dict[str, Any]) -> Any:
    target = doc.get("target") or {}
    if target.get("builtin"):
        raw = (doc.get("profile") or {}).get("raw") or {}
        return {"built-in target": ((raw.get("target") or {}).get("builtin") or {})}
    return {"url": target.get("base_url")}


def differences(base: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line each: how the profiles differ, how the targets differ, and which run the
    generator limited; none when the two runs measured the same thing the same way."""
    out = []
    bp, np_ = base.get("profile") or {}, new.get("profile") or {}
    found = []
    if bp.get("name") != np_.get("name"):
        found.append(f"name {bp.get('name')!r} → {np_.get('name')!r}")
    found += _changed(_without_target(bp.get("raw") or {}), _without_target(np_.get("raw") or {}))
    if base.get("plan") != new.get("plan"):
        found.append("load plan")
    if base.get("seed") != new.get("seed"):
        found.append(f"seed {base.get('seed')} → {new.get('seed')}")
    if found:
        out.append(
            f"the profiles differ ({_joined(found)}): a change may come from the "
            "workload, not the target"
        )
    targets = _changed(_target(base), _target(new))
    if targets:
        out.append(f"the targets differ ({_joined(targets)})")
    for side, doc in (("base", base), ("new", new)):
        if (doc.get("health") or {}).get("limited"):
            out.append(
                f"the {side} run was limited by the generator, not the target: its latencies "
                "include loadgen's own delays (see its report)"
            )
    return out
