"""An optional date, typed (the user's locale, ISO, or "Dec 20, 2026") or picked from a calendar.

Empty means "no date"; no sentinel date stands for it, so every real date (2000-01-01
included) is kept as typed.
"""
from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QLocale, QPoint, QSize, Qt, Signal
from PySide6.QtWidgets import (QCalendarWidget, QFrame, QLineEdit, QStyle, QTableView,
                               QVBoxLayout, QWidget)

from .. import formatting as fmt

_ENGLISH = QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
_FIXED_FORMATS = ("yyyy-MM-dd", "yyyy/M/d", "MMM d, yyyy", "MMMM d, yyyy", "MMM d yyyy",
                  "d MMM yyyy", "d MMMM yyyy")


def _locale_formats(locale: QLocale) -> list[str]:
    formats = []
    for kind in (QLocale.FormatType.ShortFormat, QLocale.FormatType.LongFormat):
        pattern = locale.dateFormat(kind)
        if "yyyy" not in pattern:
            pattern = pattern.replace("yy", "yyyy")
        formats.append(pattern)
    return formats


def parse_date(text: str, locale: QLocale | None = None) -> date | None:
    """``None`` for empty text; a date in the locale's formats, ISO or English month names.

    Raises ``ValueError`` for anything else."""
    text = " ".join(text.split())
    if not text:
        return None
    locale = locale or QLocale()
    candidates = [(locale, pattern) for pattern in _locale_formats(locale)]
    candidates += [(_ENGLISH, pattern) for pattern in _FIXED_FORMATS]
    if locale.territory() == QLocale.Country.UnitedStates:
        candidates.append((_ENGLISH, "M/d/yyyy"))
    for loc, pattern in candidates:
        parsed = loc.toDate(text, pattern)
        if parsed.isValid():
            return parsed.toPython()
    raise ValueError(text)


def format_date(value: date) -> str:
    """As the tables show dates (``ui.formatting.day``), so a typed date reads back alike."""
    return fmt.day(value)


def example_text(locale: QLocale | None = None) -> str:
    sample = QDate(2026, 12, 20)
    local = (locale or QLocale()).toString(sample, _locale_formats(locale or QLocale())[0])
    return f"{local}, Dec 20, 2026 or 2026-12-20"


class CalendarPopup(QFrame):
    """The month view under a date field, large enough for every day and weekday name."""

    picked = Signal(object)  # datetime.date

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("datePopup")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.calendar = QCalendarWidget(objectName="datePopupCalendar")
        self.calendar.setGridVisible(False)
        self.calendar.setVerticalHeaderFormat(
            QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
        self.calendar.clicked.connect(self._pick)
        self.calendar.activated.connect(self._pick)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.calendar)

    def open_at(self, current: date | None, below: QWidget) -> None:
        shown = QDate(current) if current else QDate.currentDate()
        self.calendar.setSelectedDate(shown)
        self.calendar.setCurrentPage(shown.year(), shown.month())
        self.ensurePolished()
        self.calendar.ensurePolished()
        self.calendar.setMinimumSize(self._legible_size())
        self.adjustSize()
        self.move(below.mapToGlobal(QPoint(0, below.height())))
        self.show()
        self.calendar.setFocus()

    def _legible_size(self) -> QSize:
        """Cells as large as their contents (day numbers, weekday names) ask for."""
        view = self.calendar.findChild(QTableView)
        model = view.model()
        frame = 2 * view.frameWidth() + 4
        width = sum(view.sizeHintForColumn(c) for c in range(model.columnCount())) + frame
        height = sum(view.sizeHintForRow(r) for r in range(model.rowCount())) + frame
        navigation = self.calendar.findChild(QWidget, "qt_calendar_navigationbar")
        if navigation is not None:
            width = max(width, navigation.sizeHint().width())
            height += navigation.sizeHint().height()
        return self.calendar.sizeHint().expandedTo(QSize(width, height))

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)

    def _pick(self, value: QDate) -> None:
        self.picked.emit(value.toPython())
        self.close()


class DateField(QLineEdit):
    """Type a date or pick one (Alt+Down, F4 or the arrow); empty means no date."""

    def __init__(self, empty_text: str = "No date", parent: QWidget | None = None,
                 **properties) -> None:
        super().__init__(parent, **properties)
        self.setPlaceholderText(empty_text)
        self.setClearButtonEnabled(True)
        self.setToolTip(f"Type a date ({example_text()}) or pick one (Alt+Down); "
                        "leave empty for none.")
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowDown)
        self.pick_action = self.addAction(icon, QLineEdit.ActionPosition.TrailingPosition)
        self.pick_action.setObjectName("pickDateAction")
        self.pick_action.setToolTip("Pick from a calendar (Alt+Down)")
        self.pick_action.triggered.connect(self.open_popup)
        self.popup: CalendarPopup | None = None
        self.editingFinished.connect(self._normalise)

    # -- value ----------------------------------------------------------------------------
    def value(self) -> date | None:
        """The date, ``None`` when empty; ``ValueError`` when the text is not a date."""
        return parse_date(self.text())

    def safe_value(self) -> date | None:
        try:
            return self.value()
        except ValueError:
            return None

    def setDate(self, value: date | QDate | None) -> None:  # noqa: N802 - Qt-style name
        if isinstance(value, QDate):
            value = value.toPython() if value.isValid() else None
        self.setText(format_date(value) if value else "")

    def _normalise(self) -> None:
        value = self.safe_value()
        if value is not None:
            self.setText(format_date(value))

    # -- popup ----------------------------------------------------------------------------
    def open_popup(self) -> None:
        if self.popup is None:
            self.popup = CalendarPopup(self)
            self.popup.picked.connect(self._picked)
        self.popup.open_at(self.safe_value(), self)

    def _picked(self, value: date) -> None:
        self.setDate(value)
        self.textEdited.emit(self.text())
        self.setFocus()

    def keyPressEvent(self, event) -> None:
        alt_down = (event.key() == Qt.Key.Key_Down
                    and event.modifiers() & Qt.KeyboardModifier.AltModifier)
        if alt_down or event.key() == Qt.Key.Key_F4:
            self.open_popup()
            return
        super().keyPressEvent(event)


__all__ = ["CalendarPopup", "DateField", "format_date", "parse_date"]
