"""Print the size budgets of the package and exit 1 if one is broken (issue #19, item 5).

The budgets: the median module is at most 200 lines and none is over 450; no function is over
60 lines (``end_lineno - lineno + 1``, docstring included) unless it is a declarative table
listed in ``TABLES``; no function has a radon cyclomatic grade of D or worse unless it is a
parser fast path listed in ``FAST_PATHS``. A fast path is exempt from the length budget too:
what keeps it one function (no call per line or per event) is also what makes it long. Each
fast path must say so in its own source, with a comment containing "one function".

    python benchmarks/budgets.py
"""

from __future__ import annotations

import ast
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from radon.complexity import cc_rank, cc_visit
from radon.visitors import Class, Function

PACKAGE = Path(__file__).resolve().parent.parent / "loadgen"

MEDIAN_LINES = 200
MODULE_LINES = 450
FUNCTION_LINES = 60
WORST_GRADE = "C"  # D, E and F are over budget

# Declarative tables: long because they list things, not because they branch. Keys are
# "path under loadgen/:qualified name".
TABLES = {
    # The argparse table of `loadgen run`: one add_argument call per option, in --help order.
    "cli/parser.py:_run_arguments",
}

# Parser fast paths: they run once per read or per token, and a call per line or per event
# would cost more than the work itself (docs/performance.md).
FAST_PATHS = {
    "core/sse.py:SSEDecoder.feed",  # one read of an event stream, whole events in C scans
    "core/sse.py:SSEDecoder._lines",  # the WHATWG line machine for what the fast paths leave
    "core/readers.py:OpenAIReader._bulk",  # a read of compact events counted without json
    "core/readers.py:OpenAIReader.feed",  # a paced read (one token event) counted in C scans
    "core/chat.py:parse_openai_chunk",  # one streamed token's chunk, _loads inlined
}


@dataclass(frozen=True)
class Func:
    """One function or method: where it is, how long and how branchy."""

    key: str  # "cli/commands.py:main", "core/sse.py:SSEDecoder.feed"
    lines: int
    complexity: int = 0

    @property
    def grade(self) -> str:
        return str(cc_rank(self.complexity))


@dataclass
class Tree:
    """What the budgets are measured on: every module's length and every function."""

    modules: dict[str, int] = field(default_factory=dict)
    functions: list[Func] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)


def _walk(node: ast.AST, prefix: str, out: dict[str, tuple[int, int]]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{child.name}"
            if not isinstance(child, ast.ClassDef):
                end = child.end_lineno or child.lineno
                out.setdefault(name, (child.lineno, end))
            _walk(child, f"{name}.", out)
        else:
            _walk(child, prefix, out)


def _grades(source: str) -> dict[str, int]:
    """Radon's complexity per qualified function name (methods as ``Class.name``)."""
    out: dict[str, int] = {}

    def add(block: Function | Class, prefix: str) -> None:
        name = f"{prefix}{block.name}"
        if isinstance(block, Class):
            for method in block.methods:
                add(method, f"{name}.")
            for inner in block.inner_classes:
                add(inner, f"{name}.")
            return
        out.setdefault(name, block.complexity)
        for closure in block.closures:
            add(closure, f"{name}.")

    for block in cc_visit(source):
        if isinstance(block, Function) and block.is_method:
            continue  # listed again under its class
        add(block, "")
    return out


def measure(package: Path = PACKAGE) -> Tree:
    """Read every module of the package."""
    tree = Tree()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree.modules[rel] = len(lines)
        tree.sources[rel] = lines
        spans: dict[str, tuple[int, int]] = {}
        _walk(ast.parse(source, filename=str(path)), "", spans)
        grades = _grades(source)
        for name, (first, last) in spans.items():
            key = f"{rel}:{name}"
            tree.spans[key] = (first, last)
            tree.functions.append(Func(key, last - first + 1, grades.get(name, 0)))
    return tree


def _says_why(tree: Tree, key: str) -> bool:
    first, last = tree.spans[key]
    body = tree.sources[key.split(":", 1)[0]][first - 1 : last]
    return any("#" in line and "one function" in line.lower() for line in body)


def problems(tree: Tree) -> list[str]:
    """Every broken budget, one line each; empty when the tree is within budget."""
    out: list[str] = []
    median = statistics.median(tree.modules.values())
    if median > MEDIAN_LINES:
        out.append(f"median module is {median:g} lines (budget {MEDIAN_LINES})")
    for rel, lines in tree.modules.items():
        if lines > MODULE_LINES:
            out.append(f"{rel}: {lines} lines (budget {MODULE_LINES})")
    for func in tree.functions:
        fast = func.key in FAST_PATHS
        if func.lines > FUNCTION_LINES and func.key not in TABLES and not fast:
            out.append(f"{func.key}: {func.lines} lines (budget {FUNCTION_LINES})")
        if func.grade > WORST_GRADE and not fast:
            out.append(f"{func.key}: radon grade {func.grade} ({func.complexity})")
    for key in sorted(TABLES | FAST_PATHS):
        if key not in tree.spans:
            out.append(f"{key}: allow-listed but not found (update benchmarks/budgets.py)")
    for key in sorted(FAST_PATHS):
        if key in tree.spans and not _says_why(tree, key):
            out.append(f"{key}: fast path without a comment saying why it is one function")
    return out


def report(tree: Tree, largest: int = 10) -> list[str]:
    """The figures, then the broken budgets."""
    sizes = sorted(tree.modules.items(), key=lambda item: -item[1])
    lines = [
        f"modules: {len(tree.modules)}",
        f"median lines: {statistics.median(tree.modules.values()):g} (budget {MEDIAN_LINES})",
        f"largest modules (budget {MODULE_LINES}):",
        *(f"  {lines:5d}  {rel}" for rel, lines in sizes[:largest]),
        "allow-listed functions:",
        *(
            f"  {f.lines:5d} lines  grade {f.grade} ({f.complexity:2d})  {f.key}"
            for f in tree.functions
            if f.key in TABLES | FAST_PATHS
        ),
    ]
    broken = problems(tree)
    lines.append(f"over budget: {len(broken)}")
    lines.extend(f"  {line}" for line in broken)
    return lines


def main() -> int:
    tree = measure()
    print("\n".join(report(tree)))
    return 1 if problems(tree) else 0


if __name__ == "__main__":
    sys.exit(main())
