"""Payment history (per contract or across contracts) and the messages owed to a trainer.

Both views read through ``persistence.history_queries`` on ``ctx.runner`` (the DB thread)
and refresh themselves when ``ctx.sync.paymentsChanged`` fires; a hidden view only notes
that it is stale and reloads when it is shown again.
"""
from __future__ import annotations

import enum
import html
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from PySide6.QtCore import QItemSelectionModel, QRectF, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import (QAction, QColor, QDesktopServices, QFont, QFontMetrics,
                           QGuiApplication, QKeySequence, QPainter, QPalette)
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QHBoxLayout, QHeaderView,
                               QLabel, QListWidget, QListWidgetItem, QPushButton, QSplitter,
                               QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView,
                               QTextBrowser, QVBoxLayout, QWidget)

from ...domain.milestones import PayoutStatus
from ...domain.money import format_cents
from ...persistence import history_queries as hq
from ...services.notifications import mark_sent
from ..context import AppContext
from ..models.lazy_table import LazyTableModel
from ..models.tables import StatusRole
from ..widgets.badges import BadgeDelegate

RELOAD_DELAY_MS = 300  # paymentsChanged comes in bursts (busy on/off): coalesce them


# -- shared helpers ---------------------------------------------------------------------------

def local_date(value: datetime | None) -> str:
    return value.astimezone().strftime("%b %d, %Y") if value else "—"


def short_date(value: datetime, now: datetime | None = None) -> str:
    """``Nov 26`` this year, ``Nov 26, 2025`` before: for narrow list corners."""
    value, now = value.astimezone(), (now or datetime.now().astimezone())
    return f"{value:%b %d}" if value.year == now.year else f"{value:%b %d, %Y}"


def local_time(value: datetime, now: datetime | None = None) -> str:
    """``Today 14:05``, ``Yesterday 09:12``, ``Mar 03, 14:05`` or ``Mar 03, 2024``."""
    value, now = value.astimezone(), (now or datetime.now().astimezone())
    days = (now.date() - value.date()).days
    if days == 0:
        return f"Today {value:%H:%M}"
    if days == 1:
        return f"Yesterday {value:%H:%M}"
    if value.year == now.year:
        return f"{value:%b %d, %H:%M}"
    return f"{value:%b %d, %Y}"


class StableLazyModel(LazyTableModel):
    """A lazy model whose reload does not reset the view when nothing moved.

    The same rows (by ``row_key``) in the same order are updated in place with
    ``dataChanged``, so a periodic refresh keeps the selection and scroll position."""

    @staticmethod
    def row_key(row: Any) -> Any:
        return row.id

    def _reset_to(self, generation: int, total: int, rows: list) -> None:
        if generation != self._generation:
            return
        same_rows = [self.row_key(r) for r in rows] == [self.row_key(r) for r in self._rows]
        if not (same_rows and total == self._total):
            super()._reset_to(generation, total, rows)
            return
        self._loading = False
        if rows != self._rows:
            self._rows = rows
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(rows) - 1, self.columnCount() - 1))
        self.loaded.emit()


class Debounced(QTimer):
    """Calls ``target`` once, ``delay`` ms after the last ``trigger()``.

    A QObject child of the view, so signal connections to ``trigger`` end with the view."""

    def __init__(self, parent: QWidget, target, delay: int = RELOAD_DELAY_MS) -> None:
        super().__init__(parent, singleShot=True, interval=delay)
        self.timeout.connect(target)

    def trigger(self, *_args) -> None:
        self.start()


