"""Find jobs: Enter and Down move into the results."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from opentrain_desk.services import jobs as services


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Down])
def test_enter_or_down_in_find_jobs_moves_into_the_results(qtbot, window, key):
    uow = window.ctx.uow
    for title in ("Alpha labelling", "Beta ranking", "Gamma ranking"):
        services.create_job(uow(), title)
    page = window.jobs_page
    page.reload()
    qtbot.waitUntil(lambda: page.model.rowCount() == 3)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(page.search.hasFocus)
    qtbot.keyClicks(page.search, "ranking")
    qtbot.keyClick(page.search, key)  # at once, before the search delay has passed
    qtbot.waitUntil(lambda: page.table.hasFocus()
                    and page.table.selectionModel().hasSelection())
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    row = page.table.selectionModel().selectedRows()[0].row()
    assert page.model.row_at(row).title.endswith("ranking")
    view = page.job_view
    qtbot.waitUntil(lambda: view.job is not None and view.job.title.endswith("ranking"))
    qtbot.keyClick(page.table, Qt.Key.Key_Down)  # and on through the results
    qtbot.waitUntil(lambda: page.table.currentIndex().row() == 1)
