"""Keep secrets out of everything loadgen writes: results, reports, logs, error messages.

Two rules: values of keys that name a secret (password, token, secret, api key,
authorization) become ``***``; and every known secret value (from variables whose names say
secret, or auth sections) is replaced wherever it appears inside a string.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "is_secret_key", "redact", "redact_text"]

MASK = "***"
_WORDS = (
    "password",
    "secret",
    "token",
    "api_key",
    "api-key",
    "apikey",
    "authorization",
    "credential",
)


def is_secret_key(key: str) -> bool:
    k = key.lower()
    return any(w in k for w in _WORDS)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        if s and len(s) >= 3:  # never mask "1" or "" out of every number
            text = text.replace(s, MASK)
    return text


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of JSON-like ``value`` with secret keys and secret values masked."""
    secrets = tuple(secrets)
    if isinstance(value, dict):
        return {
            k: (MASK if is_secret_key(str(k)) and v else redact(v, secrets))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, secrets) for v in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value
