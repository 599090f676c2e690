"""The invoice table of Reports: its model (filtered, sorted and paged by keyset on the read
side) and the Download column's link delegate."""
from __future__ import annotations

import enum
from functools import partial
from typing import Any, ClassVar

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from ....reports.export_common import download_name
from ....services.read_models import InvoiceFilters, InvoiceRow
from ... import formatting
from ...models.lazy_table import LazyTableModel
from ...ops import Ops

#: Footer parts per invoice series: money in and money out are never added together.
DIRECTIONS = (("EMP", "funded (in)"), ("PAY", "paid out"), ("SUB", "subscriptions"),
              ("CN", "refunded"))


def directions_text(by_kind: dict[str, int]) -> str:
    parts = [f"{label} {formatting.money(by_kind[kind])}" for kind, label in DIRECTIONS
             if kind in by_kind]
    return " · ".join(parts)


class InvoiceColumn(enum.IntEnum):
    NUMBER = 0
    PROJECT = 1
    BILL_TO = 2
    BILLING = 3
    AMOUNT = 4
    STATUS = 5
    DATE = 6
    DOWNLOAD = 7


#: Columns the user can sort by (SQL-side) and their read-side sort key.
SORT_KEY = {InvoiceColumn.NUMBER: "number", InvoiceColumn.PROJECT: "project",
            InvoiceColumn.BILLING: "billing_type", InvoiceColumn.AMOUNT: "amount",
            InvoiceColumn.STATUS: "status", InvoiceColumn.DATE: "date"}
DOWNLOAD_TEXT = "Download PDF"


class InvoicesModel(LazyTableModel[InvoiceRow]):
    """Issued invoices, filtered, sorted and paged in SQL (``sort()`` re-queries)."""

    Columns = InvoiceColumn
    HEADERS: ClassVar[dict[int, str]] = {
        InvoiceColumn.NUMBER: "Number", InvoiceColumn.PROJECT: "Project",
        InvoiceColumn.BILL_TO: "Bill to / payee", InvoiceColumn.BILLING: "Billing type",
        InvoiceColumn.AMOUNT: "Amount", InvoiceColumn.STATUS: "Status",
        InvoiceColumn.DATE: "Date", InvoiceColumn.DOWNLOAD: "Download"}

    def __init__(self, ops: Ops, read, parent=None) -> None:
        super().__init__(ops, parent)
        self.read = read
        self.filters = InvoiceFilters()
        self.sort_key, self.descending = "date", True

    def set_filters(self, filters: InvoiceFilters) -> None:
        self.filters = filters
        self._requery()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = SORT_KEY.get(column)
        if key is None:  # the Download column: nothing to sort by
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (key, descending) != (self.sort_key, self.descending):
            self.sort_key, self.descending = key, descending
            if self._page is not None:
                self._requery()

    def _requery(self) -> None:
        read, filters = self.read, self.filters
        self.set_source(partial(read.count_invoices, filters),
                        partial(_page, read, filters, self.sort_key, self.descending))

    def display(self, row: InvoiceRow, column: InvoiceColumn) -> str:
        if column is InvoiceColumn.NUMBER:
            return row.number
        if column is InvoiceColumn.PROJECT:
            return row.project_name
        if column is InvoiceColumn.BILL_TO:
            return row.bill_to_name
        if column is InvoiceColumn.BILLING:
            return row.billing_type
        if column is InvoiceColumn.AMOUNT:
            return formatting.money(row.amount_cents)
        if column is InvoiceColumn.STATUS:
            return row.payment_status
        if column is InvoiceColumn.DATE:
            return formatting.day(row.issue_date)
        return DOWNLOAD_TEXT

    def sort_value(self, row: InvoiceRow, column: InvoiceColumn) -> Any:
        if column is InvoiceColumn.AMOUNT:
            return row.amount_cents if row.amount_cents is not None else -1
        if column is InvoiceColumn.DATE:
            return row.issue_date.isoformat()
        return self.display(row, column)

    def extra(self, row: InvoiceRow, column: InvoiceColumn, role: int) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and column is InvoiceColumn.AMOUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is InvoiceColumn.DOWNLOAD:
                return f"Save {download_name(row.number)}"
            to = "Payee" if row.kind == "PAY" else "Bill to"
            return f"{row.number} · {row.description}\n{to}: {row.bill_to_name}"
        return None


def _page(read, filters: InvoiceFilters, sort: str, descending: bool,
          after: InvoiceRow | None, limit: int) -> list[InvoiceRow]:
    """Keyset: the rows after ``after`` in the order the list is sorted."""
    return read.list_invoices(filters, sort=sort, descending=descending, after=after,
                              limit=limit)


class DownloadDelegate(QStyledItemDelegate):
    """The Download column as a link-styled action; a click emits ``clicked(row)``."""

    clicked = Signal(int)

    def paint(self, painter: QPainter, option, index) -> None:
        self.initStyleOption(option, index)
        text, option.text = option.text, ""
        widget = option.widget
        widget.style().drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        colour = option.palette.color(QPalette.ColorRole.HighlightedText if selected
                                      else QPalette.ColorRole.Link)
        font = QFont(option.font)
        font.setUnderline(bool(option.state & QStyle.StateFlag.State_MouseOver))
        painter.save()
        painter.setFont(font)
        painter.setPen(colour)
        painter.drawText(option.rect.adjusted(8, 0, -4, 0),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        painter.restore()

    def editorEvent(self, event, model, option, index) -> bool:
        if (event.type() == QEvent.Type.MouseButtonRelease
                and event.button() == Qt.MouseButton.LeftButton
                and option.rect.contains(event.position().toPoint())):
            self.clicked.emit(index.row())
        return False  # the view still selects the row
