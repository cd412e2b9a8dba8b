"""Input tokens, their sources and the requested-vs-server calibration of one scope (issue 20.3).

A model-server benchmark is read by its lengths: how many prompt tokens went in (the
server's ``usage.prompt_tokens``, else loadgen's count of what it sent), which of the two
counted them, and by how much the server's count differs from the length loadgen asked for
(a chat template, a system prompt, a BOS token: the calibration every user of synthetic
prompts needs). Everything here is a count or a sum, so the segments of a test add up
exactly (``merge``) and an interval keeps only its input-token total.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loadgen.core import resultdoc as doc
from loadgen.core.sample import Sample

__all__ = ["Calibration", "TokenTally"]


@dataclass(slots=True)
class Calibration:
    """Server-counted − requested tokens over the requests that had both, exactly mergeable."""

    requests: int = 0
    requested: int = 0  # the lengths asked for, added up
    server: int = 0  # the server's counts of the same requests, added up
    min: int | None = None  # of the per-request difference (server − requested)
    max: int | None = None

    def add(self, requested: int, server: int) -> None:
        diff = server - requested
        self.requests += 1
        self.requested += requested
        self.server += server
        self.min = diff if self.min is None else min(self.min, diff)
        self.max = diff if self.max is None else max(self.max, diff)

    def merge(self, other: Calibration) -> None:
        self.requests += other.requests
        self.requested += other.requested
        self.server += other.server
        for bound in (other.min, other.max):
            if bound is not None:
                self.min = bound if self.min is None else min(self.min, bound)
                self.max = bound if self.max is None else max(self.max, bound)

    def to_dict(self) -> doc.Calibration:
        n = self.requests
        return {
            "requests": n,
            "requested": self.requested,
            "server": self.server,
            "mean": (self.server - self.requested) / n if n else 0.0,
            "min": self.min if self.min is not None else 0,
            "max": self.max if self.max is not None else 0,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Calibration:
        if not d or not d.get("requests"):
            return cls()
        return cls(
            requests=int(d["requests"]),
            requested=int(d["requested"]),
            server=int(d["server"]),
            min=int(d["min"]),
            max=int(d["max"]),
        )


@dataclass(slots=True)
class TokenTally:
    """A scope's input tokens (total, by source) and its two calibrations."""

    input_tokens: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    input: Calibration = field(default_factory=Calibration)
    output: Calibration = field(default_factory=Calibration)

    def add(self, s: Sample) -> None:
        """Count an answered request (an interval's scope adds ``input_tokens`` only)."""
        tokens = s.input_tokens
        if tokens is not None:
            self.input_tokens += tokens
            self.sources[s.input_source] += 1
        if s.requested_input is not None and s.usage_prompt is not None:
            self.input.add(s.requested_input, s.usage_prompt)
        if s.exact_output and s.requested_output is not None and s.usage_tokens is not None:
            self.output.add(s.requested_output, s.usage_tokens)

    def reset(self) -> None:
        self.input_tokens = 0
        self.sources.clear()
        self.input = Calibration()
        self.output = Calibration()

    def merge(self, other: TokenTally) -> None:
        self.input_tokens += other.input_tokens
        self.sources.update(other.sources)
        self.input.merge(other.input)
        self.output.merge(other.output)

    def to_dict(self, duration: float) -> doc.InputTally:
        """The scope's keys (``resultdoc.Scope``): ``input_tokens``, ``input_tps``,
        ``input_token_source``, ``requested_vs_server``."""
        return {
            "input_tokens": self.input_tokens,
            "input_tps": self.input_tokens / duration if duration > 0 else 0.0,
            "input_token_source": dict(sorted(self.sources.items())),
            "requested_vs_server": {
                "input": self.input.to_dict(),
                "output": self.output.to_dict(),
            },
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TokenTally:
        """Read back from a scope's JSON (a result older than these keys: all zero)."""
        cal = d.get("requested_vs_server") or {}
        return cls(
            input_tokens=int(d.get("input_tokens", 0)),
            sources=Counter({k: int(v) for k, v in (d.get("input_token_source") or {}).items()}),
            input=Calibration.from_dict(cal.get("input")),
            output=Calibration.from_dict(cal.get("output")),
        )
