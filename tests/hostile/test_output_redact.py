"""Issue #18 class 1, the redactor's pure rules (loadgen.core.redact): values in and out."""

from __future__ import annotations

import pytest

from loadgen.core.redact import MASK, Secrets, redact, redact_strings, redact_text, secrets_in


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        pytest.param("key=abcdef.", ["abcdef"], "key=***.", id="a whole secret is masked"),
        pytest.param(
            "x abcdef y", ["abc", "abcdef"], "x *** y", id="the longest secret goes first"
        ),
        pytest.param("body ends abcd", ["abcdefgh"], "body ends ***", id="a cut prefix is masked"),
        pytest.param(
            "ends abcd…", ["abcdefgh"], "ends ***…", id="a prefix before the cut mark is masked"
        ),
        pytest.param("ends ab", ["abcdefgh"], "ends ab", id="two characters say nothing: kept"),
        pytest.param("HTTP 500", ["50"], "HTTP 500", id="secrets under 3 characters are ignored"),
    ],
)
def test_redact_text(text: str, secrets: list[str], expected: str) -> None:
    """Whole secrets, nested secrets and a secret's first characters left at a cut."""
    assert redact_text(text, secrets) == expected


def test_secrets_in_finds_keys_queries_and_userinfo_but_not_templates_or_counts() -> None:
    """A profile's literal credentials are found wherever they are written; a template or a
    setting named like a secret (max_tokens, token_path) is not a value to mask."""
    profile = {
        "target": {"base_url": "https://me:pa55word@h.example/v1?api_key=Q1w2e3"},
        "headers": {"X-Api-Key": "literal-key", "Authorization": "Bearer tok-123"},
        "vars": {"password": "{{ vu }}-pw", "max_tokens": "200"},
        "auth": {"token_path": "access_token"},
        "path": "/chat?sig=s1g2n3&page=2",
    }
    found = secrets_in(profile)
    assert {"pa55word", "Q1w2e3", "literal-key", "Bearer tok-123", "tok-123", "s1g2n3"} <= found
    assert not {"{{ vu }}-pw", "200", "access_token", "2"} & found


def test_the_registry_learns_a_credential_without_its_scheme() -> None:
    """A header ``Bearer abc…`` teaches the bare token too: servers echo either."""
    secrets = Secrets()
    secrets.add("Bearer tok-learned-1")
    assert secrets.text("got tok-learned-1 back") == f"got {MASK} back"
    assert "Bearer tok-learned-1" in secrets


def test_histograms_are_never_rewritten() -> None:
    """Encoded histograms may hold any three characters by chance: masking would corrupt them."""
    data = {"hdr": "HISTFAAAabc", "example": "abc", "output_tokens": 5}
    assert redact_strings(data, ["abc"], skip=frozenset({"hdr"})) == {
        "hdr": "HISTFAAAabc",
        "example": MASK,
        "output_tokens": 5,
    }


def test_secret_named_keys_are_masked_and_counts_are_not() -> None:
    """The stored profile masks ``password:`` values; ``max_tokens`` is a number, kept."""
    assert redact({"password": "x", "max_tokens": 200}, []) == {"password": MASK, "max_tokens": 200}
