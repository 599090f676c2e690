"""Reports → Invoices: filters (period, dates, billing type, status, search), the invoice
table with its Download links, the totals line, the monthly chart and the export buttons.

Reads go through ``ctx.read`` on ``ctx.db``: the totals, statuses and chart in one op that
is debounced with ``Op.latest`` (typing, date edits, payments arriving), whose result also
re-queries the table. The model keeps the selected invoices (by id) across reloads
(``LazyTableModel.row_key``).
"""
from __future__ import annotations

from datetime import date
from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ....domain import periods
from ....reports.export_common import download_name
from ....services.read_models import InvoiceFilters, InvoiceRow
from ... import formatting
from ...context import AppContext
from .chart import MonthlyChart
from .common import button, date_edit, date_of, debounce, hint, set_date
from .exporter import ReportExports
from .invoices_model import (
    SORT_KEY,
    DownloadDelegate,
    InvoiceColumn,
    InvoicesModel,
    directions_text,
)

SEARCH_DELAY_MS = 250
NO_INVOICES = ("No invoices match. Invoices are issued when a milestone is funded (employer) "
               "and when it is approved (trainer payout).")


def _side_panels(read, filters: InvoiceFilters, today: date):
    """(totals, totals by kind, statuses, monthly totals): one trip to the database thread."""
    start, end = periods.chart_range(filters.date_from, filters.date_to, today)
    return (read.invoice_totals(filters), read.invoice_totals_by_kind(filters),
            read.payment_statuses(), read.monthly_totals(start, end))


