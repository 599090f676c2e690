"""Locate bundled data files (fonts, images) in a checkout, an install or a frozen build.

Resources live in ``resources/`` at the repository root, next to the
``opentrain_desk/`` package. A PyInstaller build must bundle that folder as
``resources`` (``datas=[("resources", "resources")]``); at run time it is then
found under ``sys._MEIPASS``. An ``opentrain_desk/resources/`` folder inside the
installed package is accepted as a fallback.
"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["resource_path", "resource_roots"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_roots() -> tuple[Path, ...]:
    """Candidate ``resources`` folders, most specific first."""
    roots: list[Path] = []
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller one-file and one-folder builds
    if bundle:
        roots.append(Path(bundle) / "resources")
    roots.append(_PACKAGE_DIR.parent / "resources")  # source checkout / editable install
    roots.append(_PACKAGE_DIR / "resources")  # data shipped inside the package
    return tuple(roots)


def resource_path(*parts: str) -> Path:
    """Absolute path of a bundled resource, e.g. ``resource_path("fonts", "DejaVuSans.ttf")``.

    Returns the first candidate that exists. If none does, returns the path under the
    primary root so the caller's "file not found" error names a sensible location.
    """
    roots = resource_roots()
    for root in roots:
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
    return roots[0].joinpath(*parts)
