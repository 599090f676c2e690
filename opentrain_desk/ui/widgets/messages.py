"""Non-blocking message boxes (``open()``, never ``exec()``), so the event loop keeps running."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def confirm(parent: QWidget, name: str, title: str, text: str, yes_text: str,
            on_yes: Callable[[], None], cancel_text: str | None = None,
            cancel_is_default: bool = False) -> QMessageBox:
    """Ask before ``on_yes``; ``cancel_is_default`` when Enter should keep things as they
    are (e.g. before discarding what was typed)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.Cancel, parent)
    box.setObjectName(name)
    box.setTextFormat(Qt.TextFormat.PlainText)
    yes = box.addButton(yes_text, QMessageBox.ButtonRole.AcceptRole)
    yes.setObjectName("confirmYesButton")
    cancel = box.button(QMessageBox.StandardButton.Cancel)
    cancel.setObjectName("confirmNoButton")
    if cancel_text:
        cancel.setText(cancel_text)
    box.setDefaultButton(cancel if cancel_is_default else yes)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda button: on_yes() if button is yes else None)
    box.open()
    return box


def inform(parent: QWidget, name: str, title: str, text: str,
           icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> QMessageBox:
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName(name)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
