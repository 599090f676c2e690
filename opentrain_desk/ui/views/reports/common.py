"""Small widgets and helpers the Reports tabs share."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

from PySide6.QtCore import QDate, QObject, Qt
from PySide6.QtWidgets import QDateEdit, QLabel, QPushButton, QWidget

from ...formatting import DAY_FORMAT
from ...ops import Ops

ANY_DATE = QDate(2000, 1, 1)  # a date edit at its minimum shows "Any": no bound


def button(name: str, text: str, tip: str) -> QPushButton:
    widget = QPushButton(text, objectName=name, toolTip=tip)
    widget.setAccessibleName(text.rstrip("…"))
    return widget


def hint(name: str) -> QLabel:
    label = QLabel(objectName=name, wordWrap=True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setProperty("role", "hint")
    return label


def date_edit(name: str, accessible: str) -> QDateEdit:
    edit = QDateEdit(objectName=name, calendarPopup=True)
    edit.setAccessibleName(accessible)
    edit.setDisplayFormat(DAY_FORMAT)  # as the tables show dates
    edit.setMinimumDate(ANY_DATE)
    edit.setSpecialValueText("Any")
    edit.setDate(ANY_DATE)
    return edit


def date_of(edit: QDateEdit) -> date | None:
    value = edit.date()
    return None if value <= ANY_DATE else value.toPython()


def set_date(edit: QDateEdit, day: date | None) -> None:
    """Without emitting ``dateChanged`` (a period choice is not a custom range)."""
    edit.blockSignals(True)
    edit.setDate(QDate(day.year, day.month, day.day) if day else ANY_DATE)
    edit.blockSignals(False)


def show_status(widget: QWidget, text: str) -> None:
    bar = getattr(widget.window(), "statusBar", None)
    if callable(bar):
        bar().showMessage(text, 10000)


def debounce(ops: Ops, owner: QObject, key: str, delay_ms: int,
             then: Callable[[], None]) -> None:
    """Call ``then`` once input has been quiet for ``delay_ms`` (``Op.latest``)."""
    ops.op(owner, _nothing).success(lambda _none: then()).latest(key, delay_ms).run()


def _nothing() -> None:
    return None
