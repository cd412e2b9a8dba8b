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

from loadgen.core.errors import ProfileError
from loadgen.core.profile import Profile, load_profile

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


# Pieces of YAML syntax that random text rarely spells: tags, anchors, merges, '=' (YAML
# 1.1's "value" type), dates, complex keys. Joined at random they reach the constructor's
# failures, which plain text finds about once in five runs.
TOKENS = st.lists(
    st.sampled_from(
        [
            "!ENV ",
            "!!python/object:os.system ",
            "!!binary ",
            "!!int ",
            "!!timestamp ",
            "=",
            "<<: ",
            "&a ",
            "*a",
            "? ",
            "[",
            "]",
            "{",
            "}",
            ": ",
            "- ",
            "\n",
            "  ",
            "x",
            "2001-13-01",
            "${X}",
            "name",
            "target",
        ]
    ),
    max_size=24,
).map("".join)


@FUZZ
@given(TOKENS)
def test_any_arrangement_of_yaml_tags_and_anchors_is_a_profile_or_a_profile_error(where, text):
    """Tags, anchors, aliases, merges and complex keys in any order."""
    load_text(where, text)


@pytest.mark.parametrize(
    ("text", "line", "field", "what"),
    [
        pytest.param("!ENV x\n", 1, "", "the YAML tag !ENV is not supported", id="!ENV alone"),
        pytest.param(
            "name: t\ntarget: {base_url: !ENV URL}\n",
            2,
            "target.base_url",
            "the YAML tag !ENV is not supported",
            id="!ENV as a value names its field and line",
        ),
        pytest.param(
            "name: !!python/object:os.system x\n",
            1,
            "name",
            "the YAML tag !!python/object:os.system is not supported",
            id="!!python/object is refused, never constructed",
        ),
        pytest.param(
            "name: !!python/name:os.system ''\n",
            1,
            "name",
            "the YAML tag !!python/name:os.system is not supported",
            id="!!python/name",
        ),
        pytest.param("=", 1, "", "expected a mapping", id="a file that is just '=' is text"),
        pytest.param(
            "name: t\nseed: !!int abc\n", 2, "seed", "'abc' is not a valid !!int", id="!!int abc"
        ),
        pytest.param(
            "name: !!binary xyz\n", 1, "name", "'xyz' is not a valid !!binary", id="!!binary"
        ),
        pytest.param(
            "\nname: 2001-13-01\n",
            2,
            "name",
            "'2001-13-01' is not a valid !!timestamp",
            id="a date with month 13, untagged",
        ),
        pytest.param(
            "name: !!timestamp x\n", 1, "name", "'x' is not a valid !!timestamp", id="!!timestamp"
        ),
        pytest.param("name: !!bool x\n", 1, "name", "'x' is not a valid !!bool", id="!!bool"),
        pytest.param("<<: 3\n", 1, "", "'<<' merges mappings only", id="a merge of a number"),
        pytest.param("? [a]\n: b\n", 1, "", "a key must be a plain value", id="a list as a key"),
        pytest.param(
            "a: &a {b: *a}\n",
            1,
            "a.b",
            "refers to the mapping or list that contains it",
            id="an alias inside its own anchor",
        ),
    ],
)
def test_each_yaml_tag_and_construct_is_one_problem_at_its_line(where, text, line, field, what):
    """Each becomes ``file:line: field: what — fix`` (exit 2), never a ConstructorError,
    ValueError, TypeError or RecursionError naming ``<unicode string>``."""
    where.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(where, env={})
    matching = [p for p in info.value.problems if what in p.what]
    assert matching, [str(p) for p in info.value.problems]
    problem = matching[0]
    assert (problem.file, problem.line, problem.field) == (str(where), line, field)
    assert problem.fix
    assert "<unicode string>" not in str(problem)


def test_a_yaml_tag_in_a_profile_is_exit_2_and_one_line(where, capsys):
    """Through the command line: exit 2, one line naming file, line and the fix."""
    from loadgen.cli.commands import main

    where.write_text("name: t\ntarget: {base_url: !ENV URL}\n", encoding="utf-8")
    assert main(["validate", str(where)]) == 2
    err = capsys.readouterr().err
    assert f"{where}:2: target.base_url: the YAML tag !ENV is not supported — remove it" in err
    assert "Traceback" not in err
