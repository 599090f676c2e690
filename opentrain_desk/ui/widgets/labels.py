"""Labels for user data: always plain text, never wider than the space they are given."""
from __future__ import annotations

import re

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QWidget

ZERO_WIDTH_SPACE = "\u200b"
_UNBROKEN = re.compile(r"\S{40,}")


def breakable(text: str, every: int = 30) -> str:
    """Long unbroken runs (a URL, a pasted blob) get break opportunities so a word-wrapped
    label wraps them instead of growing as wide as the run."""
    def split(match: re.Match) -> str:
        run = match.group(0)
        return ZERO_WIDTH_SPACE.join(run[i:i + every] for i in range(0, len(run), every))
    return _UNBROKEN.sub(split, text)


def plain_label(text: str = "", name: str = "", wrap: bool = False,
                role: str = "") -> QLabel:
    """A label showing ``text`` exactly as typed (``<b>`` stays ``<b>``)."""
    label = QLabel(objectName=name, wordWrap=wrap)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(breakable(text) if wrap else text)
    if role:
        label.setProperty("role", role)
    return label


def wrapping_label(name: str = "", role: str = "") -> QLabel:
    """A plain-text, word-wrapped label whose width comes from the layout, not its text."""
    label = plain_label(name=name, wrap=True, role=role)
    policy = label.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)
    label.setMinimumWidth(120)
    return label


class ElidedLabel(QLabel):
    """One line of plain text elided to the width it gets (right, or in the middle for ids);
    the whole text is in the tooltip and copied by Ctrl+C or the context menu."""

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight, minimum_chars: int = 8,
                 **properties) -> None:
        super().__init__(parent, **properties)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._full, self._mode, self._minimum_chars = "", mode, minimum_chars
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        copy = QAction("Copy", self, objectName="copyLabelAction",
                       shortcut=QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(self.copy)
        self.addAction(copy)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full = text or ""
        self.setToolTip(self._full)
        self._elide()
        self.updateGeometry()

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        return super().text()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self._full)

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        margins = self.contentsMargins()
        return QSize(metrics.horizontalAdvance(self._full) + margins.left() + margins.right()
                     + 4, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        sample = self._full[:self._minimum_chars] + "…"
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(sample) + margins.left() + margins.right()
        return QSize(min(width, self.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, self._mode, max(width, 0))
        QLabel.setText(self, shown)


def hint_label(text: str = "", name: str = "") -> QLabel:
    """A muted, word-wrapped plain-text line under a list (summaries, statuses)."""
    label = QLabel(text, objectName=name, wordWrap=True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setContentsMargins(2, 3, 2, 3)
    label.setProperty("role", "hint")
    return label


def action_button(name: str, text: str, tip: str) -> QPushButton:
    """A push button with its accessible name set to its text."""
    button = QPushButton(text, objectName=name, toolTip=tip)
    button.setAccessibleName(text)
    return button
