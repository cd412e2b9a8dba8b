"""A server's tokenizer.json through Hugging Face tokenizers (issue 20.2)."""

from __future__ import annotations

import sys

import pytest

from loadgen.core.bpe import DEFAULT_FILE
from loadgen.core.errors import StartError
from loadgen.edge.hftokenizer import load_tokenizer

pytest.importorskip("tokenizers")


def test_the_shipped_file_loads_and_counts_like_the_pure_reader():
    """loadgen's own tokenizer.json through tokenizers: byte-level, so additive."""
    from loadgen.core.bpe import default_tokenizer

    tok = load_tokenizer(DEFAULT_FILE)
    text = 'The "if" statement is used for conditional execution.'
    assert tok.additive
    assert tok.encode(text) == default_tokenizer().encode(text)
    assert tok.count(text) == default_tokenizer().count(text)
    assert tok.decode(tok.encode(text)) == text


def test_without_the_library_loading_is_a_start_error_with_the_pip_line(monkeypatch):
    """No tokenizers installed: a start error naming the extra, never an ImportError."""
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(StartError) as caught:
        load_tokenizer("model/tokenizer.json")
    assert "pip install 'loadgen[tokenizer]'" in caught.value.hint


def test_a_missing_file_is_a_start_error_saying_which_file(tmp_path):
    with pytest.raises(StartError, match="cannot read tokenizer") as caught:
        load_tokenizer(tmp_path / "nope.json")
    assert "tokenizer.json file of the server's model" in caught.value.hint
