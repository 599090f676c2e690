"""Payment history, per contract or across contracts (``paymentHistoryTable``).

Reads through ``ctx.read`` on the database thread and refreshes itself when
``ctx.sync.paymentsChanged`` fires (bursts coalesced: the model's reload is a debounced op);
a hidden view only notes that it is stale and reloads when it is shown again. A reload
keeps the selected payment and the scroll position (``LazyTableModel``).
"""
from __future__ import annotations

import enum
from functools import partial
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFontMetrics, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QStyledItemDelegate,
                               QStyleOptionViewItem, QTableView, QVBoxLayout, QWidget)

from ...domain.milestones import PayoutStatus
from ...services.read_models import HistoryTotals, PaymentHistoryRow
from .. import formatting as fmt
from ..context import AppContext
from ..models.lazy_table import LazyTableModel
from ..models.tables import StatusRole
from ..widgets.badges import BadgeDelegate
from ..widgets.labels import hint_label
from .refresh import RefreshWhenShown



class HistoryColumn(enum.IntEnum):
    MILESTONE = 0
    JOB = 1
    TRAINER = 2
    AMOUNT = 3
    FUNDED = 4
    APPROVED = 5
    APPROVED_BY = 6
    PAYOUT = 7
    REFS = 8


class PaymentHistoryModel(LazyTableModel):
    Columns = HistoryColumn
    HEADERS = {HistoryColumn.MILESTONE: "Milestone", HistoryColumn.JOB: "Job",
               HistoryColumn.TRAINER: "Trainer", HistoryColumn.AMOUNT: "Amount",
               HistoryColumn.FUNDED: "Funded", HistoryColumn.APPROVED: "Approved",
               HistoryColumn.APPROVED_BY: "Approved by", HistoryColumn.PAYOUT: "Payout",
               HistoryColumn.REFS: "Stripe refs"}

    @staticmethod
    def row_key(row: PaymentHistoryRow) -> int:
        return row.milestone_id

    def display(self, row: PaymentHistoryRow, column: HistoryColumn) -> str:
        if column is HistoryColumn.MILESTONE:
            return row.milestone_title
        if column is HistoryColumn.JOB:
            return row.job_title
        if column is HistoryColumn.TRAINER:
            return row.trainer_name
        if column is HistoryColumn.AMOUNT:
            return fmt.money(row.amount_cents)
        if column is HistoryColumn.FUNDED:
            return fmt.day(row.funded_at)
        if column is HistoryColumn.APPROVED:
            return fmt.day(row.approved_at)
        if column is HistoryColumn.APPROVED_BY:
            return row.approved_by or "—"
        if column is HistoryColumn.PAYOUT:
            return row.payout_status.label
        return " / ".join(row.stripe_refs) or "—"

    def sort_value(self, row: PaymentHistoryRow, column: HistoryColumn) -> Any:
        if column is HistoryColumn.AMOUNT:
            return row.amount_cents
        if column in (HistoryColumn.FUNDED, HistoryColumn.APPROVED):
            value = row.funded_at if column is HistoryColumn.FUNDED else row.approved_at
            return value.isoformat() if value else ""
        if column is HistoryColumn.PAYOUT:
            return list(PayoutStatus).index(row.payout_status)
        return self.display(row, column)

    def extra(self, row: PaymentHistoryRow, column: HistoryColumn, role: int) -> Any:
        if role == StatusRole and column is HistoryColumn.PAYOUT:
            return row.payout_status
        if role == Qt.ItemDataRole.TextAlignmentRole and column is HistoryColumn.AMOUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, column)
        return None

    @staticmethod
    def tooltip(row: PaymentHistoryRow, column: HistoryColumn) -> str:
        if column is HistoryColumn.REFS:
            return stripe_refs_text(row) or "No Stripe references yet"
        if column is HistoryColumn.PAYOUT and row.approved_at is None:
            return f"{row.status.label}: not approved yet, nothing to pay out"
        return (f"{row.milestone_title} — {fmt.money(row.amount_cents)}\n"
                f"{row.job_title} · {row.trainer_name}\nMilestone: {row.status.label}")


def stripe_refs_text(row: PaymentHistoryRow) -> str:
    labels = (("PaymentIntent", row.payment_intent_id), ("Charge", row.charge_id),
              ("Transfer", row.transfer_id))
    return "\n".join(f"{label}: {value}" for label, value in labels if value)


COLUMN_WIDTHS = {HistoryColumn.MILESTONE: 220, HistoryColumn.JOB: 200, HistoryColumn.TRAINER: 140,
                 HistoryColumn.AMOUNT: 95, HistoryColumn.FUNDED: 105,
                 HistoryColumn.APPROVED: 105, HistoryColumn.APPROVED_BY: 150,
                 HistoryColumn.PAYOUT: 180, HistoryColumn.REFS: 260}
#: Text columns sized to their content once the first rows arrive, within these bounds.
FIT_COLUMNS = {HistoryColumn.MILESTONE: (160, 300), HistoryColumn.JOB: (140, 240),
               HistoryColumn.TRAINER: (110, 170), HistoryColumn.APPROVED_BY: (100, 160)}


