"""Money off the happy path through the widgets (sandbox): cancel & refund, partial
release in the approve dialog, retry a failed payout."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QPlainTextEdit, QPushButton

from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.services import billing, payouts
from opentrain_desk.services import jobs as services
from opentrain_desk.ui.models.tables import MilestoneColumn
from tests.ui.conftest import (click, confirm_box, contract_of, find, select_row,
                               table_column, type_into, wait_closed, wait_dialog)
from tests.ui.test_timeline import milestone_table


def open_funded(qtbot, window, gateway, sandbox, submitted=False, onboard=False):
    ctx = window.ctx
    billing.add_test_card(ctx.uow, gateway, "pm_card_visa")
    job = services.create_job(ctx.uow(), "Refund job")
    hired = services.hire_trainer(ctx.uow(), job, "Ana Lima", "ana@example.com",
                                  MilestoneDraft("Batch 1", Money(125_000)), "test")
    ctx.sync.worker.run_once()
    if submitted:
        services.record_submission(ctx.uow(), hired.milestone_id, "done", "")
    if onboard:
        account = payouts.ensure_account(ctx.uow, gateway, hired.trainer_id)
        sandbox.complete_onboarding(account)
        payouts.refresh_account(ctx.uow, gateway, hired.trainer_id)
    window.jobs_page.reload()
    window.jobs_page.open_job(job, hired.contract_id)
    table = milestone_table(qtbot, window)
    qtbot.waitUntil(lambda: table.model().rowCount() == 1)
    select_row(qtbot, table, 0)
    return table, hired.milestone_id


def statuses(table, column=MilestoneColumn.STATUS):
    return table_column(table, column)


def test_cancel_and_refund_through_the_dialog(qtbot, sandbox_window, gateway, sandbox):
    window = sandbox_window
    table, m_id = open_funded(qtbot, window, gateway, sandbox)
    contract = contract_of(table)
    button = contract.findChild(QPushButton, "refundMilestoneButton")
    qtbot.waitUntil(button.isVisible)
    click(qtbot, button)
    dialog = wait_dialog(qtbot, window, "refundDialog")
    amount = find(dialog, QLineEdit, "refundAmountEdit")
    assert amount.text() == "1250.00"
    amount.clear()
    type_into(qtbot, amount, "2000")
    # more than was charged: refused, nothing typed is lost
    click(qtbot, find(dialog, QPushButton, "confirmRefundButton"))
    error = find(dialog, QLabel, "formErrorLabel")
    qtbot.waitUntil(error.isVisible)
    assert "At most $1,250.00" in error.text() and amount.text() == "2000"
    amount.clear()
    type_into(qtbot, amount, "1250")
    find(dialog, QPlainTextEdit, "refundReasonEdit").setPlainText("Trainer left.")
    assert "Trainer left." in find(dialog, QLabel, "trainerNoticeLabel").text()
    click(qtbot, find(dialog, QPushButton, "confirmRefundButton"))
    wait_closed(qtbot, dialog)
    qtbot.waitUntil(lambda: statuses(table)[0] in ("Refunding", "Refunded"), timeout=10000)
    window.ctx.sync.sync_now()
    qtbot.waitUntil(lambda: statuses(table) == ["Refunded"], timeout=10000)
    with window.ctx.uow() as uow:
        pi = uow.milestones.get(m_id).payment_intent_id
    assert [r.amount for r in gateway.v1.refunds.list({"payment_intent": pi}).data] == [125_000]


def test_pending_approval_refund_needs_the_trainers_agreement(qtbot, sandbox_window, gateway,
                                                              sandbox):
    window = sandbox_window
    table, _m_id = open_funded(qtbot, window, gateway, sandbox, submitted=True)
    contract = contract_of(table)
    click(qtbot, contract.findChild(QPushButton, "refundMilestoneButton"))
    dialog = wait_dialog(qtbot, window, "refundDialog")
    find(dialog, QPlainTextEdit, "refundReasonEdit").setPlainText("Out of scope.")
    click(qtbot, find(dialog, QPushButton, "confirmRefundButton"))
    error = find(dialog, QLabel, "formErrorLabel")
    qtbot.waitUntil(error.isVisible)
    assert "request changes first" in error.text()
    find(dialog, QCheckBox, "trainerAgreedCheck").setChecked(True)
    click(qtbot, find(dialog, QPushButton, "confirmRefundButton"))
    wait_closed(qtbot, dialog)
    window.ctx.sync.sync_now()
    qtbot.waitUntil(lambda: statuses(table) == ["Refunded"], timeout=10000)


def test_partial_release_in_the_approve_dialog(qtbot, sandbox_window, gateway, sandbox):
    window = sandbox_window
    table, m_id = open_funded(qtbot, window, gateway, sandbox, submitted=True, onboard=True)
    contract = contract_of(table)
    click(qtbot, contract.findChild(QPushButton, "approveMilestoneButton"))
    dialog = wait_dialog(qtbot, window, "approveDialog")
    release = find(dialog, QLineEdit, "releaseAmountEdit")
    release.clear()
    type_into(qtbot, release, "1000")
    assert "$250.00 is refunded" in find(dialog, QLabel, "releaseRemainderLabel").text()
    confirm = find(dialog, QPushButton, "confirmApproveButton")
    assert "$1,000.00" in confirm.text()
    find(dialog, QCheckBox, "verifiedWorkCheck").setChecked(True)
    click(qtbot, confirm)
    wait_closed(qtbot, dialog)
    window.ctx.sync.sync_now()
    qtbot.waitUntil(lambda: statuses(table, MilestoneColumn.PAYOUT) == ["Paid out"],
                    timeout=10000)
    [transfer] = gateway.v1.transfers.list().data
    assert transfer.amount == 100_000
    with window.ctx.uow() as uow:
        pi = uow.milestones.get(m_id).payment_intent_id
    qtbot.waitUntil(lambda: [r.amount for r in gateway.v1.refunds.list(
        {"payment_intent": pi}).data] == [25_000], timeout=10000)


def test_a_failed_payout_is_retried_from_the_timeline(qtbot, sandbox_window, gateway,
                                                      sandbox):
    window = sandbox_window
    table, m_id = open_funded(qtbot, window, gateway, sandbox, submitted=True, onboard=True)
    sandbox.inject_fault("/v1/transfers", method="POST", status=400, code="transfer_rejected")
    payouts.approve_milestone(window.ctx.uow(), m_id)
    window.ctx.sync.sync_now()
    qtbot.waitUntil(lambda: statuses(table, MilestoneColumn.PAYOUT) == ["Failed"],
                    timeout=10000)
    contract = contract_of(table)
    select_row(qtbot, table, 0)
    retry = contract.findChild(QPushButton, "retryPayoutButton")
    qtbot.waitUntil(retry.isVisible)
    assert contract.findChild(QPushButton, "refundPayoutButton").isVisible()
    assert not contract.findChild(QPushButton, "refundMilestoneButton").isVisible()
    click(qtbot, retry)
    confirm_box(qtbot, window, "confirmRetryPayout")
    qtbot.waitUntil(lambda: statuses(table, MilestoneColumn.PAYOUT) == ["Paid out"],
                    timeout=10000)
    assert len(gateway.v1.transfers.list().data) == 1


def test_every_status_has_a_badge():
    from opentrain_desk.domain.milestones import MilestoneStatus, PayoutStatus
    from opentrain_desk.ui.widgets.badges import BADGE_COLOURS
    assert set(MilestoneStatus) <= set(BADGE_COLOURS)
    assert set(PayoutStatus) - {PayoutStatus.NOT_STARTED} <= set(BADGE_COLOURS)
