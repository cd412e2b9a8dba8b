"""docs/design.md's layer tables name every module where it lives (issue #19 item 5): a module
added, moved or removed without the tables following fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "loadgen"
FOLDERS = ("core", "edge", "engine", "report", "cli", "target")


def sections() -> dict[str, set[str]]:
    """The modules each folder's table names: `### `loadgen/<folder>/` …` then `| `path` |` rows."""
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    out: dict[str, set[str]] = {}
    for folder in FOLDERS:
        head = re.search(rf"^### `loadgen/{folder}/`.*$", text, re.M)
        assert head, f"docs/design.md has no table for loadgen/{folder}/"
        body = text[head.end() :].split("\n### ", 1)[0]
        out[folder] = set(re.findall(r"^\| `([^`]+\.py)` \|", body, re.M))
    return out


def test_every_module_is_listed_in_its_folder_table() -> None:
    tables = sections()
    for folder in FOLDERS:
        here = {
            str(p.relative_to(PACKAGE / folder))
            for p in (PACKAGE / folder).rglob("*.py")
            if p.relative_to(PACKAGE / folder) != Path("__init__.py")
        }
        assert tables[folder] == here, (
            f"loadgen/{folder}/: missing from docs/design.md {sorted(here - tables[folder])}, "
            f"listed but gone {sorted(tables[folder] - here)}"
        )


def test_no_module_lives_outside_a_layer_folder() -> None:
    """At the top only the package's own entry points: the API, the version, ``-m loadgen``."""
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top == {"__init__.py", "__main__.py", "_version.py", "api.py"}
