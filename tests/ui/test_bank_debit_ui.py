"""A US bank account through Settings → Billing, and a bank debit in the fund dialog."""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QRadioButton

from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.services import billing
from opentrain_desk.services import jobs as services
from opentrain_desk.ui.models.tables import MilestoneColumn
from tests.ui.conftest import (click, contract_of, find, select_row, submit, table_column,
                               wait_closed, wait_dialog)
from tests.ui.test_timeline import milestone_table


def test_add_a_bank_account_and_fund_by_bank_debit(qtbot, sandbox_window, gateway, sandbox):
    window = sandbox_window
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_visa")
    window.show_area("actionSettings")
    click(qtbot, find(window, QPushButton, "addBankAccountButton"))
    dialog = wait_dialog(qtbot, window, "addPaymentMethodDialog")
    assert find(dialog, QRadioButton, "testCard_bank:000123456789").isChecked()
    submit(qtbot, dialog)
    wait_closed(qtbot, dialog)
    banks = [m for m in billing.list_cards(window.ctx.uow, gateway) if m.bank]
    assert len(banks) == 1 and banks[0].last4 == "6789"
    job = services.create_job(window.ctx.uow(), "Bank job")
    hired = services.hire_trainer(window.ctx.uow(), job, "Bo", "bo@example.com",
                                  MilestoneDraft("First", Money(40_000)))
    window.show_area("actionJobs")
    window.jobs_page.reload()
    window.jobs_page.open_job(job, hired.contract_id)
    table = milestone_table(qtbot, window)
    select_row(qtbot, table, 0)
    click(qtbot, contract_of(table).findChild(QPushButton, "fundMilestoneButton"))
    fund = wait_dialog(qtbot, window, "fundDialog")
    combo = find(fund, QComboBox, "fundPaymentMethodCombo")
    qtbot.waitUntil(lambda: combo.findData(banks[0].id) >= 0, timeout=10000)
    note = find(fund, QLabel, "bankDebitNoteLabel")
    assert not note.isVisible()
    combo.setCurrentIndex(combo.findData(banks[0].id))
    assert note.isVisible() and "4 business days" in note.text()
    submit(qtbot, fund)
    wait_closed(qtbot, fund)
    window.ctx.sync.sync_now()
    qtbot.waitUntil(lambda: table_column(table, MilestoneColumn.STATUS) == [
        "Funding (bank debit processing)"], timeout=10000)
    sandbox.settle_all_payment_intents()
    window.ctx.sync.sync_now()
    qtbot.waitUntil(lambda: table_column(table, MilestoneColumn.STATUS) == [
        "Active & Funded"], timeout=10000)
