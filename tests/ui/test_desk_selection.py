"""A selected row is one band of the highlight colour across every column (no gaps), in the
light and the dark palette."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QPalette

from opentrain_desk.hygiene.palette import build_palette
from tests.ui.conftest import idle
from tests.ui.test_desk_forms import job_with_contract, settle_layouts
from tests.ui.test_timeline import milestone_table


def row_band(table, row: int) -> list[str]:
    """Colours along a line just inside the top of a row, across all its columns."""
    image = table.viewport().grab().toImage()
    rect = table.visualRect(table.model().index(row, 0))
    last = table.model().columnCount() - 1
    right = table.visualRect(table.model().index(row, last)).right()
    y = rect.top() + 2
    return [image.pixelColor(x, y).name() for x in range(0, min(right, image.width() - 1))]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_selected_rows_have_no_gaps(qtbot, qapp, window, scheme):
    before = QPalette(qapp.palette())
    qapp.setPalette(build_palette(scheme))
    try:
        job, hired = job_with_contract(window)
        window.jobs_page.reload()
        qtbot.waitUntil(lambda: window.jobs_page.model.rowCount() == 1)
        window.jobs_page.open_job(job, hired.contract_id, hired.milestone_id)
        table = milestone_table(qtbot, window)
        qtbot.waitUntil(lambda: table.selectionModel().hasSelection())
        idle(qtbot, window)
        settle_layouts()
        jobs = window.jobs_page.table
        qtbot.waitUntil(lambda: jobs.selectionModel().hasSelection())
        highlight = qapp.palette().color(QPalette.ColorRole.Highlight)
        for view in (table, jobs):
            row = view.selectionModel().selectedRows()[0].row()
            band = row_band(view, row)
            off = [c for c in band
                   if _distance(c, highlight.name()) > 40]  # focus frame shades are close
            assert len(off) <= 2, (view.objectName(), sorted(set(off)))
    finally:
        qapp.setPalette(before)


def _distance(a: str, b: str) -> int:
    return sum(abs(int(a[i:i + 2], 16) - int(b[i:i + 2], 16)) for i in (1, 3, 5))

