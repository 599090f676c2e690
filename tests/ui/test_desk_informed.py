"""Keeping people informed: declined cards, submissions, notifications, trainer messages."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton

from opentrain_desk.persistence import history_queries as hq
from opentrain_desk.services import billing
from tests.ui.conftest import click, contract_of, find, select_row, submit, wait_closed, wait_dialog
from tests.ui.test_funding_ui import hire_via_dialog, sandbox_window, statuses  # noqa: F401
from tests.ui.test_timeline import create_job_via_dialog


def test_a_declined_card_says_so_at_once(qtbot, sandbox_window, gateway):
    window = sandbox_window
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_chargeCustomerFail")
    create_job_via_dialog(qtbot, window)
    table = hire_via_dialog(qtbot, window, fund=False)
    select_row(qtbot, table, 0)
    click(qtbot, contract_of(table).findChild(QPushButton, "fundMilestoneButton"))
    fund = wait_dialog(qtbot, window, "fundDialog")
    submit(qtbot, fund)
    wait_closed(qtbot, fund)
    bar = window.statusBar()
    qtbot.waitUntil(lambda: "declined" in bar.currentMessage().lower(), timeout=10000)
    assert "Funding of $1,250.00 for “Batch 1” failed" in bar.currentMessage()
    [row] = hq.notifications_page(window.ctx.queries.engine)
    assert row.kind == "funding failed" and row.unread and row.milestone_id is not None
    assert window.notifications_page.unread == 1
    qtbot.waitUntil(lambda: statuses(table) == ["Not Funded"])
