"""Settings → Plan and the hiring gate, through the widgets against the emulator."""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton

from opentrain_desk.domain.subscriptions import AccountType
from opentrain_desk.services import billing
from tests.ui.conftest import click, find, submit, type_into, wait_closed, wait_dialog
from tests.ui.test_timeline import create_job_via_dialog, fill_milestone


def open_hire(qtbot, window):
    click(qtbot, find(window, QPushButton, "hireButton"))
    dialog = wait_dialog(qtbot, window, "hireDialog")
    type_into(qtbot, find(dialog, QLineEdit, "trainerNameEdit"), "Ana Lima")
    type_into(qtbot, find(dialog, QLineEdit, "trainerEmailEdit"), "ana@example.com")
    fill_milestone(qtbot, dialog, "Batch 1", "500")
    return dialog


def test_agency_is_gated_until_it_subscribes_then_can_hire(qtbot, sandbox_window, gateway,
                                                            sandbox):
    window = sandbox_window
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_visa")
    window.show_area("actionSettings")
    plan = window.settings_page.plan_section
    combo = find(plan, QComboBox, "accountTypeCombo")
    qtbot.waitUntil(lambda: find(plan, QComboBox, "plansCombo").count() == 3, timeout=10000)
    combo.setCurrentIndex(combo.findData(AccountType.AGENCY))
    combo.activated.emit(combo.currentIndex())
    required = find(plan, QLabel, "planRequiredLabel")
    qtbot.waitUntil(lambda: "needs an active plan" in required.text())

    window.show_area("actionJobs")
    create_job_via_dialog(qtbot, window)
    dialog = open_hire(qtbot, window)
    submit(qtbot, dialog)
    error = find(dialog, QLabel, "formErrorLabel")
    qtbot.waitUntil(error.isVisible)
    assert "Agency accounts need an active plan" in error.text()
    assert "Reports, history and exports keep working" in error.text()
    go = dialog.findChild(QPushButton, "goToPlanButton")
    assert go is not None and go.isVisible()
    click(qtbot, go)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.settings_page)

    status = find(plan, QLabel, "planStatusLabel")
    click(qtbot, find(plan, QPushButton, "subscribeButton"))
    qtbot.waitUntil(lambda: "Active" in status.text(), timeout=10000)
    assert "Agency Starter — $49.00 / month" in status.text() and "renews" in status.text()

    window.show_area("actionJobs")
    dialog = open_hire(qtbot, window)
    submit(qtbot, dialog)
    wait_closed(qtbot, dialog)

    # the sandbox's "end period now" renews; a failing card then makes it past due
    failing = billing.add_test_card(window.ctx.uow, gateway, "pm_card_chargeCustomerFail")
    billing.set_default(window.ctx.uow, gateway, failing.id)
    window.show_area("actionSettings")
    renew = find(plan, QPushButton, "renewPlanButton")
    qtbot.waitUntil(renew.isVisible)
    click(qtbot, renew)
    qtbot.waitUntil(lambda: "Past due" in status.text(), timeout=10000)
    window.show_area("actionJobs")
    dialog = open_hire(qtbot, window)
    type_into(qtbot, find(dialog, QLineEdit, "trainerEmailEdit"), "bo@example.com")
    submit(qtbot, dialog)
    qtbot.waitUntil(lambda: "plan is past due" in find(dialog, QLabel,
                                                        "formErrorLabel").text())
    dialog.reject()


def test_changing_plan_asks_first_with_the_price_difference_and_when(qtbot, sandbox_window,
                                                                      gateway):
    from PySide6.QtWidgets import QMessageBox
    from tests.ui.conftest import confirm_box
    window = sandbox_window
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_visa")
    window.show_area("actionSettings")
    plan = window.settings_page.plan_section
    plans = find(plan, QComboBox, "plansCombo")
    qtbot.waitUntil(lambda: plans.count() == 3, timeout=10000)
    status = find(plan, QLabel, "planStatusLabel")
    click(qtbot, find(plan, QPushButton, "subscribeButton"))
    qtbot.waitUntil(lambda: "Active" in status.text(), timeout=10000)
    current = plans.itemData(0)
    other = max((plans.itemData(i) for i in range(plans.count())),
                key=lambda p: p.amount_cents)
    plans.setCurrentIndex(plans.findData(other))
    click(qtbot, find(plan, QPushButton, "changePlanButton"))
    box = wait_dialog(qtbot, window, "confirmChangePlan", QMessageBox)
    from opentrain_desk.domain.money import format_cents
    more = format_cents(other.amount_cents - current.amount_cents)
    assert f"That is {more} more per {other.interval}" in box.text()
    assert "applies now" in box.text() and "next renewal" in box.text()
    assert "Active" in status.text() and current.name in status.text()  # not yet changed
    confirm_box(qtbot, window, "confirmChangePlan")
    qtbot.waitUntil(lambda: other.name in status.text(), timeout=10000)
