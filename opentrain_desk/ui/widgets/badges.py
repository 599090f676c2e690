"""Coloured status badges painted by a delegate; the text stays the model's DisplayRole."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ...domain.milestones import MilestoneStatus, PayoutStatus
from ..models.tables import DISPUTED, StatusRole

# (background, text) per status: calm colours, readable in light and dark palettes.
BADGE_COLOURS = {
    MilestoneStatus.NOT_FUNDED: ("#E5E7EB", "#374151"),
    MilestoneStatus.FUNDING: ("#FEF3C7", "#92400E"),
    MilestoneStatus.ACTIVE_FUNDED: ("#DBEAFE", "#1E40AF"),
    MilestoneStatus.PENDING_APPROVAL: ("#EDE9FE", "#5B21B6"),
    MilestoneStatus.PAID: ("#D1FAE5", "#065F46"),
    MilestoneStatus.REFUNDING: ("#FFEDD5", "#9A3412"),
    MilestoneStatus.REFUNDED: ("#F3F4F6", "#4B5563"),
    PayoutStatus.PENDING_SETUP: ("#FEF3C7", "#92400E"),
    PayoutStatus.PENDING_RETRY: ("#FFEDD5", "#9A3412"),
    PayoutStatus.PAID_OUT: ("#D1FAE5", "#065F46"),
    PayoutStatus.FAILED: ("#FEE2E2", "#991B1B"),
    PayoutStatus.REFUNDED: ("#F3F4F6", "#4B5563"),
    PayoutStatus.REVERSED: ("#FEE2E2", "#991B1B"),
    DISPUTED: ("#FEE2E2", "#991B1B"),
}


class BadgeDelegate(QStyledItemDelegate):
    """Paints the cell's text inside a rounded, coloured pill."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        colours = BADGE_COLOURS.get(index.data(StatusRole))
        if colours is None:
            super().paint(painter, option, index)
            return
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget else None
        if style is not None:  # selection/focus background, without the text
            option.text = ""
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter,
                              option.widget)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        metrics = option.fontMetrics
        width = min(metrics.horizontalAdvance(text) + 18, option.rect.width() - 8)
        height = min(metrics.height() + 6, option.rect.height() - 4)
        rect = QRectF(option.rect.x() + 4, option.rect.center().y() - height / 2 + 1,
                      width, height)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colours[0]))
        painter.drawRoundedRect(rect, height / 2, height / 2)
        painter.setPen(QColor(colours[1]))
        elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(width) - 12)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, elided)
        painter.restore()

    def sizeHint(self, option, index):
        hint = super().sizeHint(option, index)
        hint.setWidth(hint.width() + 24)
        return hint
