"""Settings → Workspace: what this window works on (read-only facts)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGroupBox, QWidget

from .... import __version__
from ...context import AppContext
from .common import label


class WorkspaceSection(QGroupBox):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Workspace", parent, objectName="workspaceGroup")
        form = QFormLayout(self)
        for name, value in (("Workspace", "Demo workspace" if ctx.settings.demo
                             else "Workspace"),
                            ("Database", ctx.workspace_label), ("Signed in as", ctx.settings.actor),
                            ("Version", __version__)):
            field = label(value)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{name}:", field)
