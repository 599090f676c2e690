"""The notification center: submissions, payouts and failures, newest first.

Reads through ``ctx.read`` on the DB thread; refreshes on ``ctx.sync.paymentsChanged``
(bursts coalesced), every 30 s and when shown; a refresh keeps the current notification.
``arrived`` reports the newest notification id whenever it grows (also at the first load);
the window's desktop notices (``ui/desktop_notices.py``) decide what to show from it.
"""
from __future__ import annotations

import enum
from functools import partial
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QListView, QPushButton,
                               QVBoxLayout, QWidget)

from ...services.notifications import mark_read
from ...services.read_models import NotificationRow, UnreadSummary
from .. import formatting as fmt
from ..context import AppContext
from ..models.lazy_table import LazyTableModel
from ..widgets.two_line import CornerRole, DetailRole, TitleRole, TwoLineDelegate, UnreadRole
from .refresh import RELOAD_DELAY_MS

POLL_INTERVAL_MS = 30_000
URGENT_KINDS = ("funding failed", "payout failed")


class NotificationColumn(enum.IntEnum):
    NOTIFICATION = 0


class NotificationsModel(LazyTableModel):
    """One column: title, the body's first line and the time (``TwoLineDelegate`` lays
    them out; DisplayRole has the same as plain text)."""

    Columns = NotificationColumn
    HEADERS = {NotificationColumn.NOTIFICATION: "Notification"}

    def display(self, row: NotificationRow, column: NotificationColumn) -> str:
        details = " · ".join(part for part in (row.first_line, fmt.relative_moment(row.at)) if part)
        return f"{row.title}\n{details}"

    def sort_value(self, row: NotificationRow, column: NotificationColumn) -> Any:
        return row.id

    def extra(self, row: NotificationRow, column: NotificationColumn, role: int) -> Any:
        if role == Qt.ItemDataRole.FontRole and row.unread:
            font = QFont()
            font.setBold(True)
            return font
        if role == TitleRole:
            return row.title
        if role == DetailRole:
            return row.first_line
        if role == CornerRole:
            return fmt.relative_moment(row.at)
        if role == UnreadRole:
            return row.unread
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.title}\n{row.body}".strip()
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return ("Unread: " if row.unread else "") + self.display(row, column)
        return None


class NotificationsPage(QWidget):
    """Newest first; activating one opens its milestone and marks it read."""

    unreadChanged = Signal(int)
    openMilestone = Signal(int, int, int)  # job_id, contract_id, milestone_id (0: unknown)
    attention = Signal(str)   # news that needs a person now (a declined card): status bar
    arrived = Signal(int)     # the newest notification's id grew (first load included)

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.unread = -1  # not known yet
        self.needing = -1  # unread notifications that wait for a person (the badge)
        self._latest_id: int | None = None  # newest notification seen (None: first load)
        self.setObjectName("notificationsPage")
        self.model = NotificationsModel(ctx.db, self)
        self.list = self._make_list()
        self.summary = QLabel(objectName="notificationsSummaryLabel")
        self.summary.setProperty("role", "hint")
        self.empty_hint = QLabel("No notifications yet. Trainer submissions, payouts and "
                                 "payment problems appear here.",
                                 objectName="notificationsEmptyLabel", wordWrap=True)
        self.empty_hint.setProperty("role", "hint")
        self.empty_hint.hide()
        self.mark_all = QPushButton("Mark all as read", objectName="markAllReadButton",
                                    toolTip="Mark every notification as read", enabled=False)
        self.mark_all.setAccessibleName("Mark all as read")
        self._layout()
        self.list.activated.connect(self.activate)
        self.mark_all.clicked.connect(self.mark_all_read)
        self.model.loaded.connect(self._on_loaded)
        self._timer = QTimer(self, interval=POLL_INTERVAL_MS)
        self._timer.timeout.connect(self.reload)
        self._timer.start()
        if ctx.sync is not None:
            ctx.sync.paymentsChanged.connect(self.refresh)
        if getattr(ctx, "live", None) is not None:  # other seats' changes (team)
            from ..live import NOTIFICATION_TABLES
            ctx.live.on(NOTIFICATION_TABLES, self.refresh, owner=self)
        self.model.set_source(ctx.read.count_notifications, ctx.read.notifications_page)
        self._check_unread()

    def _make_list(self) -> QListView:
        view = QListView(objectName="notificationsList")
        view.setAccessibleName("Notifications")
        view.setModel(self.model)
        view.setItemDelegate(TwoLineDelegate(view))
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setUniformItemSizes(True)
        view.setAlternatingRowColors(True)
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        return view

    def _layout(self) -> None:
        title = QLabel("Notifications")
        title.setProperty("role", "title")
        top = QHBoxLayout()
        top.addWidget(title)
        top.addWidget(self.summary)
        top.addStretch()
        top.addWidget(self.mark_all)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.empty_hint)
        layout.addWidget(self.list, 1)

    # -- loading ------------------------------------------------------------------------------
    def reload(self, delay_ms: int = 0) -> None:
        """Re-read the list and the unread count (on the DB thread)."""
        self.model.reload(delay_ms)
        self._check_unread(delay_ms)

    def refresh(self) -> None:
        """Payments changed (they come in bursts): reload once they settle."""
        self.reload(RELOAD_DELAY_MS)

    def showEvent(self, event) -> None:
        self.reload()
        super().showEvent(event)

    def _check_unread(self, delay_ms: int = 0) -> None:
        (self.ctx.db.op(self, partial(self.ctx.read.unread_summary, self._latest_id))
         .success(self._unread_checked).latest("unread", delay_ms).run())

    def _unread_checked(self, summary: UnreadSummary) -> None:
        unread, needing, latest = summary.unread, summary.needing, summary.latest_id
        first_load, seen = self._latest_id is None, self._latest_id or 0
        self._latest_id = max(latest, seen)
        fresh = [row for row in summary.fresh if row.id > seen]
        if unread != self.unread:
            self.unread = unread
            self.mark_all.setEnabled(unread > 0)
            self.summary.setText(f"{fmt.count(unread)} unread" if unread else "All read")
        if needing != self.needing:  # the badge: only what still needs a person
            self.needing = needing
            self.unreadChanged.emit(needing)
        if first_load or latest > seen:
            self.arrived.emit(self._latest_id)
        for row in fresh:  # a decline must not wait until someone looks here
            if row.kind in URGENT_KINDS:
                self.attention.emit(f"{row.title}: {row.first_line}".rstrip(": "))

    def _on_loaded(self) -> None:
        self.empty_hint.setVisible(self.model.total == 0)

    # -- actions --------------------------------------------------------------------------------
    def activate(self, index: QModelIndex) -> None:
        """Open the notification's milestone and mark it read."""
        row = self.model.row_at(index.row())
        if row is None:
            return
        if row.job_id is not None:
            self.openMilestone.emit(row.job_id, row.contract_id or 0, row.milestone_id or 0)
        if row.unread:
            self.ctx.db.run(self, partial(mark_read, self.ctx.uow(), [row.id]),
                            self._after_mark)

    def mark_all_read(self) -> None:
        self.mark_all.setEnabled(False)
        self.ctx.db.run(self, partial(mark_read, self.ctx.uow(), None), self._after_mark)

    def _after_mark(self, _result: object) -> None:
        self.reload()