def elide_ids(text: str, metrics: QFontMetrics, width: int, separator: str = " / ") -> str:
    """Each identifier elided in its own middle, so every one keeps its prefix (``pi_``,
    ``tr_``) and its last characters: ``pi_3Nx…Q2a / ch_3Nx…Q2c / tr_1Pq…9Zk``."""
    parts = text.split(separator)
    room = max(0, width - metrics.horizontalAdvance(separator) * (len(parts) - 1))
    share = room // max(1, len(parts))
    return separator.join(metrics.elidedText(p, Qt.TextElideMode.ElideMiddle, share)
                          for p in parts)


class MiddleElideDelegate(QStyledItemDelegate):
    """Long identifiers keep their start and end visible (the whole ids are in the tooltip
    and copied with Ctrl+C)."""

    def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:
        super().initStyleOption(option, index)
        width = option.rect.width() - 16  # the cell's text margins
        if option.text and option.fontMetrics.horizontalAdvance(option.text) > width:
            option.text = elide_ids(option.text, option.fontMetrics, width)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class PaymentHistoryView(RefreshWhenShown, QWidget):
    """Funded and approved milestones, newest first; one contract or all of them."""

    def __init__(self, ctx: AppContext, contract_id: int | None = None, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.contract_id = ctx, contract_id
        self.filters: dict[str, Any] = {}
        self._stale = False
        self._sourced = self._fitted = False
        self.setObjectName("paymentHistoryView")
        self.model = PaymentHistoryModel(ctx.db, self)
        self.table = self._make_table()
        self.summary = hint_label(name="paymentHistorySummaryLabel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        self.model.loaded.connect(self._fit_columns)
        if ctx.sync is not None:
            ctx.sync.paymentsChanged.connect(self.refresh)
        if getattr(ctx, "live", None) is not None:  # other seats' changes (team)
            from ..live import HISTORY_TABLES
            ctx.live.on(HISTORY_TABLES, self.refresh, owner=self)
        self.reload()

    def _make_table(self) -> QTableView:
        table = QTableView(objectName="paymentHistoryTable")
        table.setAccessibleName("Payment history")
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setAlternatingRowColors(True)
        table.verticalHeader().hide()
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setItemDelegateForColumn(HistoryColumn.PAYOUT, BadgeDelegate(table))
        table.setItemDelegateForColumn(HistoryColumn.REFS, MiddleElideDelegate(table))
        header = table.horizontalHeader()
        header.setMinimumSectionSize(60)
        header.setResizeContentsPrecision(40)
        header.setStretchLastSection(True)  # the Stripe refs take what is left
        for column, width in COLUMN_WIDTHS.items():
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            table.setColumnWidth(column, width)
        if self.contract_id is not None:  # one contract: job and trainer are the same
            table.setColumnHidden(HistoryColumn.JOB, True)
            table.setColumnHidden(HistoryColumn.TRAINER, True)
        copy = QAction("Copy Stripe references", table, objectName="copyStripeRefsAction",
                       shortcut=QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(self.copy_selected_refs)
        table.addAction(copy)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        return table

    # -- loading ------------------------------------------------------------------------------
    def set_filters(self, **filters: Any) -> None:
        """Reports filters: ``date_from``, ``date_to``, ``trainer_text``, ``job_text``,
        ``payout_status`` (see ``history_queries.payment_history``)."""
        self.filters = {key: value for key, value in filters.items() if value not in (None, "")}
        self._sourced = False
        self.reload()

    def reload(self, delay_ms: int = 0) -> None:
        """Re-read the history (on the DB thread); keeps the selected payment."""
        self._stale = False
        read, args = self.ctx.read, dict(self.filters, contract_id=self.contract_id)
        if not self._sourced:
            self._sourced = True
            self.model.set_source(partial(read.count_payment_history, **args),
                                  lambda after, limit: read.payment_history(
                                      after=after, limit=limit, **args))
        else:
            self.model.reload(delay_ms)
        (self.ctx.db.op(self, partial(read.payment_history_totals, **args))
         .success(self._show_totals).latest("totals", delay_ms).run())

    def _show_totals(self, totals: HistoryTotals) -> None:
        if totals.count == 0:
            self.summary.setText("No payments yet: milestones appear here once they are "
                                 "funded, and again when they are approved and paid out.")
        else:
            self.summary.setText(f"{fmt.counted(totals.count, 'payment')}"
                                 f" · {fmt.money(totals.amount_cents)}")

    # -- selection ---------------------------------------------------------------------------
    def selected(self) -> PaymentHistoryRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _fit_columns(self) -> None:
        """Once, on the first rows: size the text columns to what they show."""
        if self._fitted or self.model.rowCount() == 0:
            return
        self._fitted = True
        for column, (low, high) in FIT_COLUMNS.items():
            if not self.table.isColumnHidden(column):
                wanted = max(self.table.sizeHintForColumn(column),
                             self.table.horizontalHeader().sectionSizeHint(column))
                self.table.setColumnWidth(column, min(max(wanted, low), high))

    def copy_selected_refs(self) -> None:
        row = self.selected()
        if row is not None and row.stripe_refs:
            QGuiApplication.clipboard().setText(stripe_refs_text(row))
