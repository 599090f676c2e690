"""Payment history, notification center and trainer messages, built standalone on a real
window's context (real SQLite, DB thread) with payments made against the emulator."""
from __future__ import annotations

from functools import partial

import sqlalchemy as sa
from PySide6.QtCore import QObject, Qt, QUrl, QUrlQuery, Slot
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QLabel, QListView, QListWidget, QPushButton, QTableView,
                               QTextBrowser)

from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.persistence import history_queries as hq
from opentrain_desk.persistence.orm import outgoing_messages
from opentrain_desk.services import funding, payouts
from opentrain_desk.services import jobs as services
from opentrain_desk.ui.views.history_views import (HistoryColumn, PaymentHistoryModel,
                                                    PaymentHistoryView)
from opentrain_desk.ui.views.trainer_messages import TrainerMessagesView
from opentrain_desk.ui.views.notifications_page import NotificationsModel, NotificationsPage
from tests.integration.test_funding import hire, milestone, with_card
from tests.integration.test_payouts import (funded_and_submitted, ready_trainer, trainer_id,
                                            transfers, worker)
from tests.ui.conftest import click, find, idle, table_column


def show(qtbot, widget):
    qtbot.addWidget(widget)
    widget.resize(1100, 400)
    widget.show()
    return widget


def check_model(qtbot, qtmodeltester, window, model, count, page, rows: int) -> None:
    """The view's model class under qtmodeltester (a parentless instance: the tester
    outlives the views, which pytest-qt deletes first)."""
    engine = window.ctx.uow.engine
    model.set_source(partial(count, engine),
                     lambda after, limit: page(engine, after=after, limit=limit))
    qtbot.waitUntil(lambda: model.rowCount() == rows)
    qtmodeltester.check(model, force_py=True)
    idle(qtbot, window)


def test_payment_history_table_rows_amounts_and_refs(qtbot, qtmodeltester, window, gateway,
                                                     sandbox):
    uow = window.ctx.uow
    first, second = funded_and_submitted(uow, gateway, n=2)
    ready_trainer(uow, gateway, sandbox, first)
    payouts.approve_milestone(uow(), first)
    worker(uow, gateway).run_once()
    view = show(qtbot, PaymentHistoryView(window.ctx))
    table = find(view, QTableView, "paymentHistoryTable")
    qtbot.waitUntil(lambda: table.model().rowCount() == 2)
    model = table.model()
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in HistoryColumn]
    assert headers == ["Milestone", "Job", "Trainer", "Amount", "Funded", "Approved",
                       "Approved by", "Payout", "Stripe refs"]
    assert table_column(table, HistoryColumn.MILESTONE) == ["Batch 1", "Batch 2"]
    assert table_column(table, HistoryColumn.AMOUNT) == ["$1,250.00", "$1,250.00"]
    assert table_column(table, HistoryColumn.TRAINER) == ["Ana Lima"] * 2
    assert table_column(table, HistoryColumn.APPROVED_BY) == ["tester", "—"]
    assert table_column(table, HistoryColumn.PAYOUT) == ["Paid out", "—"]
    assert table_column(table, HistoryColumn.APPROVED)[1] == "—"
    paid = milestone(uow, first)
    [transfer] = transfers(gateway)
    assert table_column(table, HistoryColumn.REFS)[0] == (
        f"{paid.payment_intent_id} / {paid.charge_id} / {transfer.id}")
    assert table_column(table, HistoryColumn.FUNDED)[0] == (
        paid.funded_at.astimezone().strftime("%b %d, %Y"))
    summary = find(view, QLabel, "paymentHistorySummaryLabel")  # its own query: may be later
    qtbot.waitUntil(lambda: summary.text() == "2 payments · $2,500.00")
    check_model(qtbot, qtmodeltester, window, PaymentHistoryModel(window.ctx.db),
                hq.count_payment_history, hq.payment_history, rows=2)

    # a payment outcome (paymentsChanged) refreshes the table without being asked
    ready_trainer(uow, gateway, sandbox, second)
    payouts.approve_milestone(uow(), second)
    worker(uow, gateway).run_once()
    window.ctx.sync.paymentsChanged.emit()
    qtbot.waitUntil(lambda: table_column(table, HistoryColumn.PAYOUT) == ["Paid out"] * 2,
                    timeout=5000)


def test_payment_history_of_one_contract(qtbot, window, gateway):
    uow = window.ctx.uow
    [m_id] = funded_and_submitted(uow, gateway)
    contract_id = milestone(uow, m_id).contract_id
    job = services.create_job(uow(), "Another job")
    other = services.hire_trainer(uow(), job, "Bo Chen", "bo@example.com",
                                  MilestoneDraft("Other", Money(30000)))
    funding.queue_funding(uow(), other.milestone_id, "test")
    worker(uow, gateway).run_once()
    assert hq.count_payment_history(uow.engine) == 2
    view = show(qtbot, PaymentHistoryView(window.ctx, contract_id=contract_id))
    table = find(view, QTableView, "paymentHistoryTable")
    qtbot.waitUntil(lambda: table.model().rowCount() == 1)
    assert table.isColumnHidden(HistoryColumn.JOB) and table.isColumnHidden(HistoryColumn.TRAINER)
    assert not table.isColumnHidden(HistoryColumn.AMOUNT)
    assert table.model().row_at(0).milestone_id == m_id
    table.selectRow(0)
    find(table, QAction, "copyStripeRefsAction").trigger()
    assert QGuiApplication.clipboard().text().startswith(
        f"PaymentIntent: {milestone(uow, m_id).payment_intent_id}")


def test_empty_history_explains_itself(qtbot, window):
    view = show(qtbot, PaymentHistoryView(window.ctx))
    label = find(view, QLabel, "paymentHistorySummaryLabel")
    qtbot.waitUntil(lambda: label.text().startswith("No payments yet"))
    assert view.model.rowCount() == 0


