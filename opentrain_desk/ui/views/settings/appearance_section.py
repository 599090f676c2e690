"""Settings → Appearance: light, dark or follow the system, and whether desktop notices
are shown; both remembered per user (seat), not per workspace."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox,
                               QLabel, QWidget)

from ...desktop_notices import NOTICES_KEY, notices_enabled

from ....hygiene.palette import THEME_KEY, apply_preference, theme_override

CHOICES = (("Follow the system", ""), ("Light", "light"), ("Dark", "dark"))


class AppearanceSection(QGroupBox):
    def __init__(self, memory, parent: QWidget | None = None) -> None:
        super().__init__("Appearance", parent)
        self.setObjectName("appearanceSection")
        self.memory = memory
        self.theme = QComboBox(objectName="themeCombo")
        self.theme.setAccessibleName("Theme")
        for text, value in CHOICES:
            self.theme.addItem(text, value)
        saved = (memory.value(THEME_KEY) if memory is not None else "") or ""
        self.theme.setCurrentIndex(max(0, self.theme.findData(saved)))
        forced = theme_override()
        note = QLabel(objectName="themeNoteLabel", wordWrap=True)
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setProperty("role", "hint")
        note.setText(f"OPENTRAIN_DESK_THEME={forced} is set for this launch and takes "
                     "precedence; unset it to use this choice." if forced else
                     "Also set per launch with the environment variable "
                     "OPENTRAIN_DESK_THEME=light or dark.")
        layout = QFormLayout(self)
        layout.addRow("Theme:", self.theme)
        layout.addRow(note)
        self.notices = QCheckBox("Desktop notices for work to review and payment problems",
                                 objectName="desktopNoticesCheck")
        self.notices.setToolTip("A system notification when a trainer submits work, a payout "
                                "or bank debit fails or a dispute opens; clicking it opens "
                                "the milestone.")
        self.notices.setChecked(notices_enabled(memory))
        layout.addRow(self.notices)
        self.theme.currentIndexChanged.connect(self._changed)
        self.notices.toggled.connect(self._notices_toggled)

    def _notices_toggled(self, on: bool) -> None:
        if self.memory is not None:
            self.memory.set(NOTICES_KEY, "true" if on else "false")
            self.memory.sync()

    def _changed(self, _index: int) -> None:
        value = self.theme.currentData() or ""
        if self.memory is not None:
            self.memory.set(THEME_KEY, value)
            self.memory.sync()
        apply_preference(value)
