"""The whole money path through the widgets against the emulator:
hire -> fund -> submit -> approve -> paid out, including the pending-setup path."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QPushButton

from opentrain_desk.domain.operations import OperationKind, OperationStatus
from opentrain_desk.services import billing, payouts
from opentrain_desk.ui.models.tables import MilestoneColumn
from tests.ui.conftest import (click, contract_of, find, select_row, submit, table_column,
                               wait_closed, wait_dialog)
from tests.ui.test_funding_ui import hire_via_dialog, statuses
from tests.ui.test_timeline import create_job_via_dialog


def payout(table):
    return table_column(table, MilestoneColumn.PAYOUT)


def submit_work(qtbot, window, table):
    select_row(qtbot, table, 0)
    click(qtbot, contract_of(table).findChild(QPushButton, "recordSubmissionButton"))
    dialog = wait_dialog(qtbot, window, "recordSubmissionDialog")
    find(dialog, QLineEdit, "deliverableLinkEdit").setText("https://files.example.com/b1.zip")
    submit(qtbot, dialog)
    qtbot.waitUntil(lambda: statuses(table) == ["Pending approval"], timeout=10000)


def approve(qtbot, window, table):
    select_row(qtbot, table, 0)
    click(qtbot, contract_of(table).findChild(QPushButton, "approveMilestoneButton"))
    dialog = wait_dialog(qtbot, window, "approveDialog")
    confirm = find(dialog, QPushButton, "confirmApproveButton")
    assert not confirm.isEnabled()  # a deliberate confirmation first
    assert "cannot be reversed" in find(dialog, QLabel, "approveWarningLabel").text()
    assert find(dialog, QLabel, "approveAmountLabel").text() == "$1,250.00"
    find(dialog, QCheckBox, "verifiedWorkCheck").setChecked(True)
    assert confirm.isEnabled()
    click(qtbot, confirm)
    dialog.accept()  # a second click while the first is being saved does nothing
    wait_closed(qtbot, dialog)


def test_full_path_with_trainer_setup_pending_then_paid_out(qtbot, sandbox_window, gateway):
    window = sandbox_window
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_visa")
    create_job_via_dialog(qtbot, window)
    table = hire_via_dialog(qtbot, window)
    qtbot.waitUntil(lambda: statuses(table) == ["Active & Funded"], timeout=10000)
    submit_work(qtbot, window, table)
    assert window.ctx.read.milestone(table.model().row_at(0).id).deliverable_url
    approve(qtbot, window, table)
    qtbot.waitUntil(lambda: statuses(table) == ["Paid"], timeout=10000)
    qtbot.waitUntil(lambda: payout(table) == ["Pending – trainer setup"], timeout=10000)
    assert gateway.v1.transfers.list().data == []
    approve_button = contract_of(table).findChild(QPushButton, "approveMilestoneButton")
    select_row(qtbot, table, 0)
    assert not approve_button.isEnabled()
    bar = contract_of(table).findChild(QLabel, "payoutReadinessLabel")
    click(qtbot, contract_of(table).findChild(QPushButton, "setupPayoutsButton"))
    link = wait_dialog(qtbot, window, "onboardingLinkDialog")
    assert "/_sandbox/onboarding/acct_" in find(link, QLineEdit, "onboardingLinkEdit").text()
    link.reject()
    qtbot.waitUntil(lambda: "incomplete" in bar.text(), timeout=10000)
    sandbox_button = contract_of(table).findChild(QPushButton, "completeOnboardingButton")
    qtbot.waitUntil(sandbox_button.isVisible)
    click(qtbot, sandbox_button)
    qtbot.waitUntil(lambda: bar.text() == "Payouts enabled", timeout=10000)
    qtbot.waitUntil(lambda: payout(table) == ["Paid out"], timeout=10000)
    [transfer] = gateway.v1.transfers.list().data
    assert transfer.amount == 125000
    with window.ctx.uow() as uow:
        ops = uow.operations.with_status(*OperationStatus)
        assert [op.kind for op in ops if op.status is OperationStatus.SUCCEEDED] == [
            OperationKind.FUND_MILESTONE, OperationKind.PAYOUT]


def test_ready_trainer_is_paid_out_right_after_approval(qtbot, sandbox_window, gateway,
                                                        sandbox):
    window = sandbox_window
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_visa")
    create_job_via_dialog(qtbot, window)
    table = hire_via_dialog(qtbot, window)
    qtbot.waitUntil(lambda: statuses(table) == ["Active & Funded"], timeout=10000)
    trainer_id = contract_of(table).contract.trainer_id
    sandbox.complete_onboarding(payouts.ensure_account(window.ctx.uow, gateway, trainer_id))
    payouts.refresh_account(window.ctx.uow, gateway, trainer_id)
    submit_work(qtbot, window, table)
    approve(qtbot, window, table)
    qtbot.waitUntil(lambda: payout(table) == ["Paid out"], timeout=10000)
    assert len(gateway.v1.transfers.list().data) == 1
