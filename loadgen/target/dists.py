"""Seeded random distributions for time to first token, inter-token delay and answer length.

Pure: a :class:`Dist` is a value, ``sample(rng)`` takes the caller's ``random.Random`` so
one seed drives every draw of the server and a replay of the same request order draws the
same numbers. ``parse_dist`` reads the YAML form (``{uniform: [10ms, 30ms]}``) and the flag
form (``uniform:10ms,30ms``) with one grammar.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from loadgen.core.units import parse_duration

__all__ = ["KINDS", "Dist", "nonneg_number", "parse_dist"]

KINDS = ("constant", "uniform", "normal", "lognormal")
_HINT = (
    "write a constant ({ex}), {{constant: {ex}}}, {{uniform: [low, high]}}, "
    "{{normal: {{mean: m, sd: s}}}} or {{lognormal: {{median: m, sigma: 0.5}}}}; "
    "as a flag: {ex}, uniform:low,high, normal:mean,sd or lognormal:median,sigma"
)


@dataclass(frozen=True, slots=True)
class Dist:
    """One distribution. ``a``/``b`` mean: constant (value, -), uniform (low, high),
    normal (mean, sd), lognormal (median, sigma). Samples are clamped at 0."""

    kind: str = "constant"
    a: float = 0.0
    b: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown distribution {self.kind!r}; use one of {', '.join(KINDS)}")
        if not (math.isfinite(self.a) and math.isfinite(self.b)):
            raise ValueError(f"{self.kind} parameters must be finite numbers")
        if self.a < 0 or self.b < 0:
            raise ValueError(f"{self.kind} parameters must not be negative")
        if self.kind == "uniform" and self.b < self.a:
            raise ValueError(f"uniform low {self.a:g} is above high {self.b:g}; swap them")

    @classmethod
    def constant(cls, value: float) -> Dist:
        return cls("constant", float(value))

    @classmethod
    def uniform(cls, low: float, high: float) -> Dist:
        return cls("uniform", float(low), float(high))

    @classmethod
    def normal(cls, mean: float, sd: float) -> Dist:
        return cls("normal", float(mean), float(sd))

    @classmethod
    def lognormal(cls, median: float, sigma: float) -> Dist:
        return cls("lognormal", float(median), float(sigma))

    @property
    def is_constant(self) -> bool:
        """True when no draw is needed (the server skips the RNG on its hot path)."""
        return (
            self.kind == "constant"
            or (self.kind == "uniform" and self.a == self.b)
            or (self.kind in ("normal", "lognormal") and self.b == 0)
            or (self.kind == "lognormal" and self.a == 0)
        )

    @property
    def is_zero(self) -> bool:
        return self.fixed() == 0

    def fixed(self) -> float | None:
        """The value every draw returns, or None when draws vary."""
        if not self.is_constant:
            return None
        return 0.0 if self.kind == "lognormal" and self.a == 0 else self.a

    @property
    def mean(self) -> float:
        """Expected value (before clamping), used to predict the saturation throughput."""
        if self.kind == "uniform":
            return (self.a + self.b) / 2
        if self.kind == "lognormal":
            return self.a * math.exp(self.b * self.b / 2)
        return self.a

    def sample(self, rng: random.Random) -> float:
        kind = self.kind
        if kind == "constant":
            return self.a
        if kind == "uniform":
            return rng.uniform(self.a, self.b)
        if kind == "normal":
            return max(0.0, rng.gauss(self.a, self.b))
        if self.a == 0:
            return 0.0
        return rng.lognormvariate(math.log(self.a), self.b)

    def sample_count(self, rng: random.Random) -> int:
        """A token count: rounded, at least 1."""
        return max(1, round(self.sample(rng)))

    def to_yaml(self) -> Any:
        """The YAML form, numbers in seconds (or counts), that ``parse_dist`` reads back."""
        if self.kind == "constant":
            return {"constant": self.a}
        if self.kind == "uniform":
            return {"uniform": [self.a, self.b]}
        if self.kind == "normal":
            return {"normal": {"mean": self.a, "sd": self.b}}
        return {"lognormal": {"median": self.a, "sigma": self.b}}

    def describe(self) -> str:
        """Flag form, e.g. ``uniform:0.01,0.03`` (seconds or counts)."""
        if self.kind == "constant":
            return f"{self.a:g}"
        return f"{self.kind}:{self.a:g},{self.b:g}"


def nonneg_number(value: Any) -> float:
    """A finite number ≥ 0 from a YAML or flag value (a bool is not a number)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number; write e.g. 1.0")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number; write e.g. 1.0") from None
    if number < 0 or not math.isfinite(number):
        raise ValueError(f"{value!r} must be a non-negative number; write 0 or more")
    return number


_PARAM_NAMES = {
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
}


def parse_dist(value: Any, *, unit: str = "duration") -> Dist:
    """Read a distribution. ``unit`` is ``duration`` (``200ms``) or ``count`` (``32``).

    Raises ``ValueError`` whose message ends with the accepted forms.
    """
    scalar: Callable[[Any], float] = parse_duration if unit == "duration" else nonneg_number
    example = "200ms" if unit == "duration" else "32"
    hint = _HINT.format(ex=example)
    try:
        return _parse(value, scalar)
    except ValueError as exc:
        raise ValueError(f"{exc}; {hint}") from None


def _parse(value: Any, scalar: Callable[[Any], float]) -> Dist:
    if isinstance(value, Mapping):
        if len(value) != 1:
            raise ValueError(f"{dict(value)!r} must have exactly one key, the distribution kind")
        ((kind, params),) = value.items()
        kind = str(kind)
        if kind not in KINDS:
            raise ValueError(f"unknown distribution {kind!r}")
        return _build(kind, params, scalar)
    if isinstance(value, str) and ":" in value:
        kind, _, rest = value.partition(":")
        kind = kind.strip()
        if kind not in KINDS:
            raise ValueError(f"unknown distribution {kind!r}")
        parts = [p.strip() for p in rest.split(",")]
        return _build(kind, parts[0] if kind == "constant" and len(parts) == 1 else parts, scalar)
    return Dist.constant(scalar(value))


def _build(kind: str, params: Any, scalar: Callable[[Any], float]) -> Dist:
    if kind == "constant":
        return Dist.constant(scalar(params))
    names = _PARAM_NAMES[kind]
    if isinstance(params, Mapping):
        unknown = set(map(str, params)) - set(names)
        if unknown or len(params) != 2:
            raise ValueError(f"{kind} takes {{{names[0]}: .., {names[1]}: ..}}")
        first, second = params[names[0]], params[names[1]]
    elif isinstance(params, list | tuple) and len(params) == 2:
        first, second = params
    else:
        raise ValueError(f"{kind} takes two values ({names[0]}, {names[1]}), got {params!r}")
    second_parser = nonneg_number if kind == "lognormal" else scalar  # sigma: a plain number
    return Dist(kind, scalar(first), second_parser(second))
