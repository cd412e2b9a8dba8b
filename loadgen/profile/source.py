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


_VALUE_TAG = "tag:yaml.org,2002:value"  # YAML 1.1 reads a bare ``=`` as this; we keep text
_MERGE_TAG = "tag:yaml.org,2002:merge"
_RESOLVER = yaml.resolver.Resolver()
_MAX_VALUES = 1_000_000  # aliases can make a short file expand to billions of values


class _Builder:
    """Turn a composed node tree into data, recording lines and expanding variables.

    Every way a composed document can fail to become data (a tag PyYAML's safe loader does not
    know, a value its tag cannot read, an unhashable key, an alias inside its own anchor) is a
    ``Problem`` at the node's line, never a foreign exception."""

    def __init__(self, lines: Lines, env: Mapping[str, str]) -> None:
        self.lines = lines
        self.env = env
        self.problems: list[Problem] = []
        self.secrets: set[str] = set()
        self._constructor = yaml.SafeLoader("")
        self._open: set[int] = set()  # ids of the collection nodes being built (for cycles)
        self._count = 0

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.lines.lines.setdefault(path, node.start_mark.line + 1)
        self._count += 1
        if self._count > _MAX_VALUES:
            if self._count == _MAX_VALUES + 1:
                self._problem(
                    node,
                    path,
                    f"the document expands to more than {_MAX_VALUES:,} values",
                    "use fewer aliases (*name) of large anchors",
                )
            return None
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if id(node) in self._open:
            self._problem(
                node,
                path,
                "an alias (*name) refers to the mapping or list that contains it",
                "remove the alias from inside its own anchor",
            )
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            assert isinstance(node, yaml.SequenceNode)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE_TAG:
                self._merge(out, value_node, path)
                continue
            key = self.build(key_node, path)
            try:
                duplicate = key in out
            except TypeError:  # a list or mapping as a key
                self._problem(
                    key_node,
                    path,
                    "a key must be a plain value (text or a number), not a list or mapping",
                    "write the key as plain text",
                )
                continue
            if duplicate:
                self.problems.append(
                    self.lines.problem((*path, str(key)), "duplicate key", "keep one of the two")
                )
            self.lines.lines[(*path, str(key))] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, (*path, str(key)))
        return out

    def _merge(self, out: dict[Any, Any], value_node: yaml.Node, path: Path_) -> None:
        """``<<: *anchor`` (or a list of anchors): keys not already set come from them."""
        merged = self.build(value_node, path)
        sources = merged if isinstance(merged, list) else [merged]
        if not all(isinstance(m, dict) for m in sources):
            self._problem(
                value_node,
                path,
                "'<<' merges mappings only",
                "write <<: *name where &name marks a mapping, or remove the '<<' key",
            )
            return
        for source in sources:
            for k, v in source.items():
                out.setdefault(k, v)

    def _scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        if node.tag == _VALUE_TAG:
            return node.value
        try:
            value = self._constructor.construct_object(node)
        except Exception as exc:  # safe tags' constructors raise what their parsing hits:
            # ValueError ('!!int abc'), IndexError ('!!int '), KeyError ('!!bool x'), …
            self._problem(node, path, *_unreadable(node, exc))
            return None
        if isinstance(value, str) and "${" in value:
            return self._expand(value, node, path)
        return value

    def _problem(self, node: yaml.Node, path: Path_, what: str, fix: str) -> None:
        where = dotted(path)
        self.problems.append(Problem(self.lines.file, node.start_mark.line + 1, where, what, fix))

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


def _unreadable(node: yaml.ScalarNode, exc: Exception) -> tuple[str, str]:
    """What went wrong with a scalar PyYAML's safe constructor could not read, and the fix."""
    tag = _short_tag(node.tag)
    if isinstance(exc, yaml.constructor.ConstructorError) and (
        "could not determine a constructor" in str(exc.problem)
    ):
        return (
            f"the YAML tag {tag} is not supported",
            "remove it: loadgen reads plain YAML (write ${VAR} for an environment variable)",
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        reason = f": {exc.problem}"
    elif isinstance(exc, ValueError):
        reason = f": {exc}"
    else:
        reason = ""
    resolved: str = _RESOLVER.resolve(  # type: ignore[no-untyped-call]
        yaml.ScalarNode, node.value, (True, False)
    )
    implicit = node.style is None and node.tag == resolved  # no tag written: quoting helps
    return (
        f"{node.value[:40]!r} is not a valid {tag}{reason}",
        "quote it to keep it as text" if implicit else "fix the value or remove the tag",
    )


def _short_tag(tag: str) -> str:
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag


_SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PASS", "PW")


def _is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in _SECRET_WORDS)
