"""Count output tokens with a tokenizer, for servers that report no usage (SPEC §1).

Optional: ``pip install 'loadgen[tokenizer]'`` brings tiktoken. tiktoken downloads its BPE
files on first use unless ``TIKTOKEN_CACHE_DIR`` holds them; a failure is a start error with
that hint, never a crash mid-run.
"""

from __future__ import annotations

from collections.abc import Callable

from loadgen.core.errors import StartError

__all__ = ["token_counter"]


def token_counter(name: str) -> Callable[[str], int]:
    """A function counting the tokens of a text with tiktoken encoding ``name``."""
    try:
        import tiktoken
    except ImportError:
        raise StartError(
            f"target.tokenizer: {name!r} needs tiktoken",
            "pip install 'loadgen[tokenizer]', or drop target.tokenizer",
        ) from None
    try:
        encoding = tiktoken.get_encoding(name)
    except Exception as exc:  # unknown name, or the BPE file could not be fetched
        raise StartError(
            f"target.tokenizer: cannot load {name!r}: {type(exc).__name__}",
            "use an encoding such as cl100k_base or o200k_base, and pre-fetch it "
            "into TIKTOKEN_CACHE_DIR on machines without internet",
        ) from None

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    return count