class InvoicesTab(QWidget):
    PERIODS = periods.PERIODS

    def __init__(self, ctx: AppContext, exporter: ReportExports, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.exporter = ctx, exporter
        self.setObjectName("invoicesTab")
        self.model = InvoicesModel(ctx.db, ctx.read, self)
        self._build_filters()
        self.table = self._make_table()
        self.summary = hint("invoicesSummaryLabel")
        self.chart = MonthlyChart()
        self.download_button = button("downloadPdfButton", "Download PDF…",
                                      "Save the selected invoice as a PDF")
        self.export_pdf_button = button("exportPdfButton", "Export PDFs…",
                                        "Save the selected invoices (or, with none selected, "
                                        "every invoice in the list) as PDFs in a folder or "
                                        "one ZIP file")
        self.export_csv_button = button("exportCsvButton", "Export CSV…",
                                        "Save the invoices in the list as a CSV file for "
                                        "your accounting software")
        self._layout()
        self._connect()
        self.update_actions()

    # -- construction ------------------------------------------------------------------------
    def _build_filters(self) -> None:
        self.period_combo = QComboBox(objectName="periodCombo")
        self.period_combo.setAccessibleName("Period")
        self.period_combo.addItems(self.PERIODS)
        self.date_from_edit = date_edit("dateFromEdit", "Issued from")
        self.date_to_edit = date_edit("dateToEdit", "Issued until")
        self.billing_combo = QComboBox(objectName="billingTypeCombo")
        self.billing_combo.setAccessibleName("Billing type")
        self.billing_combo.addItem("All billing types", None)
        for value in ("Milestone", "Subscription"):
            self.billing_combo.addItem(value, value)
        self.status_combo = QComboBox(objectName="statusCombo")
        self.status_combo.setAccessibleName("Payment status")
        self.status_combo.addItem("All statuses", None)
        self.search_edit = QLineEdit(objectName="invoiceSearchEdit",
                                     placeholderText="Search number, project, description, name")
        self.search_edit.setAccessibleName("Search invoices")
        self.search_edit.setClearButtonEnabled(True)

    def _make_table(self) -> QTableView:
        table = QTableView(objectName="invoicesTable")
        table.setAccessibleName("Invoices")
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setMouseTracking(True)
        table.verticalHeader().hide()
        self.download_delegate = DownloadDelegate(table)
        table.setItemDelegateForColumn(InvoiceColumn.DOWNLOAD, self.download_delegate)
        header = table.horizontalHeader()
        header.setSortIndicator(InvoiceColumn.DATE, Qt.SortOrder.DescendingOrder)
        header.setSortIndicatorShown(True)
        table.setSortingEnabled(True)
        header.setSectionResizeMode(InvoiceColumn.PROJECT, QHeaderView.ResizeMode.Stretch)
        for column, width in ((InvoiceColumn.NUMBER, 140), (InvoiceColumn.BILL_TO, 160),
                              (InvoiceColumn.BILLING, 100), (InvoiceColumn.AMOUNT, 100),
                              (InvoiceColumn.STATUS, 90), (InvoiceColumn.DATE, 105),
                              (InvoiceColumn.DOWNLOAD, 110)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            table.setColumnWidth(column, width)
        download = QAction("Download PDF…", table, objectName="downloadPdfAction")
        download.triggered.connect(self._ask_download)
        export = QAction("Export selected as PDFs…", table, objectName="exportPdfAction")
        export.triggered.connect(self._ask_export_pdfs)
        table.addActions([download, export])
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        return table

    def _layout(self) -> None:
        # Two rows, so the window can still be made narrow (the stacked areas share one
        # minimum size).
        period, narrow = QHBoxLayout(), QHBoxLayout()
        for row, label, widget in ((period, "Period", self.period_combo),
                                   (period, "From", self.date_from_edit),
                                   (period, "To", self.date_to_edit),
                                   (narrow, "Billing", self.billing_combo),
                                   (narrow, "Status", self.status_combo)):
            row.addWidget(QLabel(f"{label}:", buddy=widget))
            row.addWidget(widget)
        period.addStretch(1)
        narrow.addWidget(self.search_edit, 1)
        actions = QHBoxLayout()
        actions.addWidget(self.summary, 1)
        for widget in (self.download_button, self.export_pdf_button, self.export_csv_button):
            actions.addWidget(widget)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(period)
        top_layout.addLayout(narrow)
        top_layout.addWidget(self.table, 1)
        top_layout.addLayout(actions)
        splitter = QSplitter(Qt.Orientation.Vertical, objectName="reportsSplitter",
                             childrenCollapsible=False)
        splitter.addWidget(top)
        splitter.addWidget(self.chart)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([460, 240])
        QVBoxLayout(self).addWidget(splitter)

    def _connect(self) -> None:
        self.search_edit.textChanged.connect(lambda _text: self.load(SEARCH_DELAY_MS))
        self.period_combo.activated.connect(self._period_chosen)
        for edit in (self.date_from_edit, self.date_to_edit):
            edit.dateChanged.connect(self._dates_edited)
        for combo in (self.billing_combo, self.status_combo):
            combo.activated.connect(self.apply_filters)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self._sort_indicator)
        self.table.selectionModel().selectionChanged.connect(self.update_actions)
        self.model.modelReset.connect(self.update_actions)
        self.model.layoutChanged.connect(self.update_actions)
        self.model.loaded.connect(self.update_actions)
        self.table.doubleClicked.connect(lambda _index: self._ask_download())
        self.download_delegate.clicked.connect(self._download_row)
        self.download_button.clicked.connect(self._ask_download)
        self.export_pdf_button.clicked.connect(self._ask_export_pdfs)
        self.export_csv_button.clicked.connect(self._ask_export_csv)
        self.exporter.busyChanged.connect(self.update_actions)

    # -- loading -----------------------------------------------------------------------------
    def load(self, delay_ms: int = 0, keep_rows: bool = False) -> None:
        """Re-query the table for the filters shown (``keep_rows``: as many rows as are
        loaded now) and read the totals, statuses and chart; with ``delay_ms``, once the
        input has been quiet that long (``Op.latest``: typing, date edits, payments)."""
        if delay_ms:
            debounce(self.ctx.db, self, "invoices", delay_ms, partial(self.load, 0, keep_rows))
            return
        filters, read = self.filters(), self.ctx.read
        if keep_rows and filters == self.model.filters and self.model.rowCount():
            self.model.reload()
        else:
            self.model.set_filters(filters)
        (self.ctx.db.op(self, partial(_side_panels, read, filters, date.today()))
         .success(self._show_side_panels).latest("invoices", 0).run())

    def apply_filters(self, *_args) -> None:
        self.load()

    def _show_side_panels(self, result) -> None:
        totals, by_kind, statuses, months = result
        if totals.count == 0:
            self.summary.setText(NO_INVOICES)
        else:
            self.summary.setText(f"{formatting.counted(totals.count, 'invoice')} · "
                                 f"{directions_text(by_kind)}")
        self._fill_statuses(statuses)
        self.chart.set_totals(months)
        self.update_actions()

    def filters(self) -> InvoiceFilters:
        return InvoiceFilters(date_from=date_of(self.date_from_edit),
                              date_to=date_of(self.date_to_edit),
                              billing_type=self.billing_combo.currentData(),
                              payment_status=self.status_combo.currentData(),
                              text=self.search_edit.text().strip())

    def set_period(self, first: date | None, last: date | None) -> None:
        """Show the invoices issued from ``first`` to ``last`` (inclusive; None = open)."""
        set_date(self.date_from_edit, first)
        set_date(self.date_to_edit, last)
        self.apply_filters()

    def _period_chosen(self, index: int) -> None:
        chosen = periods.period_range(self.PERIODS[index], date.today())
        if chosen is not None:
            self.set_period(*chosen)

    def _dates_edited(self, *_args) -> None:
        self.period_combo.setCurrentIndex(self.PERIODS.index(periods.CUSTOM_RANGE))
        self.load(SEARCH_DELAY_MS)

    def _sort_indicator(self, column: int, _order) -> None:
        if column not in SORT_KEY:  # put the indicator back on the column really sorted
            header = self.table.horizontalHeader()
            current = next(c for c, k in SORT_KEY.items() if k == self.model.sort_key)
            order = (Qt.SortOrder.DescendingOrder if self.model.descending
                     else Qt.SortOrder.AscendingOrder)
            header.blockSignals(True)
            header.setSortIndicator(current, order)
            header.blockSignals(False)

    def _fill_statuses(self, statuses: list[str]) -> None:
        current = self.status_combo.currentData()
        self.status_combo.blockSignals(True)
        self.status_combo.clear()
        self.status_combo.addItem("All statuses", None)
        for status in sorted(set(statuses) | ({current} if current else set())):
            self.status_combo.addItem(status, status)
        self.status_combo.setCurrentIndex(max(0, self.status_combo.findData(current)))
        self.status_combo.blockSignals(False)

    # -- selection -------------------------------------------------
    def selected_rows(self) -> list[InvoiceRow]:
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [row for r in rows if (row := self.model.row_at(r)) is not None]

    def update_actions(self, *_args) -> None:
        busy = self.exporter.busy
        selected = len(self.table.selectionModel().selectedRows())
        has_rows = self.model.total > 0
        self.download_button.setEnabled(selected == 1 and not busy)
        self.export_pdf_button.setEnabled((selected > 0 or has_rows) and not busy)
        self.export_pdf_button.setText(f"Export {formatting.count(selected)} PDFs…"
                                       if selected > 1 else "Export PDFs…")
        self.export_csv_button.setEnabled(has_rows)

    # -- exports ---------------------------------------------------------------------------------
    def _period_name(self) -> str:
        f = self.filters()
        return periods.period_name(f.date_from, f.date_to, date.today())

    def _ask_download(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if len(rows) == 1:
            self._download_row(rows[0].row())

    def _download_row(self, row_index: int) -> None:
        row = self.model.row_at(row_index)
        if row is None:
            return
        self.exporter.file_dialog("downloadPdfFileDialog", f"Save invoice {row.number}",
                                  partial(self.exporter.download_pdf, row.id),
                                  save_name=download_name(row.number),
                                  name_filter="PDF files (*.pdf)")

    def _ask_export_pdfs(self) -> None:
        count = len(self.table.selectionModel().selectedRows()) or self.model.total
        if not count:
            return
        scope = "selected" if self.table.selectionModel().hasSelection() else "in the list"
        box = QMessageBox(QMessageBox.Icon.Question, "Export PDFs",
                          f"Export the {formatting.counted(count, 'invoice')} {scope} as "
                          "PDFs.\nSave them as one ZIP file, or as separate files in a folder?",
                          QMessageBox.StandardButton.Cancel, self.window())
        box.setObjectName("exportChoiceBox")
        box.setTextFormat(Qt.TextFormat.PlainText)
        as_zip = box.addButton("One ZIP file…", QMessageBox.ButtonRole.AcceptRole)
        as_zip.setObjectName("exportZipChoiceButton")
        to_folder = box.addButton("Files in a folder…", QMessageBox.ButtonRole.AcceptRole)
        to_folder.setObjectName("exportFolderChoiceButton")
        box.setDefaultButton(as_zip)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda clicked: self._choose_pdf_target(
            True if clicked is as_zip else False if clicked is to_folder else None))
        box.open()

    def _choose_pdf_target(self, as_zip: bool | None) -> None:
        if as_zip is None:
            return
        if as_zip:
            self.exporter.file_dialog("exportPdfFileDialog", "Export invoices as a ZIP file",
                                      partial(self.export_selected_pdfs, as_zip=True),
                                      save_name=f"Invoices {self._period_name()}.zip",
                                      name_filter="ZIP archives (*.zip)")
        else:
            self.exporter.file_dialog("exportPdfFileDialog", "Export invoices to a folder",
                                      partial(self.export_selected_pdfs, as_zip=False),
                                      folder=True)

    def export_selected_pdfs(self, target, as_zip: bool) -> None:
        """The selected invoices (all in the list when none is selected) as PDFs into the
        folder ``target`` or the ZIP file ``target``, with a progress dialog."""
        self.exporter.export_pdfs([row.id for row in self.selected_rows()], self.model.filters,
                                  self.model.sort_key, self.model.descending,
                                  self.model.total, target, as_zip)

    def _ask_export_csv(self) -> None:
        self.exporter.file_dialog("exportCsvFileDialog", "Export invoices as CSV",
                                  self.export_csv,
                                  save_name=f"Invoices {self._period_name()}.csv",
                                  name_filter="CSV files (*.csv)")

    def export_csv(self, path) -> None:
        """The invoices in the list (every filtered row, in view order) as CSV."""
        self.exporter.export_invoices_csv(self.model.filters, self.model.sort_key,
                                          self.model.descending, path)
