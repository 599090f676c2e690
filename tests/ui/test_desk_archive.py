"""Archive: refused before asking (in words), hidden again with the list, restorable."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QMessageBox, QPushButton

from opentrain_desk.domain.errors import ArchiveRefused
from opentrain_desk.services import jobs as services
from tests.ui.conftest import click, confirm_box, find, wait_dialog
from tests.ui.test_desk_forms import job_with_contract
from tests.ui.test_timeline import milestone_table


def archived_job(window):
    job, hired = job_with_contract(window, title="Old job")
    services.delete_milestone(window.ctx.uow(), hired.milestone_id)
    services.archive_job(window.ctx.uow(), job)
    return job


def test_refusal_counts_in_words():
    assert "1 milestone is not resolved yet" in str(ArchiveRefused("J", ["a"]))
    assert "2 milestones are not resolved yet" in str(ArchiveRefused("J", ["a", "b"]))


def test_unticking_show_archived_leaves_no_archived_job_open(qtbot, window):
    job = archived_job(window)
    page = window.jobs_page
    find(window, QCheckBox, "showArchivedCheck").setChecked(True)
    qtbot.waitUntil(lambda: page.select_job(job))
    qtbot.waitUntil(lambda: page.job_view.job is not None and page.job_view.job.id == job)
    assert page.right.currentWidget() is page.job_view
    find(window, QCheckBox, "showArchivedCheck").setChecked(False)
    qtbot.waitUntil(lambda: window.ctx.db.pending == 0)
    assert page.right.currentWidget() is not page.job_view
    assert page.job_view.job is None
    assert not page.table.selectionModel().hasSelection()


def test_an_archived_job_can_be_restored(qtbot, window):
    job = archived_job(window)
    window.jobs_page.open_job(job)
    view = window.jobs_page.job_view
    restore = find(window, QPushButton, "restoreJobButton")
    qtbot.waitUntil(restore.isVisible)
    assert not find(window, QPushButton, "archiveJobButton").isVisible()
    click(qtbot, restore)
    qtbot.waitUntil(lambda: view.job is not None and not view.job.archived)
    assert not window.ctx.read.job(job).archived
    assert find(window, QPushButton, "hireButton").isEnabled()
    milestone_table(qtbot, window)
    add = view.current_contract().findChild(QPushButton, "addMilestoneButton")
    qtbot.waitUntil(add.isEnabled)
    click(qtbot, find(window, QPushButton, "archiveJobButton"))  # nothing unresolved: asks
    wait_dialog(qtbot, window, "confirmArchiveJob", QMessageBox)
    assert not window.ctx.read.job(job).archived  # the check before asking changed nothing
    confirm_box(qtbot, window, "confirmArchiveJob")
    qtbot.waitUntil(lambda: view.job is not None and view.job.archived)
    assert window.findChild(QMessageBox, "archiveRefusedBox") is None
