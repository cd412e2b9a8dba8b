"""A model server's Prometheus text exposition, read into one snapshot of its samples (pure).

The parsing is ``prometheus_client``'s (a well-kept parser, not ours): this module only
drops the lines no wanted series needs before handing the text over (a vLLM ``/metrics``
page is mostly series nobody asked for, and the parser is pure Python), and then keeps the
samples by name so a series can be read with its labels summed away.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Snapshot", "base_name", "guess_preset", "parse", "sample_names"]

_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")

Labels = Mapping[str, str]


def base_name(sample: str) -> str:
    """The family a sample line belongs to: ``x_bucket``, ``x_sum``, ``x_total`` → ``x``."""
    for suffix in _SUFFIXES:
        if sample.endswith(suffix):
            return sample[: -len(suffix)]
    return sample


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One scrape: when it arrived (seconds on the result's time axis) and its samples."""

    t: float
    samples: dict[str, list[tuple[dict[str, str], float]]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)  # family → counter, gauge, histogram…

    def has(self, name: str) -> bool:
        return name in self.samples or f"{name}_bucket" in self.samples

    def value(self, name: str, labels: Labels = {}) -> float | None:  # noqa: B006 (read only)
        """The sum of every sample ``name`` whose labels include ``labels``; None if none."""
        rows = self.samples.get(name)
        if rows is None:
            return None
        found = [v for lab, v in rows if all(lab.get(k) == w for k, w in labels.items())]
        return sum(found) if found else None

    def buckets(self, name: str, labels: Labels = {}) -> dict[float, float]:  # noqa: B006
        """Histogram ``name``'s cumulative counts by upper bound, summed over other labels."""
        out: dict[float, float] = {}
        for lab, v in self.samples.get(f"{name}_bucket", ()):
            if all(lab.get(k) == w for k, w in labels.items()) and "le" in lab:
                le = float(lab["le"])
                out[le] = out.get(le, 0.0) + v
        return out


def _wanted(line: str, keep: frozenset[str]) -> bool:
    if line.startswith("#"):
        parts = line.split(None, 3)
        return len(parts) >= 3 and parts[1] in ("TYPE", "HELP") and base_name(parts[2]) in keep
    name = line.split("{", 1)[0].split(None, 1)[0] if line else ""
    return name in keep or base_name(name) in keep


def parse(text: str, t: float, keep: Iterable[str] | None = None) -> Snapshot:
    """``text`` (format 0.0.4) as a snapshot taken at ``t``; only families in ``keep`` when
    given. A malformed page raises ``ValueError`` (the parser's own message)."""
    from prometheus_client.parser import text_string_to_metric_families

    if keep is not None:
        wanted = frozenset(base_name(k) for k in keep)
        text = "\n".join(ln for ln in text.splitlines() if _wanted(ln.strip(), wanted)) + "\n"
    snap = Snapshot(t)
    try:
        for family in text_string_to_metric_families(text):
            snap.types[family.name] = family.type
            for s in family.samples:
                snap.types.setdefault(base_name(s.name), family.type)
                snap.samples.setdefault(s.name, []).append((dict(s.labels), float(s.value)))
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise ValueError(f"not Prometheus text: {exc}") from exc
    return snap


def sample_names(text: str) -> set[str]:
    """The sample names on a page, read line by line without parsing (to guess its server)."""
    return {
        ln.split("{", 1)[0].split(None, 1)[0]
        for ln in text.splitlines()
        if ln.strip() and not ln.startswith("#")
    }


_PREFIXES = (
    ("vllm:", "vllm"),
    ("sglang:", "sglang"),
    ("llamacpp:", "llamacpp"),
    ("tgi_", "tgi"),
    ("nv_inference_", "triton"),
    ("nv_trt_llm_", "triton"),
)


def guess_preset(names: Iterable[str]) -> str:
    """The server a page comes from, by the prefix most of its series carry; else generic."""
    votes: dict[str, int] = {}
    for name in names:
        for prefix, preset in _PREFIXES:
            if name.startswith(prefix):
                votes[preset] = votes.get(preset, 0) + 1
                break
    return max(votes, key=lambda p: votes[p]) if votes else "generic"
