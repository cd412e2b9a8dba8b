"""Token-length distributions for ``input_tokens:`` and ``output_tokens:`` (issue 20.2).

The forms a profile may write (and the quick path's ``--input-tokens 512:64``)::

    512                                      fixed
    "512:64"                                 normal, mean:stdev, at least 1
    {mean: 512, stdev: 64, min: 1, max: 2048}  normal, rounded, clamped to [min, max]
    {uniform: [128, 1024]}                   uniform over the whole numbers a..b, both kept
    {lognormal: {mean: 512, stdev: 256}}     lognormal whose own mean and stdev are these
    [{value: 128, weight: 3}, {value: 2048, weight: 1}]   empirical

Lognormal takes the distribution's mean and standard deviation, which is what a user reads
off a trace, not the ``mu, sigma`` of the underlying normal: they are derived here
(``sigma² = ln(1 + s²/m²)``, ``mu = ln m - sigma²/2``). Normal and lognormal draws are
rounded, then clamped (``min`` defaults to 1, ``max`` to none): a clamp puts the cut-off
mass on the bound rather than redrawing, so the bound's share is visible and the cost fixed.

Every draw takes the caller's ``random.Random``, so a seeded run repeats its lengths.
``read_length`` reports every problem through the profile checker's ``bad(path, what,
fix)``; ``parse_length`` raises ``ValueError("what; fix")`` as ``Checker.unit`` expects.
"""

from __future__ import annotations

import difflib
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

__all__ = [
    "MAX_TOKENS",
    "Empirical",
    "Fixed",
    "Length",
    "LogNormal",
    "Normal",
    "Uniform",
    "parse_length",
    "read_length",
]

MAX_TOKENS = 10_000_000  # past any model's context window
Path_ = tuple[str | int, ...]
Bad = Callable[[Path_, str, str], None]

_FORMS = "write 512, '512:64', {mean: 512, stdev: 64}, {uniform: [128, 1024]}, {lognormal: {mean: 512, stdev: 256}} or [{value: 512, weight: 1}, ...]"  # noqa: E501


@dataclass(frozen=True, slots=True)
class Fixed:
    n: int

    @property
    def low(self) -> int:
        return self.n

    @property
    def high(self) -> int | None:
        return self.n

    def sample(self, rng: random.Random) -> int:
        return self.n

    def __str__(self) -> str:
        return str(self.n)


@dataclass(frozen=True, slots=True)
class _Spread:
    """A length drawn around a mean, rounded and clamped to ``[min, max]``."""

    mean: float
    stdev: float
    min: int = 1
    max: int | None = None

    @property
    def low(self) -> int:
        return self.min

    @property
    def high(self) -> int | None:
        return self.max

    def _clamped(self, value: float) -> int:
        return _clamp(round(value), self.min, self.max)


@dataclass(frozen=True, slots=True)
class Normal(_Spread):
    def sample(self, rng: random.Random) -> int:
        return self._clamped(rng.gauss(self.mean, self.stdev))

    def __str__(self) -> str:
        return f"normal {self.mean:g}±{self.stdev:g} in [{self.min}, {self.max or '∞'}]"


@dataclass(frozen=True, slots=True)
class Uniform:
    a: int
    b: int

    @property
    def low(self) -> int:
        return self.a

    @property
    def high(self) -> int | None:
        return self.b

    def sample(self, rng: random.Random) -> int:
        return rng.randint(self.a, self.b)

    def __str__(self) -> str:
        return f"uniform [{self.a}, {self.b}]"


@dataclass(frozen=True, slots=True)
class LogNormal(_Spread):
    def sample(self, rng: random.Random) -> int:
        sigma2 = math.log1p((self.stdev / self.mean) ** 2)
        mu = math.log(self.mean) - sigma2 / 2
        return self._clamped(rng.lognormvariate(mu, math.sqrt(sigma2)))

    def __str__(self) -> str:
        return f"lognormal mean {self.mean:g} stdev {self.stdev:g}"


@dataclass(frozen=True, slots=True)
class Empirical:
    values: tuple[int, ...]
    weights: tuple[float, ...]
    _cumulative: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_cumulative", tuple(accumulate(self.weights)))

    @property
    def low(self) -> int:
        return min(self.values)

    @property
    def high(self) -> int | None:
        return max(self.values)

    def sample(self, rng: random.Random) -> int:
        cumulative = self._cumulative
        at = bisect_right(cumulative, rng.random() * cumulative[-1])
        return self.values[min(at, len(self.values) - 1)]

    def __str__(self) -> str:
        return f"empirical over {len(self.values)} values in [{self.low}, {self.high}]"


Length = Fixed | Normal | Uniform | LogNormal | Empirical


def _clamp(n: int, low: int, high: int | None) -> int:
    n = max(n, low)
    return n if high is None else min(n, high)