def _hint(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text, objectName=name, wordWrap=True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setContentsMargins(2, 3, 2, 3)
    label.setProperty("role", "hint")
    return label


def _button(name: str, text: str, tip: str) -> QPushButton:
    button = QPushButton(text, objectName=name, toolTip=tip)
    button.setAccessibleName(text)
    return button


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


# -- payment history --------------------------------------------------------------------------

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


class PaymentHistoryModel(StableLazyModel):
    Columns = HistoryColumn
    HEADERS = {HistoryColumn.MILESTONE: "Milestone", HistoryColumn.JOB: "Job",
               HistoryColumn.TRAINER: "Trainer", HistoryColumn.AMOUNT: "Amount",
               HistoryColumn.FUNDED: "Funded", HistoryColumn.APPROVED: "Approved",
               HistoryColumn.APPROVED_BY: "Approved by", HistoryColumn.PAYOUT: "Payout",
               HistoryColumn.REFS: "Stripe refs"}

    @staticmethod
    def row_key(row: hq.PaymentHistoryRow) -> int:
        return row.milestone_id

    def display(self, row: hq.PaymentHistoryRow, column: HistoryColumn) -> str:
        if column is HistoryColumn.MILESTONE:
            return row.milestone_title
        if column is HistoryColumn.JOB:
            return row.job_title
        if column is HistoryColumn.TRAINER:
            return row.trainer_name
        if column is HistoryColumn.AMOUNT:
            return format_cents(row.amount_cents)
        if column is HistoryColumn.FUNDED:
            return local_date(row.funded_at)
        if column is HistoryColumn.APPROVED:
            return local_date(row.approved_at)
        if column is HistoryColumn.APPROVED_BY:
            return row.approved_by or "—"
        if column is HistoryColumn.PAYOUT:
            return row.payout_status.label
        return " / ".join(row.stripe_refs) or "—"

    def sort_value(self, row: hq.PaymentHistoryRow, column: HistoryColumn) -> Any:
        if column is HistoryColumn.AMOUNT:
            return row.amount_cents
        if column in (HistoryColumn.FUNDED, HistoryColumn.APPROVED):
            value = row.funded_at if column is HistoryColumn.FUNDED else row.approved_at
            return value.isoformat() if value else ""
        if column is HistoryColumn.PAYOUT:
            return list(PayoutStatus).index(row.payout_status)
        return self.display(row, column)

    def extra(self, row: hq.PaymentHistoryRow, column: HistoryColumn, role: int) -> Any:
        if role == StatusRole and column is HistoryColumn.PAYOUT:
            return row.payout_status
        if role == Qt.ItemDataRole.TextAlignmentRole and column is HistoryColumn.AMOUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, column)
        return None

    @staticmethod
    def tooltip(row: hq.PaymentHistoryRow, column: HistoryColumn) -> str:
        if column is HistoryColumn.REFS:
            return stripe_refs_text(row) or "No Stripe references yet"
        if column is HistoryColumn.PAYOUT and row.approved_at is None:
            return f"{row.status.label}: not approved yet, nothing to pay out"
        return (f"{row.milestone_title} — {format_cents(row.amount_cents)}\n"
                f"{row.job_title} · {row.trainer_name}\nMilestone: {row.status.label}")


def stripe_refs_text(row: hq.PaymentHistoryRow) -> str:
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


