"""Keep secrets out of everything loadgen writes: results, reports, logs, error messages.

Two rules: values of keys that name a secret (password, token, secret, api key,
authorization) become ``***``; and every known secret value is replaced wherever it appears
inside a string. A value is known to be secret when its variable's name says so, when the
profile marks it ``secret: true``, when it sits under a secret-named key or query parameter or
in a URL's userinfo (``secrets_in``), or when auth learned it during the run (a login's token,
an AWS session token): ``Secrets`` is the one registry a run's writers redact with.

Servers cut what they echo, and loadgen cuts long messages: a text that ends in the first
characters of a secret (3 or more) has that fragment masked too, so a cut never leaks a prefix.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "MASK",
    "Secrets",
    "is_secret_key",
    "redact",
    "redact_strings",
    "redact_text",
    "secrets_in",
]

MASK = "***"
_MIN = 3  # never mask "1" or "" out of every number
_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "api-key",
    "apikey",
    "authorization",
    "credential",
    "cookie",
    "signature",
)
# Query parameters that carry credentials beside the words above (?key=…, ?sig=…).
_QUERY_WORDS = frozenset({"key", "sig", "code", "auth", "pass", "pwd", "access_key"})
_CUT = "…"  # what loadgen appends where it cut a text


# Keys that name a secret's word but hold none: counts and settings (max_tokens, token_path).
_NOT_SECRET = ("tokens", "tokenizer", "_path", "_source", "_field", "_header", "_before")


def is_secret_key(key: str) -> bool:
    k = key.lower()
    if not any(w in k for w in _WORDS):
        return False
    # a threshold's key names its metric before a scope and a statistic: input_tokens.p50
    metric = k.split(".", 1)[0].split("{", 1)[0]
    return not any(k.endswith(n) or metric.endswith(n) for n in _NOT_SECRET)


def _ordered(secrets: Iterable[str]) -> tuple[str, ...]:
    """Longest first: masking ``abc`` inside ``abcdef`` first would leave ``def`` behind."""
    return tuple(sorted({s for s in secrets if s and len(s) >= _MIN}, key=len, reverse=True))


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret masked, and a secret's first characters where it ends."""
    ordered = secrets if isinstance(secrets, Secrets) else _ordered(secrets)
    for s in ordered:
        if s in text:
            text = text.replace(s, MASK)
    return _mask_cut_prefix(text, ordered)


def _mask_cut_prefix(text: str, ordered: Iterable[str]) -> str:
    body = text[: -len(_CUT)] if text.endswith(_CUT) else text
    tail = text[len(body) :]
    longest = 0
    for s in ordered:
        for n in range(min(len(s) - 1, len(body)), _MIN - 1, -1):
            if n <= longest:
                break
            if body.endswith(s[:n]):
                longest = n
                break
    return body[:-longest] + MASK + tail if longest else text


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of JSON-like ``value`` with secret keys and secret values masked."""
    ordered = secrets if isinstance(secrets, Secrets) else _ordered(secrets)
    if isinstance(value, dict):
        return {
            k: (MASK if is_secret_key(str(k)) and v else redact(v, ordered))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, ordered) for v in value]
    if isinstance(value, str):
        return redact_text(value, ordered)
    return value


def redact_strings(value: Any, secrets: Iterable[str], *, skip: frozenset[str]) -> Any:
    """A copy of JSON-like ``value`` with secret values masked in every string, keys kept
    (a result's ``output_tokens`` is no secret); values under ``skip`` keys are left as they
    are (an encoded histogram may hold any three characters by chance)."""
    ordered = secrets if isinstance(secrets, Secrets) else _ordered(secrets)
    if not ordered:
        return value
    if isinstance(value, dict):
        return {
            k: v if k in skip else redact_strings(v, ordered, skip=skip) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_strings(v, ordered, skip=skip) for v in value]
    if isinstance(value, str):
        return redact_text(value, ordered)
    return value


def secrets_in(value: Any) -> set[str]:
    """The secret values written in a profile's data: strings under secret-named keys, query
    parameters named like credentials, and a URL's userinfo. Templates (``{{ … }}``) are not
    values yet: the VU registers what they render to."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(v, str) and is_secret_key(str(k)):
                found |= {v, *_credential_part(v)} if "{{" not in v else set()
            else:
                found |= secrets_in(v)
    elif isinstance(value, list | tuple):
        for v in value:
            found |= secrets_in(v)
    elif isinstance(value, str) and ("?" in value or "@" in value):
        found |= _url_secrets(value)
    return {s for s in found if len(s) >= _MIN}


def _credential_part(value: str) -> set[str]:
    """``Bearer abc`` → ``abc``: a server may echo the credential without its scheme."""
    scheme, _, rest = value.strip().partition(" ")
    return {rest.strip()} if rest.strip() and scheme.isalpha() else set()


def _url_secrets(text: str) -> set[str]:
    try:
        parts = urlsplit(text.strip())
        found = set()
        if "@" in parts.netloc:
            user, password = unquote(parts.username or ""), unquote(parts.password or "")
            # An HTTP client sends userinfo as Basic auth: base64 is no disguise.
            basic = b64encode(f"{user}:{password}".encode()).decode()
            found = {user, password, basic} if password else {user}
        for name, v in parse_qsl(parts.query, keep_blank_values=False):
            if is_secret_key(name) or name.lower() in _QUERY_WORDS:
                found.add(v)
    except ValueError:  # not a URL after all (a bracket, a bad port)
        return set()
    return {s for s in found if "{{" not in s}


class Secrets:
    """The secret values of one run, iterated longest first; grows as auth learns tokens.

    One instance per run: the engine seeds it from the profile and every VU adds what its
    auth obtains, so every writer that redacts with it sees the same, complete set."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._ordered: tuple[str, ...] = ()
        self.update(values)

    def add(self, value: str) -> None:
        """Remember ``value`` (and its credential without a scheme: ``Bearer abc`` → abc)."""
        if len(value) >= _MIN and value not in self._values:
            self.update({value, *_credential_part(value)})

    def update(self, values: Iterable[str]) -> None:
        new = {v for v in values if len(v) >= _MIN} - self._values
        if new:
            self._values |= new
            self._ordered = _ordered(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._ordered)

    def __len__(self) -> int:
        return len(self._values)

    def text(self, text: str) -> str:
        """``text`` with every secret of the run masked (see ``redact_text``)."""
        return redact_text(text, self) if self._ordered else text
