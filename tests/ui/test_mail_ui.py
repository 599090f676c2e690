"""Mail to trainers through the widgets, in the sandbox: its embedded SMTP server receives
the setup message on approval and the payout message once setup is done and paid out
(the issue's "done when"); Settings → E-mail sends a test message and previews templates;
Reports → Outgoing mail lists every message and re-sends a failed one."""
from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QLabel, QLineEdit, QListWidget, QPushButton,
                               QTableView, QTextBrowser)

from opentrain_desk.services import billing
from opentrain_desk.services import mail as mail_service
from opentrain_desk.ui.views.reports.outgoing_mail import MailColumn
from tests.ui.conftest import click, contract_of, find, select_row, wait_dialog
from tests.ui.test_approval_ui import approve, payout, statuses, submit_work
from tests.ui.test_funding_ui import hire_via_dialog
from tests.ui.test_timeline import create_job_via_dialog

SETUP = "Finish your payout setup to get paid"
PAID = "Payment of $1,250.00 sent"


def subjects(server):
    return [mail.subject for mail in server.received()]


def test_setup_then_payout_messages_reach_the_sandbox_mail_server(qtbot, sandbox_window,
                                                                   gateway):
    window = sandbox_window
    server = window.workspace.mail_server
    assert server is not None and window.ctx.mail.config().host == server.host
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_visa")
    create_job_via_dialog(qtbot, window)
    table = hire_via_dialog(qtbot, window)
    qtbot.waitUntil(lambda: statuses(table) == ["Active & Funded"], timeout=10000)
    submit_work(qtbot, window, table)
    approve(qtbot, window, table)
    qtbot.waitUntil(lambda: payout(table) == ["Pending – trainer setup"], timeout=10000)
    qtbot.waitUntil(lambda: SETUP in subjects(server), timeout=20000)
    contract = contract_of(table)
    click(qtbot, contract.findChild(QPushButton, "setupPayoutsButton"))
    wait_dialog(qtbot, window, "onboardingLinkDialog").reject()
    sandbox_button = contract.findChild(QPushButton, "completeOnboardingButton")
    qtbot.waitUntil(sandbox_button.isVisible, timeout=10000)
    click(qtbot, sandbox_button)
    qtbot.waitUntil(lambda: payout(table) == ["Paid out"], timeout=15000)
    qtbot.waitUntil(lambda: PAID in subjects(server), timeout=20000)
    assert subjects(server).count(SETUP) == 1 and subjects(server).count(PAID) == 1
    paid = next(m for m in server.received() if m.subject == PAID)
    assert "Your payout setup is complete" in paid.text() and paid.path.is_file()
    assert paid.message_id.startswith("<otd-msg-")
    # the contract's messages tab shows them sent
    contract.sections.setCurrentIndex(2)
    messages = find(contract, QListWidget, "trainerMessagesList")
    qtbot.waitUntil(lambda: any(PAID in messages.item(i).text() and "sent" in
                                messages.item(i).text() for i in range(messages.count())),
                    timeout=10000)
    texts = [messages.item(i).text() for i in range(messages.count())]
    assert any(SETUP in text and "· sent" in text for text in texts)
    messages.setCurrentRow(0)
    status = find(contract, QLabel, "trainerMessageStatusLabel")
    assert status.text().startswith("Sent ")
    assert not find(contract, QCheckBox, "doNotEmailCheck").isChecked()
    window.resize(1100, 760)
    contract.grab().save("/tmp/mail_messages_tab.png")


def test_email_settings_test_message_preview_and_outgoing_table(qtbot, sandbox_window):
    window = sandbox_window
    server = window.workspace.mail_server
    window.show_area("actionSettings")
    page = window.settings_page
    host = find(page, QLineEdit, "smtpHostEdit")
    qtbot.waitUntil(lambda: host.text() == "127.0.0.1", timeout=5000)
    click(qtbot, find(page, QPushButton, "sendTestMailButton"))
    status = find(page, QLabel, "emailStatusLabel")
    qtbot.waitUntil(lambda: status.text().startswith("Test message sent"), timeout=10000)
    assert "OpenTrain Desk test message" in subjects(server)
    inbox = find(page, QListWidget, "sandboxInboxList")
    qtbot.waitUntil(lambda: "OpenTrain Desk test message" in inbox.item(0).text(),
                    timeout=5000)
    preview = find(page, QTextBrowser, "mailPreviewHtml")
    qtbot.waitUntil(lambda: "Label 500 dialogues" in preview.toPlainText(), timeout=5000)
    text = find(page, QTextBrowser, "mailPreviewText")
    assert text.toPlainText().startswith("Subject: ")
    # a bad port or address is said plainly and nothing is lost
    find(page, QLineEdit, "senderAddressEdit").setText("not-an-address")
    click(qtbot, find(page, QPushButton, "saveEmailButton"))
    qtbot.waitUntil(lambda: "needs an @" in status.text(), timeout=5000)
    assert window.ctx.mail.config().sender_address == "payouts@sandbox.invalid"
    find(page, QLineEdit, "senderAddressEdit").setText("payouts@sandbox.invalid")
    click(qtbot, find(page, QPushButton, "saveEmailButton"))
    qtbot.waitUntil(lambda: status.text().startswith("Saved."), timeout=5000)
    worker_status = find(page, QLabel, "mailWorkerStatusLabel")
    qtbot.waitUntil(lambda: worker_status.text() == "E-mail on", timeout=10000)
    group = page.email_section
    window.resize(1100, 1400)
    group.grab().save("/tmp/mail_settings.png")

    # Reports → Outgoing mail: a refused address fails with the reason; Re-send by hand
    from tests.integration.mail_helpers import add_trainer, owe
    server.reject.add("gone@example.com")
    owe(window.ctx.uow, add_trainer(window.ctx.uow, "Gone", "gone@example.com"))
    window.ctx.mail_sync.wake()
    window.show_area("actionReports")
    reports = window.reports_page
    reports.tabs.setCurrentWidget(reports.outgoing_mail)
    outgoing = find(reports, QTableView, "outgoingMessagesTable")
    model = outgoing.model()

    def gone_failed():
        row = model.row_at(0)
        return row is not None and row.status == "failed"
    qtbot.waitUntil(gone_failed,
                    timeout=20000)
    assert "refused the address gone@example.com" in model.data(
        model.index(0, MailColumn.REASON))
    select_row(qtbot, outgoing, 0)
    server.reject.clear()
    click(qtbot, find(reports, QPushButton, "resendOutgoingButton"))
    qtbot.waitUntil(lambda: subjects(server).count("Subject of payment sent") == 1,
                    timeout=20000)
    with window.ctx.uow() as uow:
        assert uow.messages.count_status("failed") == 0
    assert mail_service.STATUS_TEXT["unknown"] == "may have been sent"
    qtbot.waitUntil(lambda: model.row_at(0).status == "sent", timeout=10000)
    summary = find(reports, QLabel, "outgoingMailSummaryLabel")
    qtbot.waitUntil(lambda: "0 failed" in summary.text(), timeout=10000)
    window.resize(1100, 600)
    reports.grab().save("/tmp/mail_outgoing_table.png")
