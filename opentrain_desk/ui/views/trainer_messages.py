"""The messages logged for one trainer: read, copy, open as an e-mail, mark sent; with
e-mail set up, their way through the mail outbox (queued / sent / failed / may have been
sent, with the reason) and Re-send; "Do not e-mail" for the trainer."""
from __future__ import annotations

import html
from functools import partial
from urllib.parse import quote

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QFont, QGuiApplication
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QListWidget, QListWidgetItem,
                               QSplitter, QTextBrowser, QVBoxLayout, QWidget)

from ...services import mail as mail_service
from ...services.notifications import mark_sent
from ...services.read_models import TrainerMessageRow
from .. import formatting as fmt
from ..context import AppContext
from ..ops import user_message
from ..widgets.labels import action_button, hint_label
from ..widgets.two_line import (MUTED, CornerRole, DetailRole, TitleRole, TwoLineDelegate,
                                UnreadRole)
from .refresh import RefreshWhenShown

MessageRole = Qt.ItemDataRole.UserRole + 1


def message_text(message: TrainerMessageRow) -> str:
    """Subject, body and link as one plain text (what Copy puts on the clipboard)."""
    parts = [message.subject, message.body.strip()]
    if message.link and message.link not in message.body:
        parts.append(message.link)
    return "\n\n".join(part for part in parts if part)


def _sent_state(message: TrainerMessageRow) -> str:
    if message.sent:
        return f"sent {fmt.day(message.sent_at)}"
    if message.withdrawn or message.status == "withdrawn":
        return "withdrawn: no longer needed"
    return mail_service.STATUS_TEXT.get(message.status, "not sent yet")


def status_line(message: TrainerMessageRow) -> str:
    """The selected message's state in a sentence, with the reason and what to do."""
    reason = f" {message.reason}" if message.reason else ""
    if message.sent:
        return f"Sent {fmt.day(message.sent_at)}."
    if message.withdrawn or message.status == "withdrawn":
        return "Withdrawn: the trainer already did this; no need to send it."
    return {
        "queued": "Queued: the app sends it by e-mail." + (
            f" Not yet:{reason} It is tried again by itself." if reason else ""),
        "sending": "Being sent now.",
        "failed": f"Failed:{reason} Re-send it, or open it in your e-mail app.",
        "unknown": f"May have been sent:{reason} Re-send sends it again with the same "
                   "Message-ID, so the trainer's mail app can tell it is the same message.",
        "withheld": "Not e-mailed: the trainer is marked “do not e-mail”. Send it "
                    "yourself, then mark it as sent.",
    }.get(message.status, "Not sent yet: send it, then mark it as sent.")


def mailto_url(email: str, message: TrainerMessageRow) -> QUrl:
    body = message.body.strip()
    if message.link and message.link not in body:
        body += f"\n\n{message.link}"
    encoded = (f"mailto:{quote(email, safe='@')}?subject={quote(message.subject, safe='')}"
               f"&body={quote(body.replace(chr(10), chr(13) + chr(10)), safe='')}")
    return QUrl.fromEncoded(encoded.encode("ascii"))


