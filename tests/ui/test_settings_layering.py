"""Settings modules stay on their side of the line: no persistence, payments or SQLAlchemy,
no engine, no company use cases or settings keys of their own, every module small."""
from __future__ import annotations

import ast
from pathlib import Path

import opentrain_desk.ui.views.settings as package

FORBIDDEN = ("opentrain_desk.persistence", "opentrain_desk.payments", "sqlalchemy")
MODULES = sorted(Path(package.__file__).parent.glob("*.py"))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "opentrain_desk.ui.views.settings".rsplit(".", node.level - 1)[0] \
                if node.level else ""
            module = f"{base}.{node.module}" if base and node.module else (node.module or base)
            names.add(module)
    return names


def test_settings_modules_import_no_storage_or_payments_internals():
    assert len(MODULES) >= 10
    for path in MODULES:
        bad = [name for name in imported(path) if name.startswith(FORBIDDEN)]
        assert bad == [], f"{path.name} imports {bad}"
        text = path.read_text()
        assert ".engine" not in text and "ctx.runner" not in text, path.name


def test_company_use_cases_live_in_the_service_only():
    for path in MODULES:
        tree = ast.parse(path.read_text())
        defined = {node.name for node in ast.walk(tree)
                   if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        assigned = {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                    for target in node.targets if isinstance(target, ast.Name)}
        assert not {"load_company", "save_company", "set_logo", "current_logo"} & defined
        assert not [name for name in assigned if name.startswith("COMPANY_")], path.name


def test_settings_modules_are_small():
    for path in MODULES:
        assert len(path.read_text().splitlines()) < 400, path.name
