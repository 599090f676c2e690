"""Reports, driven through the widgets: the accountant's path (filter a month, export a ZIP
and a CSV), sorting by header, downloads, cancel, the chart and the models."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, QItemSelectionModel, QPoint, Qt
from PySide6.QtWidgets import (QComboBox, QDateEdit, QFileDialog, QLabel, QMessageBox,
                               QProgressDialog, QPushButton, QTableView)

from opentrain_desk.domain.invoices import BillingType, InvoiceKind
from opentrain_desk.reports import exports
from opentrain_desk.ui.views.reports.invoices_model import InvoiceColumn, InvoicesModel
from opentrain_desk.ui.views.reports.page import ReportsPage
from tests.integration.test_exports import bulk_invoices, issue
from tests.integration.test_invoice_pdf import pdf_text
from tests.ui.conftest import click, find, idle, table_column, wait_dialog

MARCH = [  # (day, kind, amount, project, billing, status)
    (date(2026, 3, 4), InvoiceKind.EMPLOYER_FUNDING, 123_450, "LLM Evaluation — Zoë",
     BillingType.MILESTONE, "Paid"),
    (date(2026, 3, 18), InvoiceKind.TRAINER_PAYOUT, 80_000, "Code review RLHF",
     BillingType.MILESTONE, "Released"),
    (date(2026, 3, 31), InvoiceKind.SUBSCRIPTION, 4_900, "Team plan",
     BillingType.SUBSCRIPTION, "Paid"),
]


def seed(engine) -> None:
    issue(engine, date(2026, 2, 27), amount=50_000, project="February work")
    for day, kind, amount, project, billing, status in MARCH:
        issue(engine, day, kind, amount=amount, project=project, billing=billing,
              status=status)
    issue(engine, date(2026, 4, 1), amount=70_000, project="April work")


def open_reports(qtbot, window) -> ReportsPage:
    """The Reports area (the main window's page once it is wired in, else the page alone)."""
    page = window.findChild(ReportsPage, "reportsPage")
    if page is not None:
        window.show_area("actionReports")
    else:
        page = ReportsPage(window.ctx)
        qtbot.addWidget(page)
        page.resize(1200, 760)
        page.show()
    qtbot.waitExposed(page)
    qtbot.waitUntil(lambda: not page.model.is_loading)  # set while the first page loads
    idle(qtbot, window)
    return page


def choose_file(qtbot, page, name: str, path: Path, expected_name: str | None = None):
    dialog = wait_dialog(qtbot, page.window(), name, QFileDialog)
    if expected_name is not None:
        assert dialog.selectedFiles()[0].endswith(expected_name)
    dialog.selectFile(str(path))
    dialog.accept()


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def test_accountant_filters_a_month_and_exports_zip_and_csv(qtbot, window, tmp_path):
    seed(window.ctx.uow.engine)
    page = open_reports(qtbot, window)
    table = find(page, QTableView, "invoicesTable")
    assert table.model().rowCount() == 5

    find(page, QDateEdit, "dateFromEdit").setDate(QDate(2026, 3, 1))
    find(page, QDateEdit, "dateToEdit").setDate(QDate(2026, 3, 31))
    qtbot.waitUntil(lambda: table.model().rowCount() == 3 and not page.model.is_loading)
    idle(qtbot, window)
    assert find(page, QComboBox, "periodCombo").currentText() == "Custom range"
    assert table_column(table, InvoiceColumn.NUMBER) == [
        "SUB-2026-000001", "PAY-2026-000001", "EMP-2026-000002"]  # newest first
    assert table_column(table, InvoiceColumn.AMOUNT) == ["$49.00", "$800.00", "$1,234.50"]
    assert table_column(table, InvoiceColumn.BILLING) == ["Subscription", "Milestone",
                                                          "Milestone"]
    assert table_column(table, InvoiceColumn.DATE)[0] == "Mar 31, 2026"
    assert table_column(table, InvoiceColumn.DOWNLOAD) == ["Download PDF"] * 3
    # money in and money out are totalled apart, never added together
    assert find(page, QLabel, "invoicesSummaryLabel").text() == (
        "3 invoices · funded (in) $1,234.50 · paid out $800.00 · subscriptions $49.00")
    assert all(table_column(table, InvoiceColumn.BILL_TO))  # the payee / bill-to is shown
    # the chart follows the period, and the filters read dates as the tables do
    qtbot.waitUntil(lambda: [m.label for m in page.chart.totals] == ["Mar 2026"])
    assert page.chart.totals[0].funded_cents == 123_450
    assert find(page, QDateEdit, "dateFromEdit").text() == "Mar 01, 2026"

    # Export PDFs (nothing selected: every invoice in the list) -> one ZIP file
    click(qtbot, find(page, QPushButton, "exportPdfButton"))
    box = wait_dialog(qtbot, page.window(), "exportChoiceBox", QMessageBox)
    assert "3 invoices in the list" in box.text()
    click(qtbot, box.findChild(QPushButton, "exportZipChoiceButton"))
    target = tmp_path / "march.zip"
    with qtbot.waitSignal(page.exportFinished, timeout=20000) as finished:
        choose_file(qtbot, page, "exportPdfFileDialog", target, "Invoices 2026-03.zip")
    assert isinstance(finished.args[0], exports.ExportResult)
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == ["EMP-2026-000002.pdf", "PAY-2026-000001.pdf",
                                              "SUB-2026-000001.pdf"]
        for number, amount in (("EMP-2026-000002", "$1,234.50"), ("PAY-2026-000001", "$800.00"),
                               ("SUB-2026-000001", "$49.00")):
            pdf = tmp_path / f"{number}.pdf"
            pdf.write_bytes(archive.read(f"{number}.pdf"))
            text = pdf_text(pdf)
            assert number in text and amount in text, text

    # Export CSV of the current (filtered, sorted) view
    csv_path = tmp_path / "march.csv"
    click(qtbot, find(page, QPushButton, "exportCsvButton"))
    with qtbot.waitSignal(page.csvExported, timeout=10000) as exported:
        choose_file(qtbot, page, "exportCsvFileDialog", csv_path, "Invoices 2026-03.csv")
    assert exported.args == [3]
    header, *rows = read_csv(csv_path)
    assert header[:2] == ["Number", "Issue date"] and header[7] == "Amount"
    assert [r[0] for r in rows] == table_column(table, InvoiceColumn.NUMBER)
    assert [(r[1], r[3], r[7], r[9]) for r in rows] == [
        ("2026-03-31", "Subscription", "49.00", "Paid"),
        ("2026-03-18", "Milestone", "800.00", "Released"),
        ("2026-03-04", "Milestone", "1234.50", "Paid")]
    assert rows[2][4] == "LLM Evaluation — Zoë"


def click_header(qtbot, table: QTableView, column: int) -> None:
    header = table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(x, header.height() // 2))


def test_clicking_a_header_sorts_in_sql(qtbot, window):
    seed(window.ctx.uow.engine)
    page = open_reports(qtbot, window)
    table = page.table
    amounts = lambda: table_column(table, InvoiceColumn.AMOUNT)  # noqa: E731
    assert amounts() == ["$700.00", "$49.00", "$800.00", "$1,234.50", "$500.00"]  # by date

    click_header(qtbot, table, InvoiceColumn.AMOUNT)
    qtbot.waitUntil(lambda: page.model.sort_key == "amount" and not page.model.is_loading)
    qtbot.waitUntil(lambda: amounts() == ["$49.00", "$500.00", "$700.00", "$800.00",
                                          "$1,234.50"])
    click_header(qtbot, table, InvoiceColumn.AMOUNT)
    qtbot.waitUntil(lambda: amounts() == ["$1,234.50", "$800.00", "$700.00", "$500.00",
                                          "$49.00"])
    click_header(qtbot, table, InvoiceColumn.DOWNLOAD)  # not sortable: order stays
    idle(qtbot, window)
    assert amounts()[0] == "$1,234.50"
    assert table.horizontalHeader().sortIndicatorSection() == InvoiceColumn.AMOUNT
    click_header(qtbot, table, InvoiceColumn.PROJECT)
    qtbot.waitUntil(lambda: table_column(table, InvoiceColumn.PROJECT)[:1] == ["April work"])


def test_filters_by_billing_type_status_and_text(qtbot, window):
    seed(window.ctx.uow.engine)
    page = open_reports(qtbot, window)
    billing = find(page, QComboBox, "billingTypeCombo")
    billing.setCurrentIndex(billing.findData("Subscription"))
    billing.activated.emit(billing.currentIndex())
    qtbot.waitUntil(lambda: table_column(page.table, InvoiceColumn.NUMBER) ==
                    ["SUB-2026-000001"])
    billing.setCurrentIndex(0)
    status = find(page, QComboBox, "statusCombo")
    assert [status.itemText(i) for i in range(status.count())] == ["All statuses", "Paid",
                                                                   "Released"]
    status.setCurrentIndex(status.findData("Released"))
    status.activated.emit(status.currentIndex())
    qtbot.waitUntil(lambda: table_column(page.table, InvoiceColumn.NUMBER) ==
                    ["PAY-2026-000001"])
    status.setCurrentIndex(0)
    qtbot.keyClicks(page.search_edit, "zo")  # the project "LLM Evaluation — Zoë"
    qtbot.waitUntil(lambda: table_column(page.table, InvoiceColumn.NUMBER) ==
                    ["EMP-2026-000002"])


def test_download_one_invoice_from_its_row(qtbot, window, tmp_path):
    seed(window.ctx.uow.engine)
    page = open_reports(qtbot, window)
    button = find(page, QPushButton, "downloadPdfButton")
    assert not button.isEnabled()
    page.table.selectRow(3)
    assert button.isEnabled()
    path = tmp_path / "one.pdf"
    click(qtbot, button)
    with qtbot.waitSignal(page.exportFinished, timeout=10000):
        choose_file(qtbot, page, "downloadPdfFileDialog", path, "EMP-2026-000002.pdf")
    assert "EMP-2026-000002" in pdf_text(path) and "$1,234.50" in pdf_text(path)

    # the Download cell of another row is a link that opens the same dialog for that row
    rect = page.table.visualRect(page.model.index(0, InvoiceColumn.DOWNLOAD))
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    dialog = wait_dialog(qtbot, page.window(), "downloadPdfFileDialog", QFileDialog)
    assert dialog.selectedFiles()[0].endswith("EMP-2026-000003.pdf")
    dialog.reject()


def test_selected_rows_export_to_a_folder(qtbot, window, tmp_path):
    seed(window.ctx.uow.engine)
    page = open_reports(qtbot, window)
    selection = page.table.selectionModel()
    for row in (0, 4):  # as with Ctrl+click
        selection.select(page.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)
    assert len(selection.selectedRows()) == 2
    assert find(page, QPushButton, "exportPdfButton").text() == "Export 2 PDFs…"
    click(qtbot, find(page, QPushButton, "exportPdfButton"))
    box = wait_dialog(qtbot, page.window(), "exportChoiceBox", QMessageBox)
    click(qtbot, box.findChild(QPushButton, "exportFolderChoiceButton"))
    folder = tmp_path / "pdfs"
    folder.mkdir()
    with qtbot.waitSignal(page.exportFinished, timeout=20000):
        dialog = wait_dialog(qtbot, page.window(), "exportPdfFileDialog", QFileDialog)
        assert dialog.fileMode() == QFileDialog.FileMode.Directory
        dialog.setDirectory(str(folder))
        dialog.selectFile(str(folder))
        dialog.accept()
    assert sorted(p.name for p in folder.iterdir()) == ["EMP-2026-000001.pdf",
                                                        "EMP-2026-000003.pdf"]


def test_cancel_in_the_progress_dialog_leaves_no_files(qtbot, window, tmp_path):
    bulk_invoices(window.ctx.uow.engine, 400)
    page = open_reports(qtbot, window)
    folder = tmp_path / "pdfs"
    folder.mkdir()
    page.export_selected_pdfs(folder, as_zip=False)  # none selected: all 400 in the list
    progress = wait_dialog(qtbot, page.window(), "exportProgressDialog", QProgressDialog)
    assert not find(page, QPushButton, "exportPdfButton").isEnabled()
    with qtbot.waitSignal(page.exportFinished, timeout=20000) as finished:
        click(qtbot, progress.findChild(QPushButton))
    assert isinstance(finished.args[0], exports.ExportCancelled)
    box = wait_dialog(qtbot, page.window(), "exportErrorBox", QMessageBox)
    assert box.windowTitle() == "Export cancelled" and "nothing was written" in box.text()
    box.close()
    assert list(folder.iterdir()) == []
    assert find(page, QPushButton, "exportPdfButton").isEnabled()


def test_unwritable_target_shows_a_clear_message(qtbot, window, tmp_path):
    seed(window.ctx.uow.engine)
    page = open_reports(qtbot, window)
    with qtbot.waitSignal(page.exportFinished, timeout=10000) as finished:
        page.export_selected_pdfs(tmp_path / "missing" / "x.zip", as_zip=True)
    assert isinstance(finished.args[0], exports.ExportError)
    box = wait_dialog(qtbot, page.window(), "exportErrorBox", QMessageBox)
    assert box.windowTitle() == "Export failed" and "does not exist" in box.text()
    box.close()


def test_payment_history_tab_and_its_csv(qtbot, window, tmp_path):
    page = open_reports(qtbot, window)
    page.tabs.setCurrentIndex(1)
    assert find(page, QTableView, "paymentHistoryTable").isVisible()
    path = tmp_path / "history.csv"
    click(qtbot, find(page, QPushButton, "exportHistoryCsvButton"))
    with qtbot.waitSignal(page.csvExported, timeout=10000) as exported:
        choose_file(qtbot, page, "exportHistoryCsvFileDialog", path)
    assert exported.args == [0]
    assert read_csv(path) == [list(exports.HISTORY_CSV_HEADER)]


def test_new_invoices_appear_when_payments_change(qtbot, window):
    page = open_reports(qtbot, window)
    assert page.model.rowCount() == 0
    assert "No invoices match" in find(page, QLabel, "invoicesSummaryLabel").text()
    assert not find(page, QPushButton, "exportCsvButton").isEnabled()
    issue(window.ctx.uow.engine, date.today(), amount=9_999)
    window.ctx.sync.paymentsChanged.emit()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=5000)
    idle(qtbot, window)
    assert page.chart.totals[-1].funded_cents == 9_999


@pytest.mark.parametrize("rows", [0, 5])
def test_invoices_model_passes_qtmodeltester(qtbot, qtmodeltester, window, rows):
    if rows:
        seed(window.ctx.uow.engine)
    model = InvoicesModel(window.ctx.db, window.ctx.read)
    model.set_filters(model.filters)
    qtbot.waitUntil(lambda: not model.is_loading)
    assert model.rowCount() == rows
    qtmodeltester.check(model, force_py=True)
    model.sort(InvoiceColumn.AMOUNT, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: not model.is_loading)
    qtmodeltester.check(model, force_py=True)