def parse_length(value: Any) -> Length:
    """A length from plain data or text (``"512:64"``); ``ValueError("what; fix")`` on the
    first problem."""
    problems: list[tuple[Path_, str, str]] = []
    length = read_length(value, (), lambda p, what, fix: problems.append((p, what, fix)))
    if length is None:
        path, what, fix = problems[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        raise ValueError(f"{where.lstrip('.') + ': ' if where else ''}{what}; {fix}")
    return length


def read_length(value: Any, path: Path_, bad: Bad) -> Length | None:
    """A length from plain data, or None after reporting every problem to ``bad``."""
    if isinstance(value, str):
        return _text(value.strip(), path, bad)
    if isinstance(value, list):
        return _empirical(value, path, bad)
    if isinstance(value, Mapping):
        if "uniform" in value or "lognormal" in value:
            return _named(value, path, bad)
        return _normal(value, path, bad, Normal)
    n = _count(value, path, bad)
    return None if n is None else Fixed(n)


def _text(text: str, path: Path_, bad: Bad) -> Length | None:
    mean, colon, stdev = text.partition(":")
    try:
        numbers = [float(mean), *([float(stdev)] if colon else [])]
    except ValueError:
        bad(path, f"{text!r} is not a token count", "write 512 or 512:64 (mean:stdev)")
        return None
    if not colon:
        n = _count(numbers[0], path, bad)
        return None if n is None else Fixed(n)
    return _normal({"mean": numbers[0], "stdev": numbers[1]}, path, bad, Normal)


def _named(value: Mapping[str, Any], path: Path_, bad: Bad) -> Length | None:
    if len(value) != 1:
        keys = ", ".join(map(str, value))
        bad(path, f"give one distribution, got {keys}", _FORMS)
        return None
    kind, arg = next(iter(value.items()))
    p = (*path, kind)
    if kind == "lognormal":
        if not isinstance(arg, Mapping):
            bad(p, "expected {mean, stdev}", "write lognormal: {mean: 512, stdev: 256}")
            return None
        return _normal(arg, p, bad, LogNormal)
    if not isinstance(arg, list) or len(arg) != 2:
        bad(p, "expected [low, high]", "write uniform: [128, 1024]")
        return None
    a, b = _count(arg[0], (*p, 0), bad), _count(arg[1], (*p, 1), bad)
    if a is None or b is None:
        return None
    if b < a:
        bad(p, f"high {b} is below low {a}", f"write uniform: [{b}, {a}]")
        return None
    return Uniform(a, b)


def _normal(
    value: Mapping[str, Any], path: Path_, bad: Bad, kind: type[Normal] | type[LogNormal]
) -> Length | None:
    allowed = ("mean", "stdev", "min", "max")
    ok = _keys(value, path, bad, allowed)
    for key in ("mean", "stdev"):
        if key not in value:
            bad(path, f"{key} is missing", _FORMS)
            ok = False
        elif value[key] is None:  # `mean:` with nothing after it
            bad((*path, key), f"{key} is empty", _FORMS)
            ok = False
    mean = _number(value.get("mean"), (*path, "mean"), bad, least=1)
    stdev = _number(value.get("stdev"), (*path, "stdev"), bad, least=0)
    low = _count(value.get("min", 1), (*path, "min"), bad)
    high = None if value.get("max") is None else _count(value["max"], (*path, "max"), bad)
    if not ok or mean is None or stdev is None or low is None:
        return None
    if "max" in value and high is None:
        return None
    if high is not None and high < low:
        bad((*path, "max"), f"max {high} is below min {low}", "write max >= min")
        return None
    return kind(mean, stdev, low, high)


def _empirical(value: list[Any], path: Path_, bad: Bad) -> Length | None:
    if not value:
        bad(path, "the list of values is empty", "write [{value: 512, weight: 1}, ...]")
        return None
    values: list[int] = []
    weights: list[float] = []
    for i, item in enumerate(value):
        p = (*path, i)
        if not isinstance(item, Mapping):
            bad(p, "expected {value, weight}", "write - {value: 512, weight: 1}")
            continue
        ok = _keys(item, p, bad, ("value", "weight"))
        n = _count(item.get("value"), (*p, "value"), bad)
        w = _number(item.get("weight", 1), (*p, "weight"), bad, least=0, above=True)
        if ok and n is not None and w is not None:
            values.append(n)
            weights.append(w)
    if len(values) != len(value):
        return None
    return Empirical(tuple(values), tuple(weights))


def _keys(value: Mapping[str, Any], path: Path_, bad: Bad, allowed: tuple[str, ...]) -> bool:
    ok = True
    for key in value:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            fix = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(allowed)}"
            bad((*path, str(key)), "unknown key", fix)
            ok = False
    return ok


def _number(
    value: Any, path: Path_, bad: Bad, *, least: float, above: bool = False
) -> float | None:
    """A finite number from ``least`` (or above it) to ``MAX_TOKENS``."""
    if value is None:
        return None
    limit = f"{'>' if above else '>='} {least:g}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        bad(path, f"expected a number, got {value!r}"[:80], f"write a number {limit}")
        return None
    number = float(value)
    low = number <= least if above else number < least
    if not math.isfinite(number) or number > MAX_TOKENS or low:
        bad(path, f"{value!r} is out of range", f"write a number {limit}, at most {MAX_TOKENS}")
        return None
    return number


def _count(value: Any, path: Path_, bad: Bad) -> int | None:
    """A whole number of tokens, 1 to ``MAX_TOKENS``."""
    fix = f"write a whole number of tokens from 1 to {MAX_TOKENS}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        bad(path, f"expected a token count, got {value!r}"[:80], f"{fix}, or {_FORMS}")
        return None
    if not 1 <= value <= MAX_TOKENS:
        bad(path, f"{value} tokens is out of range", fix)
        return None
    return value
