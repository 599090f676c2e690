"""Reports, notifications and settings areas (filled in by later capabilities)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QListWidget, QVBoxLayout, QWidget

from ... import __version__
from ..context import AppContext


def _title(text: str) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "title")
    return label


class ReportsPage(QWidget):
    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("reportsPage")
        layout = QVBoxLayout(self)
        layout.addWidget(_title("Reports"))
        hint = QLabel("Invoices appear here once milestones are funded or approved.",
                      wordWrap=True)
        hint.setProperty("role", "hint")
        layout.addWidget(hint)
        layout.addStretch()


class NotificationsPage(QWidget):
    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("notificationsPage")
        self.list = QListWidget(objectName="notificationsList")
        self.list.setAccessibleName("Notifications")
        layout = QVBoxLayout(self)
        layout.addWidget(_title("Notifications"))
        layout.addWidget(self.list, 1)


class SettingsPage(QWidget):
    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPage")
        info = QFormLayout()
        url = ctx.uow.engine.url.render_as_string(hide_password=True)
        for label, value in (("Workspace", "Demo workspace" if ctx.settings.demo
                              else "Workspace"),
                             ("Database", url), ("Signed in as", ctx.settings.actor),
                             ("Version", __version__)):
            field = QLabel(value, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
            field.setTextFormat(Qt.TextFormat.PlainText)
            info.addRow(f"{label}:", field)
        self.layout_ = QVBoxLayout(self)
        self.layout_.addWidget(_title("Settings"))
        self.layout_.addLayout(info)
        self.layout_.addStretch()
