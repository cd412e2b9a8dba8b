"""Text a server or a profile supplied, made safe for the place it is written to.

A server's error body or a profile's names can carry ANSI escape sequences (which recolour,
retitle or rewrite a terminal), C0/C1 control characters, bidirectional overrides (which make
text read differently from what it is) and characters XML 1.0 forbids. Every writer passes such
text through one of these: ``terminal`` for the console and ``loadgen check``, ``xml`` for
JUnit, ``csv_cell`` for CSV. HTML is escaped by jinja and cleaned with ``terminal`` as well.
Printable Unicode (accents, CJK, emoji) is kept. Sans-I/O.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["csv_cell", "terminal", "xml"]

# ESC followed by a CSI (ESC [ … final), an OSC/DCS/APC/PM/SOS string (ended by BEL or ESC \),
# or a two-character sequence; the 8-bit CSI (U+009B) and OSC (U+009D) forms too.
_ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# C0 and C1 controls, DEL, and the bidirectional embeddings, overrides and isolates.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_NOT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_WHITESPACE = re.compile("[\t\n\r\v\f\u2028\u2029]+")
# What XML 1.0 forbids (§2.2 Char), after controls are gone: surrogates, U+FFFE, U+FFFF.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")
_FORMULA = ("=", "+", "-", "@")


def terminal(text: str, *, lines: bool = False) -> str:
    """``text`` with escape sequences and control characters removed; tabs and line breaks
    become one space (a cell or a line stays one line), or are kept with ``lines``."""
    if text.isprintable():  # the common case: nothing to strip
        return text
    text = _ANSI.sub("", text)
    if lines:
        return _CONTROL_NOT_LINES.sub("", text)
    return _CONTROL.sub("", _WHITESPACE.sub(" ", text))


def xml(text: str) -> str:
    """``text`` holding only characters XML 1.0 allows (escaping is ElementTree's job)."""
    return _NOT_XML.sub("", terminal(text))


def csv_cell(value: Any) -> Any:
    """A CSV cell: text without control characters, and a leading ``'`` where a spreadsheet
    would read the text as a formula (``=``, ``+``, ``-``, ``@``); numbers as they are."""
    if not isinstance(value, str):
        return value
    text = terminal(value)
    if text.startswith(_FORMULA) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
