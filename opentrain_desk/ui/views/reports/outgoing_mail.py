"""Reports → Outgoing mail: every message the app owes or sent to trainers, with its state
in the mail outbox (queued / sent / failed / may have been sent / not e-mailed), the
reason, and Re-send for a failed or uncertain one. Paged by keyset from the read side."""
from __future__ import annotations

import enum
from functools import partial
from typing import Any, ClassVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView,
                               QLabel, QTableView, QVBoxLayout, QWidget)

from ....services import mail as mail_service
from ....services.read_models import OutgoingMailRow
from ... import formatting
from ...context import AppContext
from ...models.lazy_table import LazyTableModel
from ...ops import Ops, user_message
from .common import button, hint
from ..refresh import RELOAD_DELAY_MS

FILTERS = (("All messages", "all"), ("Need attention (failed, may have been sent)",
                                     "attention"), ("Queued", "queued"), ("Sent", "sent"))


class MailColumn(enum.IntEnum):
    STATUS = 0
    TO = 1
    SUBJECT = 2
    WHEN = 3
    REASON = 4


class OutgoingMailModel(LazyTableModel[OutgoingMailRow]):
    Columns = MailColumn
    HEADERS: ClassVar[dict[int, str]] = {
        MailColumn.STATUS: "Status", MailColumn.TO: "To", MailColumn.SUBJECT: "Subject",
        MailColumn.WHEN: "When", MailColumn.REASON: "Reason"}

    def __init__(self, ops: Ops, read, parent=None) -> None:
        super().__init__(ops, parent)
        self.read, self.status = read, "all"

    def set_status(self, status: str) -> None:
        self.status = status
        self.set_source(partial(self.read.count_outgoing_mail, status),
                        lambda after, limit: self.read.outgoing_mail(status, after, limit))

    def display(self, row: OutgoingMailRow, column: enum.IntEnum) -> str:
        if column is MailColumn.STATUS:
            return row.status_text
        if column is MailColumn.TO:
            return f"{row.trainer_name} <{row.to}>"
        if column is MailColumn.SUBJECT:
            return row.subject
        if column is MailColumn.WHEN:
            return formatting.moment(row.sent_at or row.at)
        return row.reason

    def extra(self, row: OutgoingMailRow, column: enum.IntEnum, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.reason or row.subject
        return None


class OutgoingMailTab(QWidget):
    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("outgoingMailTab")
        self.model = OutgoingMailModel(ctx.db, ctx.read, self)
        self.table = QTableView(objectName="outgoingMessagesTable")
        self.table.setAccessibleName("Outgoing mail")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(MailColumn.SUBJECT, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(MailColumn.REASON, QHeaderView.ResizeMode.Stretch)
        for column, width in ((MailColumn.STATUS, 130), (MailColumn.TO, 220),
                              (MailColumn.WHEN, 140)):
            self.table.setColumnWidth(column, width)
        self.filter_combo = QComboBox(objectName="outgoingMailStatusCombo")
        self.filter_combo.setAccessibleName("Show")
        for text, value in FILTERS:
            self.filter_combo.addItem(text, value)
        self.resend_button = button("resendOutgoingButton", "Re-send",
                                    "Send the selected message by e-mail again (same "
                                    "Message-ID)")
        self.summary = hint("outgoingMailSummaryLabel")
        self.status = hint("outgoingMailStatusLabel")
        top = QHBoxLayout()
        top.addWidget(QLabel("Show:", buddy=self.filter_combo))
        top.addWidget(self.filter_combo)
        top.addStretch(1)
        top.addWidget(self.resend_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.status)
        self.filter_combo.activated.connect(lambda _i: self.load())
        self.resend_button.clicked.connect(self.resend)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.loaded.connect(self._selection_changed)
        self.model.modelReset.connect(self._selection_changed)
        self._loaded = self._stale = False
        if ctx.mail_sync is not None:
            ctx.mail_sync.mailChanged.connect(self.refresh)
            ctx.mail_sync.statusChanged.connect(self.status.setText)
            self.status.setText(ctx.mail_sync.text)
        self._selection_changed()

    def showEvent(self, event) -> None:
        if not self._loaded or self._stale:
            self.load()
        super().showEvent(event)

    def load(self) -> None:
        self._loaded, self._stale = True, False
        self.model.set_status(self.filter_combo.currentData())
        self.ctx.db.op(self, self.ctx.read.mail_counts).success(self._show_counts).latest(
            "mail-counts").run()

    def refresh(self) -> None:
        if self.isVisible():
            self._stale = False
            self.model.reload(RELOAD_DELAY_MS)
            self.ctx.db.op(self, self.ctx.read.mail_counts).success(
                self._show_counts).latest("mail-counts", RELOAD_DELAY_MS).run()
        else:
            self._stale = True

    def _show_counts(self, counts) -> None:
        self.summary.setText(f"{counts.queued} queued · {counts.failed} failed · "
                             f"{counts.unknown} may have been sent")

    def current(self) -> OutgoingMailRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _selection_changed(self, *_args) -> None:
        row = self.current()
        self.resend_button.setEnabled(row is not None and row.resendable)

    def resend(self) -> None:
        row = self.current()
        if row is None or not row.resendable:
            return
        self.resend_button.setEnabled(False)
        self.ctx.db.run(self, partial(mail_service.resend, self.ctx.uow, row.id),
                        self._resent, self._failed)

    def _resent(self, _result) -> None:
        self.status.setText("Queued again: it goes out with the same Message-ID.")
        if self.ctx.mail_sync is not None:
            self.ctx.mail_sync.wake()
        self.model.reload()

    def _failed(self, error: BaseException) -> None:
        self.status.setText(user_message(error))
        self._selection_changed()
