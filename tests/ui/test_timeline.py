"""Hire, add milestones, validation and archive refusal through the real widgets."""
from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QLabel, QLineEdit, QMessageBox,
                               QPlainTextEdit, QPushButton, QTabWidget, QTableView)

from opentrain_desk.persistence.queries import Queries
from opentrain_desk.services import jobs as services
from tests.ui.conftest import (contract_of, click, confirm_box, find, idle, select_row, submit,
                               table_column, type_into, wait_closed, wait_dialog)

from opentrain_desk.ui.models.tables import MilestoneColumn
from opentrain_desk.ui.widgets.date_field import DateField


def create_job_via_dialog(qtbot, window, title="Code review RLHF"):
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = wait_dialog(qtbot, window, "newJobDialog")
    type_into(qtbot, find(dialog, QLineEdit, "jobTitleEdit"), title)
    submit(qtbot, dialog)
    wait_closed(qtbot, dialog)
    job_view = window.jobs_page.job_view
    qtbot.waitUntil(lambda: job_view.job is not None and job_view.job.title == title)
    return job_view


def fill_milestone(qtbot, dialog, title, amount, description="", due: date | None = None):
    type_into(qtbot, find(dialog, QLineEdit, "milestoneTitleEdit"), title)
    type_into(qtbot, find(dialog, QPlainTextEdit, "milestoneDescriptionEdit"), description)
    type_into(qtbot, find(dialog, QLineEdit, "milestoneAmountEdit"), amount)
    if due is not None:
        find(dialog, DateField, "milestoneDueDateEdit").setDate(due)


def hire(qtbot, window, name="Zoë Müller", email="zoe@example.com", title="Batch 1",
         amount="1,250.00", due=None):
    click(qtbot, find(window, QPushButton, "hireButton"))
    dialog = wait_dialog(qtbot, window, "hireDialog")
    type_into(qtbot, find(dialog, QLineEdit, "trainerNameEdit"), name)
    type_into(qtbot, find(dialog, QLineEdit, "trainerEmailEdit"), email)
    fill_milestone(qtbot, dialog, title, amount, "500 ranked pairs", due)
    submit(qtbot, dialog)
    wait_closed(qtbot, dialog)
    idle(qtbot, window)


def milestone_table(qtbot, window) -> QTableView:
    tabs = find(window, QTabWidget, "contractTabs")
    qtbot.waitUntil(lambda: tabs.count() > 0)
    return tabs.currentWidget().findChild(QTableView, "milestoneTable")


def test_hire_then_add_milestone_shows_rows_in_the_timeline(qtbot, window):
    create_job_via_dialog(qtbot, window)
    hire(qtbot, window, due=date(2027, 3, 1))
    tabs = find(window, QTabWidget, "contractTabs")
    assert tabs.tabText(0) == "Zoë Müller"
    table = milestone_table(qtbot, window)
    qtbot.waitUntil(lambda: table.model().rowCount() == 1)
    headers = [table.model().headerData(c, Qt.Orientation.Horizontal) for c in range(5)]
    assert headers == ["Milestone", "Amount", "Due", "Status", "Payout"]
    assert table_column(table, MilestoneColumn.AMOUNT) == ["$1,250.00"]
    assert table_column(table, MilestoneColumn.DUE) == ["Mar 01, 2027"]
    assert table_column(table, MilestoneColumn.STATUS) == ["Not Funded"]
    assert table_column(table, MilestoneColumn.PAYOUT) == ["—"]

    click(qtbot, tabs.currentWidget().findChild(QPushButton, "addMilestoneButton"))
    dialog = wait_dialog(qtbot, window, "addMilestoneDialog")
    fill_milestone(qtbot, dialog, "Batch 2", "$2,000.5", "Edge cases")
    submit(qtbot, dialog)
    qtbot.waitUntil(lambda: table.model().rowCount() == 2)
    assert table_column(table, MilestoneColumn.MILESTONE) == ["Batch 1", "Batch 2"]
    assert table_column(table, MilestoneColumn.AMOUNT) == ["$1,250.00", "$2,000.50"]
    assert table_column(table, MilestoneColumn.DUE)[1] == "—"
    # persisted, not just shown
    rows = Queries(window.ctx.uow.engine).milestone_page(tabs.currentWidget().contract.id)
    assert [r.amount_cents for r in rows] == [125000, 200050]


@pytest.mark.parametrize("amount, message", [
    ("abc", "is not an amount"), ("-5", "greater than zero"), ("0", "greater than zero"),
    ("12.345", "2 decimal places"), ("1000000.01", "cannot exceed $1,000,000.00"),
    ("", "Enter an amount"),
])
def test_bad_amounts_are_refused_and_typed_text_kept(qtbot, window, amount, message):
    create_job_via_dialog(qtbot, window)
    click(qtbot, find(window, QPushButton, "hireButton"))
    dialog = wait_dialog(qtbot, window, "hireDialog")
    type_into(qtbot, find(dialog, QLineEdit, "trainerNameEdit"), "Ana Lima")
    type_into(qtbot, find(dialog, QLineEdit, "trainerEmailEdit"), "ana@example.com")
    fill_milestone(qtbot, dialog, "Batch 1", amount, "keep me")
    submit(qtbot, dialog)
    idle(qtbot, window)
    error = find(dialog, QLabel, "formErrorLabel")
    assert dialog.isVisible() and error.isVisible()
    assert message in error.text()
    assert find(dialog, QLineEdit, "milestoneAmountEdit").text() == amount
    assert find(dialog, QLineEdit, "trainerNameEdit").text() == "Ana Lima"
    assert find(dialog, QPlainTextEdit, "milestoneDescriptionEdit").toPlainText() == "keep me"
    assert find(dialog, QLineEdit, "milestoneAmountEdit").property("invalid") is True
    assert Queries(window.ctx.uow.engine).job_contracts(window.jobs_page.job_view.job.id) == []
    # correcting the amount then succeeds
    type_into(qtbot, find(dialog, QLineEdit, "milestoneAmountEdit"), "1,250")
    submit(qtbot, dialog)
    wait_closed(qtbot, dialog)


