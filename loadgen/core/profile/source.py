"""Read a YAML document while remembering the line of every value, and expand ``${VAR}``.

The only module of the profile package that imports pyyaml. ``load_source`` returns plain
Python data plus a ``Lines`` map from a path (``("users", 0, "weight")``) to its 1-based line,
so validation can say ``profile.yaml:12: users[0].weight: ...`` for any value.

Variables are expanded in scalar *values* after parsing (never in the raw text, so a password
holding ``#`` or ``: `` cannot break the YAML). A plain scalar that is exactly one ``${...}``
is re-typed after expansion, so ``users: ${USERS:-10}`` is the integer 10.

A profile is untrusted input, so every way YAML can make a few bytes cost a lot is bounded
before the model is built: the bytes read (``MAX_PROFILE_BYTES``; pools pass their own), the
nesting depth (PyYAML composes recursively), the values aliases expand to ("billion laughs")
and all values together. Only the standard tags are read; any other is a problem.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from loadgen.core.errors import Problem, ProfileError

__all__ = [
    "MAX_PROFILE_BYTES",
    "Lines",
    "Path_",
    "Source",
    "load_env_file",
    "load_source",
    "parse_yaml",
]

MAX_PROFILE_BYTES = 1 << 20  # a profile is a page of YAML; 1 MiB takes PyYAML about a second
MAX_DEPTH = 64  # profiles nest about 8 deep; PyYAML's composer recurses per level
MAX_ALIASED_VALUES = 100_000  # values reached through aliases (*name), all aliases together

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
    """``KEY=VALUE`` lines of a ``.env`` file, read with python-dotenv's quoting rules (a
    regular file of at most ``MAX_PROFILE_BYTES``: a device or FIFO is not one)."""
    if not path.is_file():
        return {}
    if path.stat().st_size > MAX_PROFILE_BYTES:
        raise ProfileError(
            [
                Problem(
                    str(path),
                    None,
                    "",
                    f"the file is larger than {MAX_PROFILE_BYTES >> 10:,} KiB",
                    "a .env file holds a few variables: remove what is not KEY=VALUE",
                )
            ]
        )
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


class _TooDeep(yaml.composer.ComposerError):
    pass


class _DepthLimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing to compose deeper than ``MAX_DEPTH`` (its composer is
    recursive: 5,000 opening brackets would end in a RecursionError)."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _TooDeep(None, None, f"deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse_yaml(text: str, filename: str) -> tuple[yaml.Node | None, list[Problem]]:
    try:
        return yaml.compose(text, Loader=_DepthLimitedLoader), []
    except _TooDeep as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        what = f"lists and mappings nest {exc.problem}"
        return None, [Problem(filename, line, "", what, "flatten it: a profile nests ~8 deep")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = f"YAML syntax error: {exc.problem or exc.context}"
        return None, [
            Problem(filename, line, "", what, "fix the indentation or quoting on that line")
        ]
    except yaml.YAMLError as exc:
        return None, [Problem(filename, None, "", f"YAML error: {exc}", "fix the YAML syntax")]


def load_source(
    path: Path, env: Mapping[str, str] | None = None, *, max_bytes: int = MAX_PROFILE_BYTES
) -> Source:
    """Read, parse and expand one YAML file of at most ``max_bytes``; raise ProfileError
    naming file and line."""
    filename = str(path)
    try:
        with path.open("rb") as f:  # bounded: a FIFO or /dev/zero has no size to stat
            raw = f.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise ProfileError(
                [
                    Problem(
                        filename,
                        None,
                        "",
                        f"the file is larger than {max_bytes >> 10:,} KiB",
                        "a profile is a page of YAML: keep large data in a data file "
                        "(data.questions, data.rows)",
                    )
                ]
            )
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ProfileError(
            [
                Problem(
                    filename,
                    None,
                    "",
                    "file not found",
                    "check the path (relative to the current directory), or name a shipped "
                    "profile: `loadgen profiles` lists them",
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
    try:
        data = builder.build(node, ()) if node is not None else {}
    except _TooMany as exc:
        raise ProfileError([exc.problem]) from None
    if builder.problems:
        raise ProfileError(builder.problems)
    return Source(data, lines, frozenset(builder.secrets))


_VALUE_TAG = "tag:yaml.org,2002:value"  # YAML 1.1 reads a bare ``=`` as this; we keep text
_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_RESOLVER = yaml.resolver.Resolver()
_MAX_VALUES = 1_000_000  # all values of one document (a 16 MiB pool file holds fewer)


class _TooMany(Exception):
    """Building stops at once (one problem, not a cascade): the document expands too far."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


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
        self._built: set[int] = set()  # ids of the nodes built once: building again is an alias
        self._count = 0
        self._aliased = 0
        self._alias_at: tuple[yaml.Node, Path_] | None = None  # the outermost alias in use

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.lines.lines.setdefault(path, node.start_mark.line + 1)
        self._count += 1
        if self._count > _MAX_VALUES:
            raise _TooMany(
                self._too_many(node, path, f"the document holds more than {_MAX_VALUES:,} values")
            )
        outermost = self._alias_at is None and id(node) in self._built
        if outermost:
            self._alias_at = (node, path)
        if self._alias_at is not None:
            self._aliased += 1
            if self._aliased > MAX_ALIASED_VALUES:
                at, at_path = self._alias_at
                raise _TooMany(
                    self._too_many(
                        at,
                        at_path,
                        f"aliases (*name) expand to more than {MAX_ALIASED_VALUES:,} values",
                    )
                )
        self._built.add(id(node))
        try:
            return self._build(node, path)
        finally:
            if outermost:
                self._alias_at = None

    def _too_many(self, node: yaml.Node, path: Path_, what: str) -> Problem:
        fix = "use fewer aliases of large anchors, or split the data into a data file"
        return Problem(self.lines.file, node.start_mark.line + 1, dotted(path), what, fix)

    def _build(self, node: yaml.Node, path: Path_) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if node.tag not in _COLLECTION_TAGS:  # !!python/object/apply:… on a list, !!set, !x
            self._problem(
                node,
                path,
                f"the YAML tag {_short_tag(node.tag)} is not supported",
                "remove it: loadgen reads plain YAML mappings and lists",
            )
            return None
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
            except (yaml.YAMLError, ValueError):  # ValueError: an integer of 5,000 digits
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
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return (
            f"an integer of {len(node.value):,} digits is too long to read",
            "write a smaller number",
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