def notifications(qtbot, window) -> tuple[NotificationsPage, QListView]:
    page = show(qtbot, NotificationsPage(window.ctx))
    qtbot.waitUntil(lambda: page.unread >= 0)
    return page, find(page, QListView, "notificationsList")


def test_activating_a_notification_opens_its_milestone_and_marks_it_read(
        qtbot, qtmodeltester, window, gateway):
    page, view = notifications(qtbot, window)
    assert page.unread == 0 and view.model().rowCount() == 0
    uow = window.ctx.uow
    [m_id] = hire(uow)
    with_card(uow, gateway)
    funding.queue_funding(uow(), m_id, "test")
    worker(uow, gateway).run_once()
    with qtbot.waitSignal(page.unreadChanged, timeout=5000) as unread:
        services.record_submission(uow(), m_id, "done")
        page.reload()
    assert unread.args == [1]
    qtbot.waitUntil(lambda: view.model().rowCount() == 1)
    index = view.model().index(0, 0)
    assert index.data().startswith("Ana Lima marked “Batch 1” complete\n")
    assert "review and approve to release $1,250.00." in index.data()
    assert index.data(Qt.ItemDataRole.FontRole).bold()
    assert find(page, QPushButton, "markAllReadButton").isEnabled()
    check_model(qtbot, qtmodeltester, window, NotificationsModel(window.ctx.db),
                hq.count_notifications, hq.notifications_page, rows=1)

    m = milestone(uow, m_id)
    with uow() as u:
        job_id = u.contracts.get(m.contract_id).job_id
    view.setCurrentIndex(view.model().index(0, 0))
    with qtbot.waitSignal(page.openMilestone, timeout=3000) as opened, \
            qtbot.waitSignal(page.unreadChanged, timeout=5000) as unread:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert opened.args == [job_id, m.contract_id, m_id]
    assert unread.args == [0] and page.unread == 0
    assert hq.unread_count(uow.engine) == 0
    qtbot.waitUntil(lambda: not view.model().index(0, 0).data(Qt.ItemDataRole.FontRole))
    assert not find(page, QPushButton, "markAllReadButton").isEnabled()


def test_double_click_opens_and_mark_all_read(qtbot, window, gateway):
    uow = window.ctx.uow
    ids = funded_and_submitted(uow, gateway, n=3)
    page, view = notifications(qtbot, window)
    qtbot.waitUntil(lambda: view.model().rowCount() == 3 and page.unread == 3)
    assert [view.model().row_at(r).milestone_id for r in range(3)] == ids[::-1]
    rect = view.visualRect(view.model().index(1, 0))
    with qtbot.waitSignal(page.openMilestone, timeout=3000) as opened:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args[2] == ids[1]
    qtbot.waitUntil(lambda: page.unread == 2)
    with qtbot.waitSignal(page.unreadChanged, timeout=5000) as unread:
        click(qtbot, find(page, QPushButton, "markAllReadButton"))
    assert unread.args == [0] and hq.unread_count(uow.engine) == 0


class MailCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_trainer_messages_copy_email_and_mark_sent(qtbot, window, gateway):
    uow = window.ctx.uow
    [m_id] = funded_and_submitted(uow, gateway)
    payouts.approve_milestone(uow(), m_id)  # not set up: "Finish your payout setup…"
    t_id = trainer_id(uow, m_id)
    url = payouts.onboarding_link(uow, gateway, t_id)
    view = show(qtbot, TrainerMessagesView(window.ctx, t_id, "ana@example.com"))
    messages = find(view, QListWidget, "trainerMessagesList")
    qtbot.waitUntil(lambda: messages.count() == 2)
    assert messages.currentRow() == 0  # the newest is selected
    assert "Set up your payouts" in messages.item(0).text()
    assert "not sent yet" in messages.item(0).text()
    text = find(view, QTextBrowser, "trainerMessageText").toPlainText()
    assert "Set up your payouts" in text and url in text

    messages.setCurrentRow(1)
    assert "Finish your payout setup" in find(view, QTextBrowser,
                                              "trainerMessageText").toPlainText()
    click(qtbot, find(view, QPushButton, "copyMessageButton"))
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("Finish your payout setup to get paid\n\nHi Ana Lima,")
    assert "$1,250.00 is waiting for you" in copied

    catcher = MailCatcher()
    QDesktopServices.setUrlHandler("mailto", catcher, "open")
    try:
        click(qtbot, find(view, QPushButton, "emailMessageButton"))
    finally:
        QDesktopServices.unsetUrlHandler("mailto")
    [mail] = catcher.urls
    query = QUrlQuery(mail)
    assert mail.scheme() == "mailto" and mail.path() == "ana@example.com"
    assert query.queryItemValue("subject", QUrl.ComponentFormattingOption.FullyDecoded) == (
        "Finish your payout setup to get paid")
    assert "is waiting for you" in query.queryItemValue(
        "body", QUrl.ComponentFormattingOption.FullyDecoded)

    sent = find(view, QPushButton, "markMessageSentButton")
    click(qtbot, sent)
    qtbot.waitUntil(lambda: "sent " in messages.item(1).text()
                    and "not sent" not in messages.item(1).text())
    assert messages.currentRow() == 1 and not sent.isEnabled()
    with uow.engine.connect() as conn:
        sent_at = dict(conn.execute(sa.select(outgoing_messages.c.subject,
                                              outgoing_messages.c.sent_at)).all())
    assert sent_at["Finish your payout setup to get paid"] is not None
    assert sent_at["Set up your payouts"] is None
    messages.setCurrentRow(0)
    assert sent.isEnabled()