def test_service_errors_keep_the_dialog_open(qtbot, window):
    create_job_via_dialog(qtbot, window)
    hire(qtbot, window, name="Ana", email="ana@example.com")
    click(qtbot, find(window, QPushButton, "hireButton"))
    dialog = wait_dialog(qtbot, window, "hireDialog")
    type_into(qtbot, find(dialog, QLineEdit, "trainerNameEdit"), "Ana again")
    type_into(qtbot, find(dialog, QLineEdit, "trainerEmailEdit"), "ANA@example.com")
    fill_milestone(qtbot, dialog, "Batch 9", "10")
    submit(qtbot, dialog)
    qtbot.waitUntil(lambda: find(dialog, QLabel, "formErrorLabel").isVisible())
    assert "already hired" in find(dialog, QLabel, "formErrorLabel").text()
    assert dialog.isVisible()
    assert find(dialog, QLineEdit, "trainerNameEdit").text() == "Ana again"
    dialog.reject()


def test_bad_email_is_refused_inline(qtbot, window):
    create_job_via_dialog(qtbot, window)
    click(qtbot, find(window, QPushButton, "hireButton"))
    dialog = wait_dialog(qtbot, window, "hireDialog")
    type_into(qtbot, find(dialog, QLineEdit, "trainerNameEdit"), "Ana")
    type_into(qtbot, find(dialog, QLineEdit, "trainerEmailEdit"), "not-an-email")
    fill_milestone(qtbot, dialog, "Batch", "10")
    submit(qtbot, dialog)
    assert dialog.isVisible()
    assert "not an email address" in find(dialog, QLabel, "formErrorLabel").text()


def test_archive_is_refused_with_the_list_then_allowed(qtbot, window):
    view = create_job_via_dialog(qtbot, window, "Math reasoning")
    hire(qtbot, window, title="Algebra set", amount="900")
    click(qtbot, find(window, QPushButton, "archiveJobButton"))
    box = wait_dialog(qtbot, window, "archiveRefusedBox", QMessageBox)  # refused before asking
    assert window.findChild(QMessageBox, "confirmArchiveJob") is None
    assert "cannot be archived: 1 milestone is not resolved yet" in box.text()
    assert "Algebra set — Not Funded" in box.text()
    box.accept()
    assert not Queries(window.ctx.uow.engine).job(view.job.id).archived
    # delete the only (unfunded) milestone through the UI, then archiving works
    table = milestone_table(qtbot, window)
    select_row(qtbot, table, 0)
    click(qtbot, contract_of(table).findChild(QPushButton, "deleteMilestoneButton"))
    confirm_box(qtbot, window, "confirmDeleteMilestone")
    qtbot.waitUntil(lambda: table.model().rowCount() == 0)
    click(qtbot, find(window, QPushButton, "archiveJobButton"))
    confirm_box(qtbot, window, "confirmArchiveJob")
    qtbot.waitUntil(lambda: view.job is not None and view.job.archived)
    assert not find(window, QPushButton, "hireButton").isEnabled()
    assert Queries(window.ctx.uow.engine).job(view.job.id).archived


def test_actions_follow_the_selected_milestone_state(qtbot, window):
    create_job_via_dialog(qtbot, window)
    hire(qtbot, window)
    table = milestone_table(qtbot, window)
    contract = contract_of(table)
    select_row(qtbot, table, 0)
    buttons = {n: contract.findChild(QPushButton, n) for n in (
        "editMilestoneButton", "deleteMilestoneButton", "recordSubmissionButton",
        "requestChangesButton")}
    assert buttons["editMilestoneButton"].isEnabled()
    assert not buttons["recordSubmissionButton"].isEnabled()
    assert not buttons["requestChangesButton"].isEnabled()
    click(qtbot, buttons["editMilestoneButton"])
    dialog = wait_dialog(qtbot, window, "editMilestoneDialog")
    assert find(dialog, QLineEdit, "milestoneAmountEdit").text() == "$1,250.00"
    type_into(qtbot, find(dialog, QLineEdit, "milestoneAmountEdit"), "1,300")
    submit(qtbot, dialog)
    qtbot.waitUntil(lambda: table_column(table, MilestoneColumn.AMOUNT) == ["$1,300.00"])


def test_shortcuts_and_area_actions(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.jobs_page.search.hasFocus())
    for name in ("actionReports", "actionNotifications", "actionSettings", "actionJobs"):
        action = window.findChild(type(window.areas[name][0]), name)
        action.trigger()
        assert window.stack.currentWidget() is window.areas[name][1]


def test_search_filters_jobs_in_sql(qtbot, window):
    for title in ("Python RLHF", "Medical red-team", "Python evals"):
        services.create_job(window.ctx.uow(), title)
    window.jobs_page.reload()
    jobs = find(window, QTableView, "jobsTable")
    qtbot.waitUntil(lambda: jobs.model().rowCount() == 3)
    qtbot.keyClicks(window.jobs_page.search, "python")
    qtbot.waitUntil(lambda: jobs.model().rowCount() == 2)
    assert sorted(table_column(jobs, 0)) == ["Python RLHF", "Python evals"]


def test_empty_workspace_offers_the_demo(qtbot, window):
    assert window.jobs_page.right.currentWidget() is window.jobs_page.welcome
    assert find(window, QPushButton, "openDemoButton").isEnabled()
