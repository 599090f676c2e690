"""Layering rules, checked on the source text (AST only: nothing is imported).

* ``opentrain_desk/ui/`` must not import ``opentrain_desk.persistence``,
  ``opentrain_desk.payments`` or ``sqlalchemy`` (top level or inside functions);
* ``opentrain_desk/services/`` must not import ``opentrain_desk.persistence.orm`` nor
  ``sqlalchemy``; only ``services/unit_of_work.py``, the adapter seam, imports persistence;
* no import cycle between modules of ``opentrain_desk``, in-function imports included
  (``if TYPE_CHECKING:`` imports are ignored: they never run).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "opentrain_desk"
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Import:
    module: str   # the importing module, dotted
    target: str   # the imported module (for ``from x import y``: ``x.y`` if a module, else x)
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every import statement, at any depth, except under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def scan(root: Path, package: str = PACKAGE) -> dict[str, list[Import]]:
    """``{module: [imports]}`` for every module of ``package`` under ``root``."""
    files = {module_name(p, root): p for p in (root / package).rglob("*.py")}
    found: dict[str, list[Import]] = {}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        result = []
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                result += [Import(module, alias.name, node.lineno) for alias in node.names]
                continue
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                result.append(Import(module, sub if sub in files else base, node.lineno))
        found[module] = result
    return found


def _within(target: str, prefix: str) -> bool:
    return target == prefix or target.startswith(prefix + ".")


def layering_violations(graph: dict[str, list[Import]]) -> list[str]:
    problems = []
    for module, imports in sorted(graph.items()):
        if _within(module, f"{PACKAGE}.ui"):
            banned = (f"{PACKAGE}.persistence", f"{PACKAGE}.payments", "sqlalchemy")
        elif (_within(module, f"{PACKAGE}.services")
              and module != f"{PACKAGE}.services.unit_of_work"):
            banned = (f"{PACKAGE}.persistence", "sqlalchemy")
        else:
            continue
        problems += sorted({f"{module}:{imp.line} imports {imp.target}" for imp in imports
                            if any(_within(imp.target, b) for b in banned)})
    return problems


def import_cycles(graph: dict[str, list[Import]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted.

    An edge goes from a module to each module of the package it imports; importing
    ``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``, which are left out: the
    package's ``__init__`` files here import nothing of their own package."""
    edges = {m: sorted({i.target for i in imps if i.target in graph and i.target != m})
             for m, imps in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(start: str) -> None:  # iterative Tarjan (no recursion limit)
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(edges[succ])))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
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
                        cycles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return sorted(cycles)


def cycle_edges(graph: dict[str, list[Import]], cycle: list[str]) -> list[str]:
    """The imports inside one cycle, for the failure message."""
    members = set(cycle)
    return sorted({f"{i.module}:{i.line} -> {i.target}" for m in cycle for i in graph[m]
                   if i.target in members and i.target != m})


# -- the rules on the real tree ---------------------------------------------------------------

def test_ui_and_services_respect_the_layers():
    problems = layering_violations(scan(ROOT))
    assert not problems, "layering violations:\n" + "\n".join(problems)


def test_no_import_cycles():
    graph = scan(ROOT)
    cycles = import_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n\n".join(
        "\n".join(cycle_edges(graph, cycle)) for cycle in cycles)


# -- the checker itself -----------------------------------------------------------------------

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


PACKAGE_FILES = {f"{PACKAGE}/__init__.py": "", f"{PACKAGE}/ui/__init__.py": "",
                 f"{PACKAGE}/services/__init__.py": "",
                 f"{PACKAGE}/persistence/__init__.py": "",
                 f"{PACKAGE}/persistence/orm.py": "", f"{PACKAGE}/payments/__init__.py": "",
                 f"{PACKAGE}/payments/outbox.py": ""}


def test_checker_reports_ui_imports_of_lower_layers_in_every_spelling(tmp_path):
    root = _tree(tmp_path, PACKAGE_FILES | {
        f"{PACKAGE}/ui/a.py": "from ..persistence import orm\n",
        f"{PACKAGE}/ui/b.py": "def f():\n    import sqlalchemy as sa\n",
        f"{PACKAGE}/ui/c.py": "class C:\n    def m(self):\n"
                              "        from opentrain_desk.payments.outbox import X\n",
        f"{PACKAGE}/ui/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from ..persistence.orm import jobs\n",
        f"{PACKAGE}/ui/e.py": "from ..services import jobs\n",
    })
    problems = layering_violations(scan(root))
    assert problems == [f"{PACKAGE}.ui.a:1 imports {PACKAGE}.persistence.orm",
                        f"{PACKAGE}.ui.b:2 imports sqlalchemy",
                        f"{PACKAGE}.ui.c:3 imports {PACKAGE}.payments.outbox"]


def test_checker_reports_services_on_the_orm_but_not_the_unit_of_work(tmp_path):
    root = _tree(tmp_path, PACKAGE_FILES | {
        f"{PACKAGE}/services/a.py": "from ..persistence.orm import jobs\n",
        f"{PACKAGE}/services/b.py": "from sqlalchemy.exc import IntegrityError\n",
        f"{PACKAGE}/services/unit_of_work.py": "import sqlalchemy\n"
                                               "from ..persistence import orm\n",
    })
    assert layering_violations(scan(root)) == [
        f"{PACKAGE}.services.a:1 imports {PACKAGE}.persistence.orm",
        f"{PACKAGE}.services.b:1 imports sqlalchemy.exc"]


def test_checker_finds_cycles_hidden_in_functions(tmp_path):
    root = _tree(tmp_path, PACKAGE_FILES | {
        f"{PACKAGE}/services/a.py": "from . import b\n",
        f"{PACKAGE}/services/b.py": "def f():\n    from .c import g\n",
        f"{PACKAGE}/services/c.py": "def g():\n    from opentrain_desk.services import a\n",
        f"{PACKAGE}/services/d.py": "from typing import TYPE_CHECKING\nfrom . import a\n"
                                    "if TYPE_CHECKING:\n    from . import e\n",
        f"{PACKAGE}/services/e.py": "from . import d\n",
    })
    graph = scan(root)
    assert import_cycles(graph) == [[f"{PACKAGE}.services.{m}" for m in "abc"]]
    assert cycle_edges(graph, import_cycles(graph)[0])[0] == (
        f"{PACKAGE}.services.a:1 -> {PACKAGE}.services.b")
