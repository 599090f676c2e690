"""Reports → Check against Stripe, driven through the widgets against the embedded emulator:
a charge planted at Stripe is listed, exported, refunded through the outbox (the app's own
payment worker sends it), and the books match again; a lost charge is adopted."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from PySide6.QtWidgets import (QFileDialog, QLabel, QLineEdit, QMessageBox, QPushButton,
                               QTableView)

from opentrain_desk.app import close_window
from opentrain_desk.domain.milestones import MilestoneStatus
from opentrain_desk.services.workspace_settings import workspace_id
from opentrain_desk.services.stripe_check import CSV_HEADER, Problem
from opentrain_desk.ui.views.reports.differences import (CHECKING_TEXT, NO_DIFFERENCES,
                                                        DifferenceColumn)
from opentrain_desk.ui.views.reports.stripe_check import StripeCheckView
from tests.conftest import at_head
from tests.integration.test_funding import hire, milestone, with_card
from tests.integration.test_stripe_check import plant_charge
from tests.ui.conftest import (click, confirm_box, find, open_window, select_row, styled, submit,
                               table_column, type_into, wait_closed, wait_dialog)
from tests.ui.test_reports_page import read_csv

SCREENSHOT = "/tmp/stripe_check.png"


@pytest.fixture
def sandbox_window(qtbot, qapp, settings, sandbox, _head_workspace):
    styled(qapp)
    at_head(settings.db_url, _head_workspace)
    win = open_window(qtbot, replace(settings, sandbox=True), sandbox_server=sandbox)
    win.ctx.sync.worker.lease = timedelta(0)
    yield win
    close_window(win)


def open_check(qtbot, window) -> StripeCheckView:
    window.show_area("actionReports")
    page = window.reports_page
    page.tabs.setCurrentWidget(page.stripe_check)
    view = window.findChild(StripeCheckView, "stripeCheckView")
    qtbot.waitExposed(view)
    return view


def run_check(qtbot, view: StripeCheckView):
    with qtbot.waitSignal(view.checked, timeout=10000) as blocker:
        click(qtbot, find(view, QPushButton, "checkStripeButton"))
    return blocker.args[0]


def test_a_planted_charge_is_listed_exported_refunded_and_the_books_match_again(
        qtbot, sandbox_window, gateway, tmp_path):
    window = sandbox_window
    with_card(window.ctx.uow, gateway)
    planted = plant_charge(gateway, window.ctx.uow, 4_321)
    window.resize(1024, 700)
    view = open_check(qtbot, window)
    button = find(view, QPushButton, "checkStripeButton")
    status = find(view, QLabel, "stripeCheckStatusLabel")
    table = find(view, QTableView, "stripeDifferencesTable")
    adopt = find(view, QPushButton, "adoptChargeButton")
    refund = find(view, QPushButton, "refundChargeButton")
    export = find(view, QPushButton, "exportDifferencesButton")
    assert not (adopt.isEnabled() or refund.isEnabled() or export.isEnabled())

    # the check runs on the network thread: hold that thread to see the busy state
    gate = threading.Event()
    window.ctx.net.run(view, gate.wait)
    click(qtbot, button)
    assert not button.isEnabled() and button.text() == CHECKING_TEXT
    assert status.text() == CHECKING_TEXT
    with qtbot.waitSignal(view.checked, timeout=10000):
        gate.set()
    qtbot.waitUntil(lambda: table.model().rowCount() == 1)
    assert button.isEnabled() and status.text() == "1 difference"
    assert table_column(table, DifferenceColumn.STRIPE_ID) == [planted]
    assert table_column(table, DifferenceColumn.PROBLEM) == [Problem.UNRECORDED_CHARGE.value]
    assert table_column(table, DifferenceColumn.STRIPE) == ["$43.21"]
    assert table_column(table, DifferenceColumn.BOOKS) == ["—"]
    advice = table.model().index(0, DifferenceColumn.WHAT_TO_DO).data(3)  # ToolTipRole
    assert advice.startswith("Stripe holds this charge") and "Refund it" in advice

    select_row(qtbot, table, 0)
    assert not adopt.isEnabled() and refund.isEnabled() and export.isEnabled()
    detail = find(view, QLabel, "stripeDifferenceDetailLabel")
    assert planted in detail.text() and advice in detail.text()
    qtbot.waitUntil(lambda: detail.height() >= detail.heightForWidth(detail.width()))
    window.grab().save(SCREENSHOT)

    click(qtbot, export)
    target = tmp_path / "differences.csv"
    chooser = wait_dialog(qtbot, window, "exportDifferencesFileDialog", QFileDialog)
    chooser.selectFile(str(target))
    chooser.accept()
    qtbot.waitUntil(target.exists)
    header, row = read_csv(target)
    assert tuple(header) == CSV_HEADER
    assert row[1] == planted and row[5] == "43.21" and row[7] == "Refund through the app"

    click(qtbot, refund)
    dialog = wait_dialog(qtbot, window, "refundChargeDialog")
    assert find(dialog, QLabel, "refundChargeAmountLabel").text() == "$43.21"
    assert "cannot be undone" in find(dialog, QLabel, "refundChargeWarningLabel").text()
    submit(qtbot, dialog)  # no reason: refused, the dialog stays open
    error = find(dialog, QLabel, "formErrorLabel")
    qtbot.waitUntil(error.isVisible)
    assert "Say why" in error.text() and dialog.isVisible()
    type_into(qtbot, find(dialog, QLineEdit, "refundReasonEdit"), "Not made by us")
    with qtbot.waitSignal(view.checked, timeout=10000):  # the view checks again after it
        submit(qtbot, dialog)
        wait_closed(qtbot, dialog)

    # the app's payment worker (woken by the view) sends the refund
    qtbot.waitUntil(lambda: len(gateway.v1.refunds.list({"payment_intent": planted}).data)
                    == 1, timeout=10000)
    [made] = gateway.v1.refunds.list({"payment_intent": planted}).data
    assert made.amount == 4_321
    assert run_check(qtbot, view) == []
    assert status.text() == NO_DIFFERENCES and table.model().rowCount() == 0
    assert not (adopt.isEnabled() or refund.isEnabled() or export.isEnabled())


def test_a_lost_charge_for_a_not_funded_milestone_is_adopted(qtbot, sandbox_window, gateway):
    window = sandbox_window
    factory = window.ctx.uow
    [m_id] = hire(factory)
    with_card(factory, gateway)
    with factory() as uow:
        space = workspace_id(uow)
    pi = plant_charge(gateway, factory, milestone(factory, m_id).amount_cents,
                      {"workspace_id": space, "milestone_id": str(m_id)})
    view = open_check(qtbot, window)
    table = find(view, QTableView, "stripeDifferencesTable")
    [diff] = run_check(qtbot, view)
    assert diff.stripe_id == pi
    select_row(qtbot, table, 0)
    adopt = find(view, QPushButton, "adoptChargeButton")
    assert adopt.isEnabled() and find(view, QPushButton, "refundChargeButton").isEnabled()
    click(qtbot, adopt)
    box = wait_dialog(qtbot, window, "adoptChargeBox", QMessageBox)
    assert "$1,250.00" in box.text() and diff.label in box.text() and pi in box.text()
    with qtbot.waitSignal(view.checked, timeout=10000) as blocker:
        confirm_box(qtbot, window, "adoptChargeBox")
    assert blocker.args[0] == []
    assert milestone(factory, m_id).status is MilestoneStatus.ACTIVE_FUNDED
    assert milestone(factory, m_id).payment_intent_id == pi
    assert find(view, QLabel, "stripeCheckStatusLabel").text() == NO_DIFFERENCES


def test_without_stripe_the_check_says_how_to_connect(qtbot, window):
    view = open_check(qtbot, window)
    message = run_check(qtbot, view)
    assert message.startswith("Connect Stripe first")
    status = find(view, QLabel, "stripeCheckStatusLabel")
    assert status.text() == message and status.property("role") == "error"
    assert find(view, QPushButton, "checkStripeButton").isEnabled()
    assert find(view, QTableView, "stripeDifferencesTable").model().rowCount() == 0
