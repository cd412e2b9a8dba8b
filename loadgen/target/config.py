"""The built-in target's configuration: frozen dataclasses read from YAML and/or flags.

Every knob has one YAML key (a dotted path such as ``capacity.slots``) and one flag (see
``flags.py``); both go through :func:`config_from_mapping`, which collects every problem
before raising :class:`ConfigError`, so a user fixes a file in one pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loadgen.core.units import parse_duration, parse_percent
from loadgen.target.dists import Dist, nonneg_number, parse_dist
from loadgen.target.llmconfig import (
    Embeddings,
    PrefixCache,
    Reasoning,
    ToolCalls,
    llm_schema,
    llm_sections,
    llm_to_mapping,
    parse_bool,
)

__all__ = [
    "AuthConfig",
    "Capacity",
    "ChatConfig",
    "ConfigError",
    "Faults",
    "TargetConfig",
    "Timing",
    "config_from_mapping",
    "config_to_mapping",
]


@dataclass(frozen=True, kw_only=True)
class Timing:
    """How fast answers come: TTFT and per-gap delay in seconds, length in tokens."""

    ttft: Dist = field(default_factory=lambda: Dist.lognormal(0.15, 0.4))
    itl: Dist = field(default_factory=lambda: Dist.uniform(0.015, 0.025))
    output_tokens: Dist = field(default_factory=lambda: Dist.uniform(20, 80))
    prefill_per_token: float = 0.0
    """Seconds of extra TTFT per prompt token not in the prefix cache (prefill)."""

    @property
    def context_ttft(self) -> float:
        """The older knob: extra TTFT per 1000 prompt tokens (an alias of prefill)."""
        return self.prefill_per_token * 1000


@dataclass(frozen=True, kw_only=True)
class Capacity:
    """Continuous-batching model: ``slots`` concurrent generations (0 = unlimited)."""

    slots: int = 64
    contention: float = 1.0
    max_queue: int = 0
    """Queued requests beyond which new ones get 503 (0 = unbounded queue)."""


@dataclass(frozen=True, kw_only=True)
class Faults:
    """Per-request probabilities of each injected fault (their sum must be ≤ 1)."""

    http_500: float = 0.0
    http_503: float = 0.0
    http_429: float = 0.0
    retry_after: float = 1.0
    expire_token: float = 0.0
    drop_mid_stream: float = 0.0
    malformed_chunk: float = 0.0
    stall: float = 0.0
    stall_duration: float = 5.0
    slow_body_read: float = 0.0
    slow_body_delay: float = 2.0

    def rates(self) -> dict[str, float]:
        return {
            "http_500": self.http_500,
            "http_503": self.http_503,
            "http_429": self.http_429,
            "expire_token": self.expire_token,
            "drop_mid_stream": self.drop_mid_stream,
            "malformed_chunk": self.malformed_chunk,
            "stall": self.stall,
            "slow_body_read": self.slow_body_read,
        }


@dataclass(frozen=True, kw_only=True)
class AuthConfig:
    token_ttl: float = 900.0
    refresh_ttl: float = 86400.0
    admin_email: str = "admin@example.com"
    admin_password: str = "admin-password"
    require_auth_openai: bool = False
    api_keys: tuple[str, ...] = ()
    jwks_url: str | None = None
    """Also accept RS256 JWTs signed by this JWKS (e.g. a Cognito user pool's)."""
    issuer: str | None = None
    audience: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ChatConfig:
    model: str = "loadgen-sim"
    citation_rate: float = 0.3


@dataclass(frozen=True, kw_only=True)
class TargetConfig:
    """Everything ``loadgen serve`` can be told. Defaults: realistic but quick answers."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 0
    truth: str | None = None
    truth_flush: float = 0.1
    event_loop: str = "auto"
    """``auto`` (uvloop when importable), ``uvloop`` or ``asyncio``."""
    timing: Timing = field(default_factory=Timing)
    capacity: Capacity = field(default_factory=Capacity)
    faults: Faults = field(default_factory=Faults)
    auth: AuthConfig = field(default_factory=AuthConfig)
    chat: ChatConfig = field(default_factory=ChatConfig)
    prefix_cache: PrefixCache = field(default_factory=PrefixCache)
    reasoning: Reasoning = field(default_factory=Reasoning)
    tool_calls: ToolCalls = field(default_factory=ToolCalls)
    embeddings: Embeddings = field(default_factory=Embeddings)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TargetConfig:
        """Build from the YAML shape (strings like ``200ms`` allowed); raises ConfigError."""
        return config_from_mapping(data)


class ConfigError(ValueError):
    """One or more problems, each ``(dotted key, message)``; ``str()`` lists them all."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {msg}" for key, msg in problems))


