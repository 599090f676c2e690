"""Reports and notifications areas (filled in by later capabilities)."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWidget

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

