"""The window's layout (splitters, column widths) remembered per user.

Stored with QSettings in ``ui-state.ini`` in the per-user data folder (``Settings.home``), so
each person on a shared machine keeps their own layout and no workspace holds it."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QHeaderView, QSplitter


class LayoutMemory:
    def __init__(self, path: Path) -> None:
        self.settings = QSettings(str(path), QSettings.Format.IniFormat)

    def value(self, key: str):
        return self.settings.value(key)

    def set(self, key: str, value) -> None:
        self.settings.setValue(key, value)

    def track_header(self, header: QHeaderView, key: str) -> None:
        """Restore a table's column widths now and remember them whenever one changes."""
        state = self.settings.value(key)
        if state is not None:
            header.restoreState(state)
        header.sectionResized.connect(
            lambda *_args: self.settings.setValue(key, header.saveState()))

    def track_splitter(self, splitter: QSplitter, key: str) -> None:
        state = self.settings.value(key)
        if state is not None:
            splitter.restoreState(state)
        splitter.splitterMoved.connect(
            lambda *_args: self.settings.setValue(key, splitter.saveState()))

    def sync(self) -> None:
        self.settings.sync()
