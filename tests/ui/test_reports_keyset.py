"""Reports' invoice list under change: keyset pages in the model (rows issued between two
pages show once), the selection kept by id across a reload, and the Stripe differences
model checked by qtmodeltester."""
from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QPushButton

from opentrain_desk.domain.invoices import InvoiceKind
from opentrain_desk.services.stripe_check import Difference, Problem, Remedy
from opentrain_desk.ui.views.reports.invoices_model import InvoiceColumn, InvoicesModel
from opentrain_desk.ui.views.reports.differences import DifferencesModel
from tests.integration.test_exports import bulk_invoices, issue
from tests.ui.conftest import find, idle, table_column
from tests.ui.test_reports_page import open_reports, seed


def numbers(model) -> list[str]:
    return [model.row_at(r).number for r in range(model.rowCount())]


@pytest.mark.parametrize("column, order", [
    (InvoiceColumn.DATE, Qt.SortOrder.DescendingOrder),
    (InvoiceColumn.AMOUNT, Qt.SortOrder.AscendingOrder),
    (InvoiceColumn.NUMBER, Qt.SortOrder.DescendingOrder)])
def test_invoices_issued_between_pages_show_exactly_once(qtbot, window, column, order):
    engine = window.ctx.uow.engine
    bulk_invoices(engine, 7, day=date(2026, 3, 5))
    model = InvoicesModel(window.ctx.db, window.ctx.read)
    model.PAGE_SIZE = 2
    model.sort(column, order)
    model.set_filters(model.filters)
    qtbot.waitUntil(lambda: model.rowCount() == 2 and not model.is_loading)
    first = set(numbers(model))
    # newer, larger and higher-numbered than everything: sorts before the cursor in the
    # descending orders, after it in the ascending one
    issue(engine, date(2026, 3, 6), InvoiceKind.TRAINER_PAYOUT, amount=999_999)
    issue(engine, date(2026, 3, 6), InvoiceKind.SUBSCRIPTION, amount=1)
    while model.canFetchMore():
        count = model.rowCount()
        model.fetchMore()
        qtbot.waitUntil(lambda: not model.is_loading)
        assert model.rowCount() > count or not model.canFetchMore()
    seen = numbers(model)
    assert len(seen) == len(set(seen)), "an invoice was listed twice"
    assert {f"EMP-2026-{i:06d}" for i in range(1, 8)} <= set(seen) | first
    assert len(seen) >= 7


def test_the_selected_invoices_stay_selected_after_a_reload(qtbot, window):
    seed(window.ctx.uow.engine)
    page = open_reports(qtbot, window)
    selection = page.table.selectionModel()
    chosen = {"EMP-2026-000002", "PAY-2026-000001"}
    for row in range(page.model.rowCount()):
        if page.model.row_at(row).number in chosen:
            selection.select(page.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                             | QItemSelectionModel.SelectionFlag.Rows)
    assert find(page, QPushButton, "exportPdfButton").text() == "Export 2 PDFs…"
    # a payment arrives: a new invoice at the top shifts every row down by one
    issue(window.ctx.uow.engine, date(2026, 5, 1), amount=9_999, project="May work")
    window.ctx.sync.paymentsChanged.emit()
    qtbot.waitUntil(lambda: page.model.rowCount() == 6 and not page.model.is_loading,
                    timeout=5000)
    idle(qtbot, window)
    qtbot.waitUntil(lambda: {r.number for r in page.selected_rows()} == chosen)
    assert table_column(page.table, InvoiceColumn.PROJECT)[0] == "May work"
    assert find(page, QPushButton, "exportPdfButton").text() == "Export 2 PDFs…"
    # one selected: Download stays enabled through a reload as well
    page.table.selectRow(3)
    kept = page.selected_rows()[0].number
    page.reload()
    qtbot.waitUntil(lambda: not page.model.is_loading)
    qtbot.waitUntil(lambda: [r.number for r in page.selected_rows()] == [kept])
    assert find(page, QPushButton, "downloadPdfButton").isEnabled()


@pytest.mark.parametrize("count", [0, 3])
def test_differences_model_passes_qtmodeltester(qtmodeltester, count):
    model = DifferencesModel()
    model.set_differences([
        Difference(Problem.UNRECORDED_CHARGE, f"pi_{i}", None if i else 7, f"Job — M{i}",
                   None if i == 1 else 1_000 * i, 2_500, "Adopt it or refund it",
                   (Remedy.ADOPT, Remedy.REFUND)) for i in range(count)])
    assert model.rowCount() == count
    qtmodeltester.check(model, force_py=True)
    if count:
        assert model.index(0, 4).data() == "$25.00"
        assert model.index(1, 3).data() == "—"
