"""Forms at the desk: keyboard, the due-date field, messages that stay, plain titles."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from PySide6.QtCore import QDate, QEvent, QLocale, Qt
from PySide6.QtWidgets import (QApplication, QCalendarWidget, QLabel, QLineEdit, QMessageBox,
                               QPushButton, QTableView)

from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.services import jobs as services
from opentrain_desk.ui.widgets.date_field import DateField, parse_date
from tests.ui.conftest import (click, find, idle, submit, type_into, wait_closed,
                               wait_dialog)
from tests.ui.test_timeline import milestone_table


@pytest.fixture
def us_locale():
    before = QLocale()
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    yield
    QLocale.setDefault(before)


def settle_layouts():
    """Deliver the layout requests a text change posts, level by level up to the window."""
    for _ in range(30):
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        QApplication.processEvents()


def discard_box(qtbot, dialog) -> QMessageBox:
    """The visible "discard what you typed?" box (an earlier one may await deletion)."""
    def shown():
        return [b for b in dialog.findChildren(QMessageBox, "confirmDiscardForm")
                if b.isVisible()]
    qtbot.waitUntil(lambda: bool(shown()))
    return shown()[0]


def open_new_job(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    return wait_dialog(qtbot, window, "newJobDialog")


def job_with_contract(window, title="Keyboard job", milestone="Batch 1", **draft):
    uow = window.ctx.uow
    job = services.create_job(uow(), title)
    hired = services.hire_trainer(uow(), job, "Ana Lima", "ana@example.com",
                                  MilestoneDraft(milestone, Money(10_000), **draft))
    return job, hired


def open_add_milestone(qtbot, window, job_id):
    window.jobs_page.open_job(job_id)
    table = milestone_table(qtbot, window)
    qtbot.waitUntil(lambda: table.model().rowCount() > 0)
    view = window.jobs_page.job_view.current_contract()
    click(qtbot, view.findChild(QPushButton, "addMilestoneButton"))
    return wait_dialog(qtbot, window, "addMilestoneDialog"), table


# -- item 1: Enter submits, focus starts in the first field, Esc cancels, ask first -----------
def test_focus_starts_in_the_first_field_and_enter_submits(qtbot, window):
    dialog = open_new_job(qtbot, window)
    title = find(dialog, QLineEdit, "jobTitleEdit")
    qtbot.waitUntil(lambda: dialog.focusWidget() is title)
    qtbot.keyClicks(dialog.focusWidget(), "Typed then Enter")
    qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Return)
    wait_closed(qtbot, dialog)
    view = window.jobs_page.job_view
    qtbot.waitUntil(lambda: view.job is not None and view.job.title == "Typed then Enter")


def test_enter_in_the_amount_field_submits_the_milestone_form(qtbot, window):
    job, _ = job_with_contract(window)
    dialog, table = open_add_milestone(qtbot, window, job)
    assert dialog.focusWidget() is find(dialog, QLineEdit, "milestoneTitleEdit")
    assert not find(dialog, QPushButton, "cancelButton").autoDefault()
    qtbot.keyClicks(dialog.focusWidget(), "Batch 2")
    amount = find(dialog, QLineEdit, "milestoneAmountEdit")
    qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)  # the description, then the amount
    qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
    assert dialog.focusWidget() is amount
    qtbot.keyClicks(amount, "250")
    qtbot.keyClick(amount, Qt.Key.Key_Enter)
    wait_closed(qtbot, dialog)
    qtbot.waitUntil(lambda: table.model().rowCount() == 2)


def test_esc_closes_an_empty_form_but_asks_before_discarding_typed_input(qtbot, window):
    dialog = open_new_job(qtbot, window)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    wait_closed(qtbot, dialog)

    dialog = open_new_job(qtbot, window)
    type_into(qtbot, find(dialog, QLineEdit, "jobTitleEdit"), "Half typed")
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    box = discard_box(qtbot, dialog)
    keep = box.findChild(QPushButton, "confirmNoButton")
    assert box.defaultButton() is keep and keep.text() == "Keep editing"
    click(qtbot, keep)
    qtbot.waitUntil(lambda: not box.isVisible())
    assert dialog.isVisible()
    assert find(dialog, QLineEdit, "jobTitleEdit").text() == "Half typed"

    dialog.close()  # the window's close button asks too
    box = discard_box(qtbot, dialog)
    click(qtbot, box.findChild(QPushButton, "confirmNoButton"))
    qtbot.waitUntil(lambda: not box.isVisible())
    assert dialog.isVisible()

    click(qtbot, find(dialog, QPushButton, "cancelButton"))
    box = discard_box(qtbot, dialog)
    click(qtbot, box.findChild(QPushButton, "confirmYesButton"))
    wait_closed(qtbot, dialog)
    assert window.ctx.read.count_jobs() == 0


# -- item 2: the due-date field --------------------------------------------------------------
@pytest.mark.parametrize("typed", ["12/20/2026", "Dec 20, 2026", "2026-12-20",
                                   "December 20, 2026"])
def test_typed_dates_in_the_locale_and_iso_are_accepted(us_locale, typed):
    assert parse_date(typed) == date(2026, 12, 20)


def test_empty_means_no_date_and_nonsense_is_refused(us_locale):
    assert parse_date("  ") is None
    with pytest.raises(ValueError):
        parse_date("next tuesday")


def test_date_popup_opens_on_this_month_with_every_cell_legible(qtbot, window):
    job, _ = job_with_contract(window)
    dialog, _table = open_add_milestone(qtbot, window, job)
    due = find(dialog, DateField, "milestoneDueDateEdit")
    assert due.text() == "" and due.placeholderText() == "No due date"
    due.setFocus()
    qtbot.keyClick(due, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    calendar = due.findChild(QCalendarWidget, "datePopupCalendar")
    qtbot.waitUntil(lambda: calendar is not None and calendar.isVisible())
    today = QDate.currentDate()
    assert (calendar.yearShown(), calendar.monthShown()) == (today.year(), today.month())
    view = calendar.findChild(QTableView)
    for column in range(view.model().columnCount()):
        assert view.columnWidth(column) >= view.sizeHintForColumn(column), column
    for row in range(view.model().rowCount()):
        assert view.rowHeight(row) >= view.sizeHintForRow(row), row
    calendar.clicked.emit(today.addDays(3))
    qtbot.waitUntil(lambda: not calendar.isVisible())
    assert due.value() == today.addDays(3).toPython()


def test_typed_due_dates_are_saved_and_a_past_date_is_warned_not_refused(
        qtbot, window, us_locale):
    job, _ = job_with_contract(window)
    dialog, table = open_add_milestone(qtbot, window, job)
    type_into(qtbot, find(dialog, QLineEdit, "milestoneTitleEdit"), "Old batch")
    type_into(qtbot, find(dialog, QLineEdit, "milestoneAmountEdit"), "100")
    due = find(dialog, DateField, "milestoneDueDateEdit")
    warning = find(dialog, QLabel, "milestoneDueDateEditWarning")
    type_into(qtbot, due, "2000-01-01")
    assert warning.isVisible() and "in the past" in warning.text()
    submit(qtbot, dialog)
    wait_closed(qtbot, dialog)
    qtbot.waitUntil(lambda: table.model().rowCount() == 2)
    assert table.model().row_at(1).due_date == date(2000, 1, 1)  # not "no due date"

    dialog, _ = open_add_milestone(qtbot, window, job)
    due = find(dialog, DateField, "milestoneDueDateEdit")
    type_into(qtbot, due, (date.today() + timedelta(days=30)).strftime("%m/%d/%Y"))
    assert not find(dialog, QLabel, "milestoneDueDateEditWarning").isVisible()
    type_into(qtbot, due, "someday")
    type_into(qtbot, find(dialog, QLineEdit, "milestoneTitleEdit"), "Later")
    type_into(qtbot, find(dialog, QLineEdit, "milestoneAmountEdit"), "100")
    submit(qtbot, dialog)
    error = find(dialog, QLabel, "formErrorLabel")
    qtbot.waitUntil(error.isVisible)
    assert "not a date" in error.text() and due.property("invalid")


# -- item 3: messages stay until the form is submitted again; archived jobs ---------------------
def test_a_validation_message_stays_until_the_form_is_submitted_again(qtbot, window):
    dialog = open_new_job(qtbot, window)
    submit(qtbot, dialog)
    error, title = find(dialog, QLabel, "formErrorLabel"), find(dialog, QLineEdit, "jobTitleEdit")
    qtbot.waitUntil(error.isVisible)
    message = error.text()
    assert title.property("invalid")
    qtbot.keyClicks(title, "Fixed")
    assert error.isVisible() and error.text() == message
    assert title.property("invalid")
    submit(qtbot, dialog)
    wait_closed(qtbot, dialog)


def test_add_milestone_is_disabled_on_an_archived_job(qtbot, window):
    job, hired = job_with_contract(window)
    services.delete_milestone(window.ctx.uow(), hired.milestone_id)
    services.archive_job(window.ctx.uow(), job)
    window.jobs_page.open_job(job)
    milestone_table(qtbot, window)
    view = window.jobs_page.job_view.current_contract()
    add = view.findChild(QPushButton, "addMilestoneButton")
    qtbot.waitUntil(lambda: not add.isEnabled())
    assert "archived" in add.toolTip()


# -- item 4: markup stays text; a huge unbroken description does not widen the window -----------
MARKUP = "<font size=200>Huge</font> <b>bold</b>"


def test_titles_with_markup_are_plain_text_in_the_fund_dialog(qtbot, window):
    job, hired = job_with_contract(window, title=MARKUP, milestone=MARKUP)
    window.jobs_page.open_job(job, hired.contract_id, hired.milestone_id)
    table = milestone_table(qtbot, window)
    qtbot.waitUntil(lambda: table.selectionModel().hasSelection())
    view = window.jobs_page.job_view.current_contract()
    click(qtbot, view.findChild(QPushButton, "fundMilestoneButton"))
    dialog = wait_dialog(qtbot, window, "fundDialog")
    shown = [label for label in dialog.findChildren(QLabel) if "Huge" in label.text()]
    assert shown
    for label in shown + window.findChildren(QLabel):
        if "<font" in label.text():
            assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()
            assert label.sizeHint().height() < 80, label.objectName()
    dialog.discard()


def test_an_unbroken_5000_character_description_does_not_widen_the_window(qtbot, window):
    job, hired = job_with_contract(window, description="x" * 5000)
    width = window.width()
    window.jobs_page.open_job(job, hired.contract_id, hired.milestone_id)
    table = milestone_table(qtbot, window)
    qtbot.waitUntil(lambda: table.selectionModel().hasSelection())
    idle(qtbot, window)
    detail = find(window, QLabel, "milestoneDetailLabel")
    qtbot.waitUntil(lambda: "xxxx" in detail.text())
    settle_layouts()
    assert window.minimumSizeHint().width() <= 1024
    assert window.width() == width
    assert detail.width() < width
