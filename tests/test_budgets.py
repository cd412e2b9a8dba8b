"""The package keeps its size budgets and has no import cycle (issue #19, item 5).

``benchmarks/budgets.py`` prints the figures; run it to see what is over and by how much.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import grimp

ROOT = Path(__file__).resolve().parent.parent


def _budgets() -> ModuleType:
    path = ROOT / "benchmarks" / "budgets.py"
    spec = importlib.util.spec_from_file_location("budgets", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["budgets"] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_the_tree_is_within_its_budgets() -> None:
    """Median module ≤ 200 lines, none over 450; functions ≤ 60 lines and grade C or better,
    save the allow-listed declarative tables and commented parser fast paths."""
    budgets = _budgets()
    assert budgets.problems(budgets.measure(ROOT / "loadgen")) == []


def test_a_long_function_and_a_missing_allow_listed_one_are_reported(tmp_path: Path) -> None:
    """The check can fail: a 61-line function is over, and an allow-list entry that names
    nothing is reported so the list cannot go stale."""
    budgets = _budgets()
    (tmp_path / "cli").mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(59))
    (tmp_path / "cli" / "parser.py").write_text(f"def f():\n{body}    return 0\n")
    found = budgets.problems(budgets.measure(tmp_path))
    assert "cli/parser.py:f: 61 lines (budget 60)" in found
    assert any("cli/parser.py:_run_arguments: allow-listed but not found" in x for x in found)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.find_modules_directly_imported_by(nxt)))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycle_between_modules() -> None:
    """No two modules import each other, directly or round a loop, counting imports inside
    functions as well as at module level.

    Imports under ``if TYPE_CHECKING:`` are left out: they never run, so they cannot make a
    module half-initialised; the annotations they serve may name each other freely. No
    exemption is needed for ``loadgen/__init__.py``: its re-exports import the layers, and no
    module imports the package root back (grimp does not count the implicit import of a
    parent package, which Python makes before any submodule)."""
    graph = grimp.build_graph("loadgen", exclude_type_checking_imports=True)
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    """The Tarjan walk reports a three-module loop and leaves a chain alone."""
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c", "p.d"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    graph.add_import(importer="p.c", imported="p.d")
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]
