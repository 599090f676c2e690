"""List rows drawn as two lines (title and time, then details), unread ones bold with a dot."""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

TitleRole = Qt.ItemDataRole.UserRole + 10    # first line (bold while unread)
DetailRole = Qt.ItemDataRole.UserRole + 11   # second line, muted
CornerRole = Qt.ItemDataRole.UserRole + 12   # right of the first line, muted (a time)
UnreadRole = Qt.ItemDataRole.UserRole + 13   # bold title and a dot
MUTED = QColor("#5B6472")
UNREAD_DOT = QColor("#2563EB")


class TwoLineDelegate(QStyledItemDelegate):
    """List rows as two lines: title and time, then details; unread rows bold with a dot.

    Reads ``TitleRole``/``DetailRole``/``CornerRole``/``UnreadRole``; the DisplayRole text
    stays what tests, copy and screen readers use."""

    PAD, DOT = 8, 7

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        self.initStyleOption(option, index)
        option.text = ""
        widget = option.widget
        style = widget.style() if widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        text = option.palette.color(QPalette.ColorRole.HighlightedText if selected
                                    else QPalette.ColorRole.Text)
        muted, unread = (text if selected else MUTED), bool(index.data(UnreadRole))
        rect = option.rect.adjusted(2 * self.PAD + self.DOT, self.PAD, -self.PAD, -self.PAD)
        base = QFont(option.font)
        base.setBold(False)
        title_font = QFont(base)
        title_font.setBold(unread)
        line = QFontMetrics(base).height() + 3
        painter.save()
        if unread:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(text if selected else UNREAD_DOT)
            painter.drawEllipse(QRectF(option.rect.x() + self.PAD,
                                       rect.y() + (line - self.DOT) / 2, self.DOT, self.DOT))
        corner = str(index.data(CornerRole) or "")
        corner_width = QFontMetrics(base).horizontalAdvance(corner) + 16 if corner else 0
        top = Qt.AlignmentFlag.AlignTop
        self._text(painter, base, muted, rect.adjusted(0, 0, 0, 0),
                   Qt.AlignmentFlag.AlignRight | top, corner)
        self._text(painter, title_font, text, rect.adjusted(0, 0, -corner_width, 0),
                   Qt.AlignmentFlag.AlignLeft | top, str(index.data(TitleRole) or ""))
        self._text(painter, base, muted, rect.adjusted(0, line, 0, 0),
                   Qt.AlignmentFlag.AlignLeft | top, str(index.data(DetailRole) or ""))
        painter.restore()

    @staticmethod
    def _text(painter: QPainter, font: QFont, colour: QColor, rect, align, text: str) -> None:
        painter.setFont(font)
        painter.setPen(colour)
        elided = QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, align, elided)

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        hint = super().sizeHint(option, index)
        height = 2 * (option.fontMetrics.height() + 3) + 2 * self.PAD
        return QSize(hint.width(), height)
