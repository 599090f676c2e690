"""The application icon at every size in ``resources/icons`` (Qt picks per screen DPI)."""
from __future__ import annotations

from PySide6.QtGui import QIcon

from ..resources import resource_path

__all__ = ["ICON_SIZES", "app_icon"]

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)


def app_icon() -> QIcon:
    icon = QIcon()
    for size in ICON_SIZES:
        path = resource_path("icons", f"opentrain-desk-{size}.png")
        if path.exists():
            icon.addFile(str(path))
    return icon
