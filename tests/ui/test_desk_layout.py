"""Layout at the desk: the job list keeps its width, the layout is remembered per user."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QPushButton, QWidget

from opentrain_desk.app import close_window
from opentrain_desk.ui.models.tables import JobColumn, MilestoneColumn
from opentrain_desk.ui.views.jobs_page import LIST_MIN_WIDTH, LIST_WIDTH
from tests.ui.conftest import find, idle, open_window, styled
from tests.ui.test_desk_forms import job_with_contract, settle_layouts
from tests.ui.test_timeline import milestone_table

LONG_TITLE = "Reinforcement learning from human feedback for multilingual legal " * 3


def drag_splitter_handle(qtbot, splitter, dx: int) -> None:
    handle = splitter.handle(1)
    start = handle.rect().center()
    qtbot.mousePress(handle, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(handle, start + QPoint(dx // 2, 0))
    qtbot.mouseMove(handle, start + QPoint(dx, 0))
    qtbot.mouseRelease(handle, Qt.MouseButton.LeftButton, pos=start + QPoint(dx, 0))


def test_job_list_keeps_a_usable_width_at_1024_and_after_a_splitter_drag(qtbot, window):
    job, hired = job_with_contract(window, title=LONG_TITLE)
    with window.ctx.uow() as uow:  # a long payout-readiness line in the job view too
        trainer = uow.trainers.get(uow.contracts.get(hired.contract_id).trainer_id)
        trainer.stripe_account_id = "acct_1PqQ2aJk8sLpQ2aJk8sLpQ2aJk8sLpQ2aJk8sLpZZZ9"
        trainer.requirements_due = ("business_profile.mcc,business_profile.url,"
                                    "external_account,individual.dob.day,tos_acceptance.ip")
        uow.commit()
    window.resize(1024, 700)
    find(window, QCheckBox, "showArchivedCheck").setChecked(True)
    window.jobs_page.open_job(job, hired.contract_id, hired.milestone_id)
    milestone_table(qtbot, window)
    idle(qtbot, window)
    settle_layouts()
    panel, table = find(window, QWidget, "jobsListPanel"), window.jobs_page.table
    assert window.width() == 1024 and window.minimumSizeHint().width() <= 1024
    assert panel.width() >= LIST_MIN_WIDTH
    assert table.columnWidth(JobColumn.JOB) >= 100

    splitter = window.jobs_page.splitter
    drag_splitter_handle(qtbot, splitter, -2000)  # as far left as the mouse goes
    settle_layouts()
    assert not splitter.childrenCollapsible()
    assert panel.isVisible() and panel.width() >= LIST_MIN_WIDTH
    assert table.columnWidth(JobColumn.JOB) >= 100
    drag_splitter_handle(qtbot, splitter, 3000)  # and the job side cannot vanish either
    settle_layouts()
    assert window.jobs_page.right.width() > 0 and window.width() == 1024


def test_splitter_and_column_widths_are_remembered_for_the_user(qtbot, qapp, settings):
    styled(qapp)
    first = open_window(qtbot, settings)
    job, hired = job_with_contract(first)
    first.resize(1280, 780)
    first.jobs_page.open_job(job, hired.contract_id)
    table = milestone_table(qtbot, first)
    # a width other than the default that still fits the 800 px test screen beside the sidebar
    drag_splitter_handle(qtbot, first.jobs_page.splitter, -15)
    left = first.jobs_page.splitter.sizes()[0]
    assert left != LIST_WIDTH
    table.horizontalHeader().resizeSection(MilestoneColumn.STATUS, 231)
    first.jobs_page.table.horizontalHeader().resizeSection(JobColumn.OPEN, 77)
    first.close()  # closing saves the window's layout
    close_window(first)
    assert settings.ui_state_file.is_file()

    second = open_window(qtbot, settings)
    try:
        second.jobs_page.open_job(job, hired.contract_id)
        table = milestone_table(qtbot, second)
        assert second.jobs_page.splitter.sizes()[0] == left
        assert second.jobs_page.table.columnWidth(JobColumn.OPEN) == 77
        assert table.columnWidth(MilestoneColumn.STATUS) == 231
        assert find(second, QPushButton, "newJobButton").isVisible()
    finally:
        close_window(second)
