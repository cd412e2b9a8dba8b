"""Read a YAML document while remembering the line of every value, and expand ``${VAR}``.

The only module of the profile package that imports pyyaml. ``load_source`` returns plain
Python data plus a ``Lines`` map from a path (``("users", 0, "weight")``) to its 1-based line,
so validation can say ``profile.yaml:12: users[0].weight: ...`` for any value.

Variables are expanded in scalar *values* after parsing (never in the raw text, so a password
holding ``#`` or ``: `` cannot break the YAML). A plain scalar that is exactly one ``${...}``
is re-typed after expansion, so ``users: ${USERS:-10}`` is the integer 10.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from loadgen.errors import Problem, ProfileError

__all__ = ["Lines", "Path_", "Source", "load_env_file", "load_source", "parse_yaml"]

Path_ = tuple[str | int, ...]
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-((?:[^{}]|\{[^{}]*\})*))?\}")
_VAR_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?-)")


@dataclass
class Lines:
    """Path → line, with a fallback to the nearest enclosing path that has one."""

    file: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int | None:
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def problem(self, path: Path_, what: str, fix: str = "") -> Problem:
        return Problem(self.file, self.line(path), dotted(path), what, fix)


def dotted(path: Path_) -> str:
    """``("users", 0, "weight")`` → ``users[0].weight``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass
class Source:
    data: Any
    lines: Lines
    secrets: frozenset[str]


def load_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file, read with python-dotenv's quoting rules."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def parse_yaml(text: str, filename: str) -> tuple[yaml.Node | None, list[Problem]]:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader), []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = f"YAML syntax error: {exc.problem or exc.context}"
        return None, [
            Problem(filename, line, "", what, "fix the indentation or quoting on that line")
        ]
    except yaml.YAMLError as exc:
        return None, [Problem(filename, None, "", f"YAML error: {exc}", "fix the YAML syntax")]


def load_source(path: Path, env: Mapping[str, str] | None = None) -> Source:
    """Read, parse and expand one YAML file; raise ProfileError naming file and line."""
    filename = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(
            [
                Problem(
                    filename,
                    None,
                    "",
                    "file not found",
                    "check the path; it is relative to the current directory",
                )
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError([Problem(filename, None, "", f"cannot read: {exc}", "")]) from None
    if env is None:
        env = {**load_env_file(path.parent / ".env"), **os.environ}
    return source_from_text(text, filename, env)


def source_from_text(text: str, filename: str, env: Mapping[str, str]) -> Source:
    node, problems = parse_yaml(text, filename)
    if problems:
        raise ProfileError(problems)
    lines = Lines(filename)
    builder = _Builder(lines, env)
    data = builder.build(node, ()) if node is not None else {}
    if builder.problems:
        raise ProfileError(builder.problems)
    return Source(data, lines, frozenset(builder.secrets))


class _Builder:
    """Turn a composed node tree into data, recording lines and expanding variables."""

    def __init__(self, lines: Lines, env: Mapping[str, str]) -> None:
        self.lines = lines
        self.env = env
        self.problems: list[Problem] = []
        self.secrets: set[str] = set()
        self._constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.lines.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = (
                    self.build(key_node, path)
                    if not isinstance(key_node, yaml.ScalarNode)
                    else self._constructor.construct_object(key_node)
                )
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == "<<":
                    merged = self.build(value_node, path)
                    if isinstance(merged, dict):
                        for k, v in merged.items():
                            out.setdefault(k, v)
                    continue
                if key in out:
                    self.problems.append(
                        self.lines.problem(
                            (*path, str(key)), "duplicate key", "keep one of the two"
                        )
                    )
                self.lines.lines[(*path, str(key))] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, (*path, str(key)))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        value = self._constructor.construct_object(node)
        if isinstance(value, str) and "${" in value:
            return self._expand(value, node, path)
        return value

    def _expand(self, text: str, node: yaml.ScalarNode, path: Path_) -> Any:
        missing: list[str] = []

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.env:
                value = self.env[name]
                if _is_secret_name(name):
                    self.secrets.add(value)
                return value
            if default is not None:
                return default
            missing.append(name)
            return ""

        expanded = _VAR.sub(substitute, text)
        for name in missing:
            self.problems.append(
                self.lines.problem(
                    path,
                    f"${{{name}}} is not set",
                    f"export {name}=..., put it in a .env file beside the profile, "
                    f"or write ${{{name}:-default}}",
                )
            )
        whole = _VAR.fullmatch(text) is not None
        if whole and node.style is None and expanded:
            # A plain scalar that was only a variable: type it as YAML would have.
            try:
                typed = yaml.safe_load(expanded)
            except yaml.YAMLError:
                return expanded
            if isinstance(typed, int | float | bool) and not isinstance(typed, str):
                return typed
        return expanded


_SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PASS", "PW")


def _is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in _SECRET_WORDS)
