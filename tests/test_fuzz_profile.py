"""Fuzzing the profile loader: any YAML document gives a Profile or a clear ProfileError.

A profile is the user's input; a mistake in it must come back as ``file:line: field: what``
(exit 2), never as a traceback. Documents are drawn both as raw text (the YAML parser's
edge cases) and as YAML built from the profile's own keys (so the validator goes deep).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadgen.errors import ProfileError
from loadgen.profile import Profile, load_profile

KEYS = [
    "name",
    "target",
    "base_url",
    "builtin",
    "timeout",
    "users",
    "tasks",
    "chat",
    "http",
    "ws",
    "weight",
    "think_time",
    "load",
    "stages",
    "duration",
    "model",
    "rate",
    "thresholds",
    "slo",
    "report",
    "data",
    "auth",
    "kind",
    "journey",
    "on_start",
    "seed",
    "category",
    "path",
    "method",
    "max_tokens",
    "stream",
    "verify",
    "headers",
    "uniform",
    "constant",
    "max_line",
    "max_response_size",
    "graceful_stop",
    "ramp_up",
    "checks",
    "extract",
    "repeat",
    "vars",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "builtin",
            "http://127.0.0.1:1",
            "30s",
            "5%",
            "20/s",
            "${X}",
            "${Y:-3}",
            "openai",
            "closed",
            "open",
            "1MiB",
            "-1s",
            "",
            "💥",
            "\x00",
        ]
    ),
    st.text(max_size=12),
)
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=6),
    ),
    max_leaves=30,
)
# A valid skeleton with random parts swapped in reaches the deepest checks.
BASE: dict[str, Any] = {
    "target": {"base_url": "builtin"},
    "users": [{"tasks": [{"chat": {"category": "simple"}}]}],
    "load": {"users": 2, "duration": "10s"},
}


@pytest.fixture(scope="module")
def where(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "p.yaml"


def load_text(path: Path, text: str) -> Profile | None:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        return load_profile(path, env={})
    except ProfileError as exc:
        problems = exc.problems
    assert problems, "a ProfileError names at least one problem"
    for problem in problems:
        assert str(problem).startswith(("p.yaml", str(path))), problem
    return None


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=200))
def test_any_text_is_a_profile_or_a_profile_error(where, text):
    """Raw text, including broken YAML, tabs, anchors and control characters."""
    load_text(where, text)


@FUZZ
@given(DOCS)
def test_any_yaml_document_is_a_profile_or_a_profile_error(where, doc):
    """Documents built from the profile's own keys with values of every type."""
    load_text(where, yaml.safe_dump(doc, allow_unicode=True))


@FUZZ
@given(st.sampled_from(["target", "users", "load"]), DOCS, st.sampled_from(KEYS))
def test_a_valid_profile_with_one_part_replaced_never_crashes(where, section, value, key):
    """One section (or one key inside it) of a valid profile replaced by random data."""
    doc: dict[str, Any] = yaml.safe_load(yaml.safe_dump(BASE))
    if isinstance(doc[section], dict) and key != section:
        doc[section][key] = value
    else:
        doc[section] = value
    load_text(where, yaml.safe_dump(doc, allow_unicode=True))