class PaymentHistoryView(QWidget):
    """Funded and approved milestones, newest first; one contract or all of them."""

    def __init__(self, ctx: AppContext, contract_id: int | None = None, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.contract_id = ctx, contract_id
        self.filters: dict[str, Any] = {}
        self._stale = False
        self._sourced = self._fitted = False
        self._selected_id: int | None = None
        self.setObjectName("paymentHistoryView")
        self.model = PaymentHistoryModel(ctx.db, self)
        self.table = self._make_table()
        self.summary = _hint(name="paymentHistorySummaryLabel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        self._debounced = Debounced(self, self._refresh_if_visible)
        self.model.loaded.connect(self._on_loaded)
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        if ctx.sync is not None:
            ctx.sync.paymentsChanged.connect(self._debounced.trigger)
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

    def reload(self) -> None:
        """Re-read the history (on the DB thread); keeps the selected payment."""
        self._stale = False
        read, args = self.ctx.read, dict(self.filters, contract_id=self.contract_id)
        if not self._sourced:
            self._sourced = True
            self.model.set_source(partial(read.count_payment_history, **args),
                                  lambda after, limit: read.payment_history(
                                      after=after, limit=limit, **args))
        else:
            self.model.reload()
        self.ctx.db.run(self, partial(read.payment_history_totals, **args), self._show_totals)

    def _refresh_if_visible(self) -> None:
        if self.isVisible():
            self.reload()
        else:
            self._stale = True

    def showEvent(self, event) -> None:
        if self._stale:
            self.reload()
        super().showEvent(event)

    def _show_totals(self, totals: hq.HistoryTotals) -> None:
        if totals.count == 0:
            self.summary.setText("No payments yet: milestones appear here once they are "
                                 "funded, and again when they are approved and paid out.")
        else:
            self.summary.setText(f"{totals.count} payment{'s' if totals.count != 1 else ''}"
                                 f" · {format_cents(totals.amount_cents)}")

    # -- selection ---------------------------------------------------------------------------
    def selected(self) -> hq.PaymentHistoryRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _remember_selection(self) -> None:
        row = self.selected()
        self._selected_id = row.milestone_id if row else None

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

    def _on_loaded(self) -> None:
        self._fit_columns()
        if self._selected_id is None or self.selected() is not None:
            return
        row = self.model.row_of(lambda r: r.milestone_id == self._selected_id)
        if row >= 0:
            self.table.selectionModel().select(
                self.model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)

    def copy_selected_refs(self) -> None:
        row = self.selected()
        if row is not None and row.stripe_refs:
            QGuiApplication.clipboard().setText(stripe_refs_text(row))


# -- messages owed to a trainer ---------------------------------------------------------------

MessageRole = Qt.ItemDataRole.UserRole + 1


def message_text(message: hq.TrainerMessageRow) -> str:
    """Subject, body and link as one plain text (what Copy puts on the clipboard)."""
    parts = [message.subject, message.body.strip()]
    if message.link and message.link not in message.body:
        parts.append(message.link)
    return "\n\n".join(part for part in parts if part)


def _sent_state(message: hq.TrainerMessageRow) -> str:
    if message.sent:
        return f"sent {local_date(message.sent_at)}"
    return "withdrawn: no longer needed" if message.withdrawn else "not sent yet"


def mailto_url(email: str, message: hq.TrainerMessageRow) -> QUrl:
    body = message.body.strip()
    if message.link and message.link not in body:
        body += f"\n\n{message.link}"
    encoded = (f"mailto:{quote(email, safe='@')}?subject={quote(message.subject, safe='')}"
               f"&body={quote(body.replace(chr(10), chr(13) + chr(10)), safe='')}")
    return QUrl.fromEncoded(encoded.encode("ascii"))


class TrainerMessagesView(QWidget):
    """The messages logged for one trainer: read, copy, open as an e-mail, mark sent."""

    def __init__(self, ctx: AppContext, trainer_id: int, trainer_email: str,
                 parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.trainer_id, self.trainer_email = ctx, trainer_id, trainer_email
        self._selected_id: int | None = None
        self._stale = False
        self._generation = 0
        self.messages: list[hq.TrainerMessageRow] | None = None  # None: not loaded yet
        self.setObjectName("trainerMessagesView")
        self.list = QListWidget(objectName="trainerMessagesList")
        self.list.setAccessibleName("Messages to the trainer")
        self.list.setItemDelegate(TwoLineDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setAlternatingRowColors(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.text = QTextBrowser(objectName="trainerMessageText", openLinks=False)
        self.text.setAccessibleName("Selected message")
        self.summary = _hint(name="trainerMessagesSummaryLabel")
        self.status = _hint(name="trainerMessageStatusLabel")
        self.copy_button = _button("copyMessageButton", "Copy",
                                   "Copy the subject, text and link to the clipboard")
        self.email_button = _button("emailMessageButton", "Open in e-mail…",
                                    f"Start an e-mail to {trainer_email} with this message")
        self.sent_button = _button("markMessageSentButton", "Mark as sent",
                                   "Record that the trainer has received this message")
        self._layout()
        self.list.currentItemChanged.connect(self._show_current)
        self.copy_button.clicked.connect(self.copy_message)
        self.email_button.clicked.connect(self.email_message)
        self.sent_button.clicked.connect(self.mark_sent)
        self._debounced = Debounced(self, self._refresh_if_visible)
        if ctx.sync is not None:
            ctx.sync.paymentsChanged.connect(self._debounced.trigger)
        self._show_current()
        self.reload()

    def _layout(self) -> None:
        right = QWidget()
        buttons = QHBoxLayout()
        for button in (self.copy_button, self.email_button):
            buttons.addWidget(button)
        buttons.addStretch()
        buttons.addWidget(self.sent_button)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.text, 1)
        right_layout.addWidget(self.status)
        right_layout.addLayout(buttons)
        splitter = QSplitter(objectName="trainerMessagesSplitter", childrenCollapsible=False)
        splitter.addWidget(self.list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([300, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)

    # -- loading ------------------------------------------------------------------------------
    def reload(self) -> None:
        self._stale = False
        self._generation += 1
        engine, trainer_id = self.ctx.queries.engine, self.trainer_id
        generation = self._generation
        self.ctx.runner.run(lambda: (generation, hq.trainer_messages(engine, trainer_id)),
                            self._show_messages)

    def _refresh_if_visible(self) -> None:
        if self.isVisible():
            self.reload()
        else:
            self._stale = True

    def showEvent(self, event) -> None:
        if self._stale:
            self.reload()
        super().showEvent(event)

    def _show_messages(self, result: tuple[int, list[hq.TrainerMessageRow]]) -> None:
        generation, messages = result
        if generation != self._generation or messages == self.messages:
            return  # unchanged: keep the list (and its scroll position) as it is
        self.messages = messages
        current = self.current()
        keep = current.id if current else self._selected_id
        self.list.blockSignals(True)
        self.list.clear()
        for message in messages:
            self.list.addItem(self._item(message))
        self.list.blockSignals(False)
        row = next((i for i, m in enumerate(messages) if m.id == keep), 0 if messages else -1)
        self.list.setCurrentRow(row)
        self._show_current()
        unsent = sum(m.owed for m in messages)
        self.summary.setText(
            f"Messages for {self.trainer_email}: " + (
                "none yet." if not messages else
                f"{len(messages)} in all, {unsent} not sent yet." if unsent else
                f"{len(messages)}, all sent."))

    @staticmethod
    def _item(message: hq.TrainerMessageRow) -> QListWidgetItem:
        state = _sent_state(message)
        item = QListWidgetItem(f"{local_date(message.at)} · {message.subject} · {state}")
        item.setData(MessageRole, message)
        item.setData(TitleRole, message.subject)
        item.setData(CornerRole, short_date(message.at))
        item.setData(DetailRole, f"{message.kind.capitalize()} · {state}")
        item.setData(UnreadRole, message.owed)
        item.setToolTip(f"{message.subject}\n{state}")
        if message.owed:
            font = QFont(item.font())
            font.setBold(True)
            item.setFont(font)
        return item

    # -- selection and actions ------------------------------------------------------------------
    def current(self) -> hq.TrainerMessageRow | None:
        item = self.list.currentItem()
        return item.data(MessageRole) if item is not None else None

    def _show_current(self, *_args) -> None:
        message = self.current()
        if message is not None:
            self._selected_id = message.id
        self.text.setHtml(self._html(message) if message else
                          "<p>Select a message to read it.</p>")
        self.copy_button.setEnabled(message is not None)
        self.email_button.setEnabled(message is not None and bool(self.trainer_email))
        self.sent_button.setEnabled(message is not None and message.owed)
        self.status.setText("" if message is None else
                            f"Sent {local_date(message.sent_at)}." if message.sent else
                            "Withdrawn: the trainer already did this; no need to send it."
                            if message.withdrawn else
                            "Not sent yet: send it, then mark it as sent.")

    def _html(self, message: hq.TrainerMessageRow) -> str:
        meta = f"To {self.trainer_email} · {local_date(message.at)} · {_sent_state(message)}"
        body = html.escape(message.body.strip())
        link = (f"<p>{html.escape(message.link)}</p>"
                if message.link and message.link not in message.body else "")
        return (f"<p><b>{html.escape(message.subject)}</b><br>"
                f"<span style='color:{MUTED.name()}'>{html.escape(meta)}</span></p>"
                f"<p style='white-space:pre-wrap'>{body}</p>{link}")

    def copy_message(self) -> None:
        if message := self.current():
            QGuiApplication.clipboard().setText(message_text(message))
            self.status.setText("Copied to the clipboard.")

    def email_message(self) -> None:
        message = self.current()
        if message is None or not self.trainer_email:
            return
        if not QDesktopServices.openUrl(mailto_url(self.trainer_email, message)):
            self.status.setText("No e-mail app could be opened: use Copy and paste the "
                                "message into your e-mail.")

    def mark_sent(self) -> None:
        message = self.current()
        if message is None or message.sent:
            return
        self.sent_button.setEnabled(False)
        self.ctx.runner.run(partial(mark_sent, self.ctx.uow(), message.id),
                            self._after_mark_sent, self._mark_failed)

    def _after_mark_sent(self, _result: object) -> None:
        self.reload()

    def _mark_failed(self, _error: BaseException) -> None:
        self._show_current()
        self.status.setText("Could not mark the message as sent; try again.")
