"""``{{ variable }}`` templates in profile strings, rendered per VU with Jinja's sandbox.

Jinja (already a dependency for reports) gives users filters and expressions
(``{{ email | lower }}``, ``{{ range(1, 6) | random }}``) without loadgen inventing a language;
the sandbox keeps a profile from reaching Python internals. Strings without ``{{`` are never
compiled, so the hot path pays nothing for templating it does not use.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment

__all__ = [
    "BUILTINS",
    "TemplateError",
    "check",
    "is_template",
    "render",
    "render_value",
    "undeclared",
]

# Unknown names are caught when the profile loads (``undeclared``); at run time a variable
# that is declared but not yet set (extracted by a later step) renders as "".
_ENV = SandboxedEnvironment(autoescape=False)
_ENV.globals["uuid"] = lambda: uuid.uuid4().hex
# Variables every VU has; the rest come from vars:, data rows, extract: and auth.
BUILTINS = frozenset(
    {"vu", "iteration", "run", "uuid", "prompt", "user_class", "range", "request_id"}
)


class TemplateError(ValueError):
    """A template cannot be parsed, or names a variable the VU does not have."""


@lru_cache(maxsize=4096)
def _compile(text: str) -> Any:
    try:
        return _ENV.from_string(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template {text!r}: {exc.message}") from None


def check(text: str) -> None:
    """Raise TemplateError if ``text`` is not a valid template."""
    if "{{" in text or "{%" in text:
        _compile(text)


def undeclared(value: Any) -> set[str]:
    """Variable names the templates inside ``value`` (str, dict, list) refer to."""
    names: set[str] = set()
    if isinstance(value, str):
        if "{{" in value or "{%" in value:
            try:
                names |= meta.find_undeclared_variables(_ENV.parse(value))
            except TemplateSyntaxError as exc:
                raise TemplateError(f"template {value!r}: {exc.message}") from None
    elif isinstance(value, Mapping):
        for k, v in value.items():
            names |= undeclared(k) | undeclared(v)
    elif isinstance(value, list | tuple):
        for v in value:
            names |= undeclared(v)
    return names


def is_template(text: str) -> bool:
    """Does ``text`` hold a ``{{ expression }}`` or a ``{% statement %}``?"""
    return "{{" in text or "{%" in text


def render(text: str, variables: Mapping[str, Any]) -> str:
    """Render one string; strings without a template come back unchanged (and uncompiled)."""
    if "{{" not in text and "{%" not in text:
        return text
    try:
        return str(_compile(text).render(variables))
    except UndefinedError as exc:
        raise TemplateError(f"template {text!r}: {exc.message}") from None


def render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON-like value (keys too)."""
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, Mapping):
        return {render(str(k), variables): render_value(v, variables) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(v, variables) for v in value]
    return value