class TrainerMessagesView(RefreshWhenShown, QWidget):
    """The messages logged for one trainer: read, copy, open as an e-mail, mark sent."""

    def __init__(self, ctx: AppContext, trainer_id: int, trainer_email: str,
                 parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.trainer_id, self.trainer_email = ctx, trainer_id, trainer_email
        self._selected_id: int | None = None
        self._stale = False
        self.messages: list[TrainerMessageRow] | None = None  # None: not loaded yet
        self.setObjectName("trainerMessagesView")
        self.list = QListWidget(objectName="trainerMessagesList")
        self.list.setAccessibleName("Messages to the trainer")
        self.list.setItemDelegate(TwoLineDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setAlternatingRowColors(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.text = QTextBrowser(objectName="trainerMessageText", openLinks=False)
        self.text.setAccessibleName("Selected message")
        self.summary = hint_label(name="trainerMessagesSummaryLabel")
        self.status = hint_label(name="trainerMessageStatusLabel")
        self.copy_button = action_button("copyMessageButton", "Copy",
                                   "Copy the subject, text and link to the clipboard")
        self.email_button = action_button("emailMessageButton", "Open in e-mail…",
                                    f"Start an e-mail to {trainer_email} with this message")
        self.sent_button = action_button("markMessageSentButton", "Mark as sent",
                                   "Record that the trainer has received this message")
        self.resend_button = action_button("resendMessageButton", "Re-send",
                                           "Send this message by e-mail (again)")
        self.do_not_email = QCheckBox("Do not e-mail this trainer",
                                      objectName="doNotEmailCheck")
        self.do_not_email.setToolTip("Messages to this trainer are not sent by the app; "
                                     "you send them yourself")
        self.do_not_email.setEnabled(False)
        self._layout()
        self.list.currentItemChanged.connect(self._show_current)
        self.copy_button.clicked.connect(self.copy_message)
        self.email_button.clicked.connect(self.email_message)
        self.sent_button.clicked.connect(self.mark_sent)
        self.resend_button.clicked.connect(self.resend)
        self.do_not_email.clicked.connect(self._do_not_email_clicked)
        if ctx.sync is not None:
            ctx.sync.paymentsChanged.connect(self.refresh)
        if getattr(ctx, "mail_sync", None) is not None:
            ctx.mail_sync.mailChanged.connect(self.refresh)
        if getattr(ctx, "live", None) is not None:  # other seats' changes (team)
            from ..live import MESSAGE_TABLES
            ctx.live.on(MESSAGE_TABLES, self.refresh, owner=self)
        self._show_current()
        self.reload()

    def _layout(self) -> None:
        right = QWidget()
        buttons = QHBoxLayout()
        for button in (self.copy_button, self.email_button):
            buttons.addWidget(button)
        buttons.addStretch()
        buttons.addWidget(self.resend_button)
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
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.do_not_email)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

    # -- loading ------------------------------------------------------------------------------
    def reload(self, delay_ms: int = 0) -> None:
        self._stale = False
        (self.ctx.db.op(self, partial(self.ctx.read.trainer_messages, self.trainer_id))
         .success(self._show_messages).latest("messages", delay_ms).run())
        (self.ctx.db.op(self, partial(self.ctx.read.trainer_do_not_email, self.trainer_id))
         .success(self._show_do_not_email).latest("do-not-email", delay_ms).run())

    def _show_do_not_email(self, value: bool) -> None:
        self.do_not_email.setChecked(value)
        self.do_not_email.setEnabled(True)

    def _show_messages(self, messages: list[TrainerMessageRow]) -> None:
        if messages == self.messages:
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
    def _item(message: TrainerMessageRow) -> QListWidgetItem:
        state = _sent_state(message)
        item = QListWidgetItem(f"{fmt.day(message.at)} · {message.subject} · {state}")
        item.setData(MessageRole, message)
        item.setData(TitleRole, message.subject)
        item.setData(CornerRole, fmt.short_day(message.at))
        item.setData(DetailRole, f"{message.kind.capitalize()} · {state}")
        item.setData(UnreadRole, message.owed)
        item.setToolTip(f"{message.subject}\n{state}")
        if message.owed:
            font = QFont(item.font())
            font.setBold(True)
            item.setFont(font)
        return item

    # -- selection and actions ------------------------------------------------------------------
    def current(self) -> TrainerMessageRow | None:
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
        self.sent_button.setEnabled(message is not None and message.owed
                                    and message.status not in ("queued", "sending"))
        self.resend_button.setEnabled(message is not None and message.resendable
                                      and bool(self.trainer_email))
        self.resend_button.setText("Send by e-mail" if message is not None
                                   and message.status == "draft" else "Re-send")
        self.status.setText("" if message is None else status_line(message))

    def _html(self, message: TrainerMessageRow) -> str:
        meta = f"To {self.trainer_email} · {fmt.day(message.at)} · {_sent_state(message)}"
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
        self.ctx.db.run(self, partial(mark_sent, self.ctx.uow(), message.id),
                        self._after_mark_sent, self._mark_failed)

    def _after_mark_sent(self, _result: object) -> None:
        self.reload()

    def resend(self) -> None:
        message = self.current()
        if message is None or not message.resendable:
            return
        self.resend_button.setEnabled(False)
        self.ctx.db.run(self, partial(mail_service.resend, self.ctx.uow, message.id),
                        self._after_resend, self._action_failed)

    def _after_resend(self, _result: object) -> None:
        if getattr(self.ctx, "mail_sync", None) is not None:
            self.ctx.mail_sync.wake()
        self.reload()

    def _do_not_email_clicked(self, checked: bool) -> None:
        self.do_not_email.setEnabled(False)
        self.ctx.db.run(self, partial(mail_service.set_do_not_email, self.ctx.uow,
                                      self.trainer_id, checked),
                        lambda _r: self.reload(), self._action_failed)

    def _action_failed(self, error: BaseException) -> None:
        self._show_current()
        self.status.setText(user_message(error))
        self.reload()

    def _mark_failed(self, _error: BaseException) -> None:
        self._show_current()
        self.status.setText("Could not mark the message as sent; try again.")
