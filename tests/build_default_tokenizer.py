"""Build loadgen's default tokenizer (loadgen/data/tokenizer.json) and its corpus.

    python tests/build_default_tokenizer.py            # retrain tokenizer.json from corpus.txt
    python tests/build_default_tokenizer.py --corpus   # first re-extract corpus.txt as well

It lives in tests/ because a test imports it: tests/test_bpe.py retrains from the shipped
corpus and checks the result is byte-for-byte the shipped file, so the file in the package
is always the one this script makes (it is not shipped in the wheel; nothing at run time
needs ``tokenizers``).

The corpus is the prose of Python's own reference documentation as the standard library
ships it (``pydoc_data.topics``, under the PSF licence, copied beside it as
corpus-LICENSE.txt): grammar, code and lists dropped, one paragraph a line, ASCII only.
Re-extracting depends on the Python version (its docs change), so ``--corpus`` is a
deliberate step; training from the shipped corpus.txt is deterministic.

The tokenizer is a byte-level BPE of about 8,000 tokens, pre-tokenized by a GPT-2 style
regex written with ASCII classes only, so Python's ``re`` and the Rust library split text
the same way and loadgen/core/bpe.py can encode it in pure Python, bit for bit.
"""

from __future__ import annotations

import re
import shutil
import sys
import sysconfig
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "loadgen" / "data"
VOCAB_SIZE = 8000
MAX_CORPUS_BYTES = 400_000

_WS = r"\t\n\x0B\x0C\r "
# contractions | letters | digits | other non-space | spaces not before a word | spaces
PATTERN = (
    rf"'(?:[sdmt]|ll|ve|re)| ?[A-Za-z]+| ?[0-9]+| ?[^{_WS}A-Za-z0-9]+"
    rf"|[{_WS}]+(?![^{_WS}])|[{_WS}]+"
)

_ASCII = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)
_MARKUP = re.compile(r"\*{1,2}([^*\s][^*]*?)\*{1,2}")
_HEADING = re.compile(r"^[*=\-~^]{3,}$")
_BULLET = re.compile(r"^(?:[*-]|[0-9]+\.) ")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def _paragraphs(text: str, fenced: bool = False) -> list[list[str]]:
    """Blank-line separated paragraphs; a list item starts a new one; with ``fenced``,
    Markdown code fences are dropped."""
    out: list[list[str]] = []
    paragraph: list[str] = []
    in_code = False
    for line in [*text.splitlines(), ""]:
        if fenced and line.lstrip().startswith("```"):
            in_code = not in_code
            line = ""
        if in_code or not line.strip() or _BULLET.match(line):
            if paragraph:
                out.append(paragraph)
            paragraph = [line] if line.strip() and not in_code else []
            continue
        paragraph.append(line)
    return out


def _prose(paragraph: list[str]) -> str | None:
    """One paragraph (or list item) as a line of prose, or None when it is code, grammar, a
    table or a heading."""
    first = _BULLET.sub("", paragraph[0])
    if first.startswith((" ", "+", "|", ">", "#", "`")):
        return None
    if any(_HEADING.match(line.strip()) for line in paragraph):
        return None
    text = " ".join([first.strip(), *(line.strip() for line in paragraph[1:])])
    if "::=" in text or ">>>" in text or text.count(" ") < 12:
        return None
    text = _LINK.sub(r"\1", text.translate(_ASCII)).replace("`", '"')
    text = _MARKUP.sub(r"\1", text)
    text = text.encode("ascii", "ignore").decode()
    return re.sub(r" {2,}", " ", text).strip()


def extract_corpus() -> str:
    """The prose of ``pydoc_data.topics`` (sorted by topic), then of loadgen's docs/*.md."""
    from pydoc_data.topics import topics

    paragraphs = [p for name in sorted(topics) for p in _paragraphs(topics[name])]
    for doc in sorted((DATA.parent.parent / "docs").glob("*.md")):
        paragraphs += _paragraphs(doc.read_text(), fenced=True)
    lines: list[str] = []
    seen: set[str] = set()
    for paragraph in paragraphs:
        if (text := _prose(paragraph)) and text not in seen:
            seen.add(text)
            lines.append(text)
    out, size = [], 0
    for line in lines:
        size += len(line) + 1
        if size > MAX_CORPUS_BYTES:
            break
        out.append(line)
    return "\n".join(out) + "\n"


def train(corpus: str) -> str:
    """tokenizer.json (compact) of a byte-level BPE trained on ``corpus``."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=1,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus.splitlines(keepends=True), trainer=trainer)
    return tok.to_str(pretty=False) + "\n"


def main(argv: list[str]) -> int:
    if "--corpus" in argv:
        (DATA / "corpus.txt").write_text(extract_corpus(), newline="\n")
        licence = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
        shutil.copyfile(licence, DATA / "corpus-LICENSE.txt")
    (DATA / "tokenizer.json").write_text(train((DATA / "corpus.txt").read_text()), newline="\n")
    for name in ("corpus.txt", "tokenizer.json"):
        print(f"{name}: {(DATA / name).stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