def _nonneg_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a whole number; write e.g. 64")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number; write e.g. 64") from None
    if number < 0:
        raise ValueError(f"{value!r} is negative; write 0 or more")
    return number


def _port(value: Any) -> int:
    number = _nonneg_int(value)
    if number > 65535:
        raise ValueError(f"{value!r} is not a port; write 0 (any free port) to 65535")
    return number


def _text(value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
        raise ValueError(f"{value!r} is not a non-empty string")
    return str(value)


_bool = parse_bool


def _keys(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"{value!r} is not a list of keys; write [key1, key2]")
    return tuple(_text(item).strip() for item in items if str(item).strip())


def _optional_path(value: Any) -> str | None:
    return None if value is None or value == "" else _text(value)


def _loop_name(value: Any) -> str:
    if value not in ("auto", "uvloop", "asyncio"):
        raise ValueError(f"{value!r} is not an event loop; write auto, uvloop or asyncio")
    return str(value)


Parser = Callable[[Any], Any]

# section -> key -> (dataclass field, parser); a fault key may be a rate or a mapping.
_SCHEMA: dict[str, dict[str, tuple[str, Parser]]] = {
    "": {
        "host": ("host", _text),
        "port": ("port", _port),
        "seed": ("seed", _nonneg_int),
        "truth": ("truth", _optional_path),
        "truth_flush": ("truth_flush", parse_duration),
        "event_loop": ("event_loop", _loop_name),
    },
    "timing": {
        "ttft": ("ttft", parse_dist),
        "itl": ("itl", parse_dist),
        "output_tokens": ("output_tokens", lambda v: parse_dist(v, unit="count")),
        "prefill_per_token": ("prefill_per_token", parse_duration),
        "context_ttft": ("prefill_per_token", lambda v: parse_duration(v) / 1000),
    },
    "capacity": {
        "slots": ("slots", _nonneg_int),
        "contention": ("contention", nonneg_number),
        "max_queue": ("max_queue", _nonneg_int),
    },
    "auth": {
        "token_ttl": ("token_ttl", parse_duration),
        "refresh_ttl": ("refresh_ttl", parse_duration),
        "admin_email": ("admin_email", _text),
        "admin_password": ("admin_password", _text),
        "require_auth_openai": ("require_auth_openai", _bool),
        "api_keys": ("api_keys", _keys),
        "jwks_url": ("jwks_url", _optional_path),
        "issuer": ("issuer", _optional_path),
        "audience": ("audience", _keys),
    },
    "chat": {
        "model": ("model", _text),
        "citation_rate": ("citation_rate", parse_percent),
    },
    **llm_schema(),
}

# fault key -> (rate field, {sub key: (field, parser)})
_FAULTS: dict[str, tuple[str, dict[str, tuple[str, Parser]]]] = {
    "http_500": ("http_500", {}),
    "http_503": ("http_503", {}),
    "http_429": ("http_429", {"retry_after": ("retry_after", parse_duration)}),
    "expire_token": ("expire_token", {}),
    "drop_mid_stream": ("drop_mid_stream", {}),
    "malformed_chunk": ("malformed_chunk", {}),
    "stall": ("stall", {"duration": ("stall_duration", parse_duration)}),
    "slow_body_read": ("slow_body_read", {"delay": ("slow_body_delay", parse_duration)}),
}

_SECTIONS: dict[str, type] = {
    "timing": Timing,
    "capacity": Capacity,
    "faults": Faults,
    "auth": AuthConfig,
    "chat": ChatConfig,
    **llm_sections(),
}


def _unknown(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(sorted(valid))}"
    return f"unknown key; {hint}"


def _read(
    section: Mapping[str, Any],
    prefix: str,
    schema: Mapping[str, tuple[str, Parser]],
    out: dict[str, Any],
    problems: list[tuple[str, str]],
) -> None:
    for key, value in section.items():
        path = f"{prefix}{key}"
        if key not in schema:
            problems.append((path, _unknown(str(key), list(schema))))
            continue
        name, parser = schema[key]
        try:
            out[name] = parser(value)
        except ValueError as exc:
            problems.append((path, str(exc)))


def _read_faults(section: Any, problems: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(section, Mapping):
        problems.append(("faults", "must be a mapping of fault kind to rate"))
        return out
    for key, value in section.items():
        path = f"faults.{key}"
        if key not in _FAULTS:
            problems.append((path, _unknown(str(key), list(_FAULTS))))
            continue
        rate_field, extras = _FAULTS[key]
        if isinstance(value, Mapping):
            schema = {"rate": (rate_field, parse_percent), **extras}
            _read(value, f"{path}.", schema, out, problems)
        else:
            try:
                out[rate_field] = parse_percent(value)
            except ValueError as exc:
                problems.append((path, str(exc)))
    return out


_ALIAS = "an alias of prefill_per_token (per 1000 tokens); give only prefill_per_token"


def config_from_mapping(data: Mapping[str, Any]) -> TargetConfig:
    """Validate the YAML shape and build a TargetConfig; every problem is reported."""
    problems: list[tuple[str, str]] = []
    if not isinstance(data, Mapping):
        raise ConfigError([("", "the config must be a mapping of keys to values")])
    top: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    valid = list(_SCHEMA[""]) + list(_SECTIONS)
    for key, value in data.items():
        if key in _SECTIONS:
            if key == "faults":
                sections[key] = Faults(**_read_faults(value, problems))
                continue
            if not isinstance(value, Mapping):
                problems.append((str(key), "must be a mapping"))
                continue
            fields: dict[str, Any] = {}
            if key == "timing" and {"prefill_per_token", "context_ttft"} <= set(value):
                problems.append(("timing.context_ttft", _ALIAS))
            _read(value, f"{key}.", _SCHEMA[key], fields, problems)
            try:
                sections[key] = _SECTIONS[key](**fields)
            except (TypeError, ValueError) as exc:
                problems.append((str(key), str(exc)))
        elif key in _SCHEMA[""]:
            _read({key: value}, "", _SCHEMA[""], top, problems)
        else:
            problems.append((str(key), _unknown(str(key), valid)))
    faults = sections.get("faults")
    if isinstance(faults, Faults) and sum(faults.rates().values()) > 1 + 1e-9:
        problems.append(("faults", "fault rates add up to more than 100 %; lower them"))
    if problems:
        raise ConfigError(problems)
    return TargetConfig(**top, **sections)


def config_to_mapping(config: TargetConfig) -> dict[str, Any]:
    """The YAML shape (seconds as numbers) that ``config_from_mapping`` reads back."""
    t, c, f, a, ch = config.timing, config.capacity, config.faults, config.auth, config.chat
    return {
        "host": config.host,
        "port": config.port,
        "seed": config.seed,
        "truth": config.truth,
        "truth_flush": config.truth_flush,
        "event_loop": config.event_loop,
        "timing": {
            "ttft": t.ttft.to_yaml(),
            "itl": t.itl.to_yaml(),
            "output_tokens": t.output_tokens.to_yaml(),
            "prefill_per_token": t.prefill_per_token,
        },
        "capacity": {"slots": c.slots, "contention": c.contention, "max_queue": c.max_queue},
        "faults": {
            "http_500": f.http_500,
            "http_503": f.http_503,
            "http_429": {"rate": f.http_429, "retry_after": f.retry_after},
            "expire_token": f.expire_token,
            "drop_mid_stream": f.drop_mid_stream,
            "malformed_chunk": f.malformed_chunk,
            "stall": {"rate": f.stall, "duration": f.stall_duration},
            "slow_body_read": {"rate": f.slow_body_read, "delay": f.slow_body_delay},
        },
        "auth": {
            "token_ttl": a.token_ttl,
            "refresh_ttl": a.refresh_ttl,
            "admin_email": a.admin_email,
            "admin_password": a.admin_password,
            "require_auth_openai": a.require_auth_openai,
            "api_keys": list(a.api_keys),
            "jwks_url": a.jwks_url,
            "issuer": a.issuer,
            "audience": list(a.audience),
        },
        "chat": {"model": ch.model, "citation_rate": ch.citation_rate},
        **llm_to_mapping(
            config.prefix_cache, config.reasoning, config.tool_calls, config.embeddings
        ),
    }
