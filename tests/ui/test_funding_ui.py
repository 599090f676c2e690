"""Funding through the widgets, against the embedded emulator (sandbox mode)."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QLabel, QPushButton

from opentrain_desk.app import close_window
from opentrain_desk.services import billing, funding
from opentrain_desk.services import jobs as services
from opentrain_desk.services.workspace_settings import customer_key
from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.ui.models.tables import MilestoneColumn
from tests.ui.conftest import (click, contract_of, find, open_window, select_row, submit,
                               table_column, wait_closed, wait_dialog)
from tests.ui.test_timeline import create_job_via_dialog, fill_milestone, milestone_table


def statuses(table):
    return table_column(table, MilestoneColumn.STATUS)


def hire_via_dialog(qtbot, window, fund=True):
    click(qtbot, find(window, QPushButton, "hireButton"))
    dialog = wait_dialog(qtbot, window, "hireDialog")
    from PySide6.QtWidgets import QCheckBox, QLineEdit
    from tests.ui.conftest import type_into
    type_into(qtbot, find(dialog, QLineEdit, "trainerNameEdit"), "Ana Lima")
    type_into(qtbot, find(dialog, QLineEdit, "trainerEmailEdit"), "ana@example.com")
    fill_milestone(qtbot, dialog, "Batch 1", "1,250.00")
    check = find(dialog, QCheckBox, "fundNowCheck")
    assert check.isEnabled()
    check.setChecked(fund)
    submit(qtbot, dialog)
    wait_closed(qtbot, dialog)
    return milestone_table(qtbot, window)


def test_hire_flow_funds_the_first_milestone_then_fund_dialog_funds_another(
        qtbot, sandbox_window, gateway):
    window = sandbox_window
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_visa")
    create_job_via_dialog(qtbot, window)
    table = hire_via_dialog(qtbot, window)
    qtbot.waitUntil(lambda: statuses(table) == ["Active & Funded"], timeout=10000)
    contract = contract_of(table)
    click(qtbot, contract.findChild(QPushButton, "addMilestoneButton"))
    dialog = wait_dialog(qtbot, window, "addMilestoneDialog")
    fill_milestone(qtbot, dialog, "Batch 2", "800")
    submit(qtbot, dialog)
    qtbot.waitUntil(lambda: table.model().rowCount() == 2)
    select_row(qtbot, table, 1)
    click(qtbot, contract.findChild(QPushButton, "fundMilestoneButton"))
    fund = wait_dialog(qtbot, window, "fundDialog")
    assert find(fund, QLabel, "fundAmountLabel").text() == "$800.00"
    submit(qtbot, fund)
    qtbot.waitUntil(lambda: statuses(table) == ["Active & Funded"] * 2, timeout=10000)
    assert not contract.findChild(QPushButton, "fundMilestoneButton").isEnabled()
    customer = window.ctx.uow().__enter__().settings.get(customer_key("test"))
    pis = gateway.v1.payment_intents.list({"customer": customer}).data
    assert sorted(pi.amount for pi in pis) == [80000, 125000]


def test_offline_queue_shows_status_can_cancel_and_resumes(qtbot, sandbox_window, gateway,
                                                           sandbox):
    window = sandbox_window
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_visa")
    job = services.create_job(window.ctx.uow(), "Offline job")
    hired = services.hire_trainer(window.ctx.uow(), job, "Bo", "bo@example.com",
                                  MilestoneDraft("First", Money(10_000)))
    services.add_milestone(window.ctx.uow(), hired.contract_id,
                           MilestoneDraft("Second", Money(20_000)))
    window.jobs_page.reload()
    window.jobs_page.open_job(job, hired.contract_id)
    table = milestone_table(qtbot, window)
    qtbot.waitUntil(lambda: table.model().rowCount() == 2)
    sandbox.stop()
    contract = contract_of(table)
    for row in (0, 1):
        select_row(qtbot, table, row)
        click(qtbot, contract.findChild(QPushButton, "fundMilestoneButton"))
        fund = wait_dialog(qtbot, window, "fundDialog")
        submit(qtbot, fund)
        wait_closed(qtbot, fund)
    label = find(window, QLabel, "syncStatusLabel")
    qtbot.waitUntil(lambda: statuses(table) == ["Funding (queued offline)"] * 2, timeout=10000)
    qtbot.waitUntil(lambda: label.text() == "Offline - 2 queued", timeout=10000)
    select_row(qtbot, table, 1)
    cancel = contract.findChild(QPushButton, "cancelFundingButton")
    qtbot.waitUntil(cancel.isVisible)
    click(qtbot, cancel)
    from tests.ui.conftest import confirm_box
    confirm_box(qtbot, window, "confirmCancelFunding")
    qtbot.waitUntil(lambda: statuses(table) == ["Funding (queued offline)", "Not Funded"])
    sandbox.start()
    window.ctx.sync.sync_now()
    qtbot.waitUntil(lambda: statuses(table) == ["Active & Funded", "Not Funded"],
                    timeout=10000)
    qtbot.waitUntil(lambda: label.text() == "Online - Stripe sandbox", timeout=10000)


def test_fund_without_payment_method_leads_to_billing(qtbot, sandbox_window):
    window = sandbox_window
    create_job_via_dialog(qtbot, window)
    table = hire_via_dialog(qtbot, window, fund=False)
    qtbot.waitUntil(lambda: statuses(table) == ["Not Funded"])
    select_row(qtbot, table, 0)
    click(qtbot, contract_of(table).findChild(QPushButton, "fundMilestoneButton"))
    fund = wait_dialog(qtbot, window, "fundDialog")
    submit(qtbot, fund)
    error = find(fund, QLabel, "formErrorLabel")
    qtbot.waitUntil(error.isVisible)
    assert "Add a payment method" in error.text()
    go = find(fund, QPushButton, "goToBillingButton")
    assert go.isVisible()
    click(qtbot, go)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.settings_page)
    assert statuses(table) == ["Not Funded"]


def test_3ds_payment_is_finished_from_the_timeline(qtbot, sandbox_window, gateway):
    window = sandbox_window
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_authenticationRequired")
    create_job_via_dialog(qtbot, window)
    table = hire_via_dialog(qtbot, window)
    qtbot.waitUntil(lambda: statuses(table) == ["Funding (action needed)"], timeout=10000)
    select_row(qtbot, table, 0)
    button = contract_of(table).findChild(QPushButton, "completeAuthButton")
    qtbot.waitUntil(button.isVisible)
    click(qtbot, button)
    dialog = wait_dialog(qtbot, window, "authenticateDialog")
    submit(qtbot, dialog)
    qtbot.waitUntil(lambda: statuses(table) == ["Active & Funded"], timeout=10000)


def test_stripe_unreachable_at_start_the_app_opens_offline_and_recovers(
        qtbot, settings, sandbox, gateway):
    sandbox.stop()
    window = open_window(qtbot, replace(settings, sandbox=True), sandbox_server=sandbox)
    try:
        label = find(window, QLabel, "syncStatusLabel")
        qtbot.waitUntil(lambda: label.text() == "Offline - 0 queued", timeout=10000)
        assert window.isVisible()
        sandbox.start()
        window.ctx.sync.sync_now()
        qtbot.waitUntil(lambda: label.text() == "Online - Stripe sandbox", timeout=10000)
    finally:
        close_window(window)


def test_double_click_on_fund_queues_one_payment(qtbot, sandbox_window, gateway):
    window = sandbox_window
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_visa")
    create_job_via_dialog(qtbot, window)
    table = hire_via_dialog(qtbot, window, fund=False)
    select_row(qtbot, table, 0)
    click(qtbot, contract_of(table).findChild(QPushButton, "fundMilestoneButton"))
    fund = wait_dialog(qtbot, window, "fundDialog")
    fund.accept()
    fund.accept()  # a second click while the first is being saved
    qtbot.waitUntil(lambda: statuses(table) == ["Active & Funded"], timeout=10000)
    with window.ctx.uow() as uow:
        from opentrain_desk.domain.operations import OperationStatus
        assert len(uow.operations.with_status(*OperationStatus)) == 1


def test_a_lost_answer_shows_checking_with_stripe_and_offers_no_cancel(qtbot, sandbox_window,
                                                                       gateway, sandbox):
    window = sandbox_window
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_visa")
    job = services.create_job(window.ctx.uow(), "Lost answer job")
    hired = services.hire_trainer(window.ctx.uow(), job, "Cy", "cy@example.com",
                                  MilestoneDraft("First", Money(10_000)))
    window.jobs_page.reload()
    window.jobs_page.open_job(job, hired.contract_id)
    table = milestone_table(qtbot, window)
    qtbot.waitUntil(lambda: table.model().rowCount() == 1)
    # Stripe charges, then the connection drops before its answer; every lookup fails
    sandbox.inject_fault("/v1/payment_intents", method="POST", when="after", drop=True)
    sandbox.inject_fault("/v1/payment_intents", method="GET", status=500, count=1000)
    contract = contract_of(table)
    select_row(qtbot, table, 0)
    click(qtbot, contract.findChild(QPushButton, "fundMilestoneButton"))
    fund = wait_dialog(qtbot, window, "fundDialog")
    submit(qtbot, fund)
    wait_closed(qtbot, fund)
    qtbot.waitUntil(lambda: statuses(table) == ["Funding (checking with Stripe)"],
                    timeout=10000)
    select_row(qtbot, table, 0)
    assert not contract.findChild(QPushButton, "cancelFundingButton").isVisible()
    details = contract.findChild(QLabel, "milestoneDetailLabel")
    qtbot.waitUntil(lambda: "checking with Stripe" in details.text())
    assert "cannot be cancelled" in details.text()
    sandbox.clear_faults()  # Stripe reachable again: the lookup finds the charge
    with window.ctx.uow() as uow:
        for op in uow.operations.with_status(funding.OperationStatus.SENDING):
            op.next_attempt_at = None
        uow.commit()
    window.ctx.sync.sync_now()
    qtbot.waitUntil(lambda: statuses(table) == ["Active & Funded"], timeout=10000)
    customer = window.ctx.uow().__enter__().settings.get(customer_key("test"))
    assert len(gateway.v1.payment_intents.list({"customer": customer}).data) == 1
