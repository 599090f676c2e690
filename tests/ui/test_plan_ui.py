"""Settings → Plan and the hiring gate, through the widgets against the emulator."""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton

from opentrain_desk.domain.subscriptions import AccountType
from opentrain_desk.services import billing
from tests.ui.conftest import click, find, submit, type_into, wait_closed, wait_dialog
from tests.ui.test_funding_ui import sandbox_window  # noqa: F401
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
