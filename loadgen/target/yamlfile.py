"""Read a YAML config file and remember the line of every key, for ``file:line:`` errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["YamlFileError", "load_yaml_with_lines"]


class YamlFileError(ValueError):
    """The file is missing or is not valid YAML; the message names the file and line."""


def _walk(node: yaml.Node, prefix: str, lines: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                path = f"{prefix}{key_node.value}"
                lines[path] = key_node.start_mark.line + 1
                _walk(value_node, f"{path}.", lines)


def load_yaml_with_lines(path: str | Path) -> tuple[Any, dict[str, int]]:
    """Return the parsed document and ``{dotted key: 1-based line}``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlFileError(f"{path}: cannot read the config file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlFileError(f"{path}{line}: invalid YAML: {problem}; fix the syntax") from None
    lines: dict[str, int] = {}
    if node is not None:
        _walk(node, "", lines)
    return ({} if data is None else data), lines
