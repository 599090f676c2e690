"""Reports: find any invoice, download it or a whole period as PDFs, export CSV for the
accountant, review payment history, and see funded vs. paid out per month.

Reads go through ``persistence.reports_queries`` on ``ctx.runner`` (the DB thread). A bulk PDF
export runs on its own thread (which hands the rendering to worker processes, see
``reports.exports``) so the DB thread stays free while it runs; a progress dialog with Cancel
follows it. File dialogs are opened with ``open()`` (never ``exec()``); the methods they call
(``export_selected_pdfs``, ``export_csv``, ``export_history_csv``, ``download_pdf``) take the
target path, so tests and automation can call them directly.
"""
from __future__ import annotations

import enum
import threading
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCharts import (QBarCategoryAxis, QBarSeries, QBarSet, QCategoryAxis, QChart,
                              QChartView)
from PySide6.QtCore import (QCoreApplication, QDate, QEvent, QObject, QStandardPaths, Qt,
                            QTimer, Signal)
from PySide6.QtGui import QAction, QColor, QCursor, QFont, QPainter, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDateEdit, QFileDialog,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox,
                               QProgressDialog, QPushButton, QSplitter, QStyle,
                               QStyledItemDelegate, QTableView, QTabWidget, QToolTip,
                               QVBoxLayout, QWidget)

from ...domain.milestones import PayoutStatus
from ...domain.money import format_cents
from ...persistence import reports_queries as rq
from ...persistence.reports_queries import InvoiceFilters, InvoiceRow, MonthlyTotal
from ...reports import exports
from ...services.workspace_settings import COMPANY_LOGO
from ..context import AppContext
from ..models.lazy_table import LazyTableModel
from ..tasks import user_message
from ..widgets.messages import inform
from .history_views import PaymentHistoryView
from .stripe_check_view import StripeCheckView

RELOAD_DELAY_MS = 300
ANY_DATE = QDate(2000, 1, 1)  # a date edit at its minimum shows "Any": no bound
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: (funded, paid out) bar colours per palette: at least 3:1 against the chart's background.
BAR_COLOURS = {"light": (QColor("#1F4E79"), QColor("#1E8449")),
               "dark": (QColor("#60A5FA"), QColor("#34D399"))}


def bar_colours(palette: QPalette) -> tuple[QColor, QColor]:
    return BAR_COLOURS["dark" if palette.base().color().lightness() < 128 else "light"]


#: Footer parts per invoice series: money in and money out are never added together.
DIRECTIONS = (("EMP", "funded (in)"), ("PAY", "paid out"), ("SUB", "subscriptions"),
              ("CN", "refunded"))


def directions_text(by_kind: dict[str, int]) -> str:
    parts = [f"{label} {format_cents(by_kind[kind])}" for kind, label in DIRECTIONS
             if kind in by_kind]
    return " · ".join(parts)


def _short_date(day: date) -> str:
    return f"{_MONTHS[day.month - 1]} {day.day:02d}, {day.year}"


def _button(name: str, text: str, tip: str) -> QPushButton:
    button = QPushButton(text, objectName=name, toolTip=tip)
    button.setAccessibleName(text.rstrip("…"))
    return button


def _hint(name: str) -> QLabel:
    label = QLabel(objectName=name, wordWrap=True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setProperty("role", "hint")
    return label


# -- the invoice table ------------------------------------------------------------------------

class InvoiceColumn(enum.IntEnum):
    NUMBER = 0
    PROJECT = 1
    BILL_TO = 2
    BILLING = 3
    AMOUNT = 4
    STATUS = 5
    DATE = 6
    DOWNLOAD = 7


#: Columns the user can sort by (SQL-side) and their ``reports_queries.SORT_KEYS`` key.
SORT_KEY = {InvoiceColumn.NUMBER: "number", InvoiceColumn.PROJECT: "project",
            InvoiceColumn.BILLING: "billing_type", InvoiceColumn.AMOUNT: "amount",
            InvoiceColumn.STATUS: "status", InvoiceColumn.DATE: "date"}
DOWNLOAD_TEXT = "Download PDF"


class InvoicesModel(LazyTableModel[InvoiceRow]):
    """Issued invoices, filtered, sorted and paged in SQL (``sort()`` re-queries)."""

    Columns = InvoiceColumn
    HEADERS = {InvoiceColumn.NUMBER: "Number", InvoiceColumn.PROJECT: "Project",
               InvoiceColumn.BILL_TO: "Bill to / payee", InvoiceColumn.BILLING: "Billing type",
               InvoiceColumn.AMOUNT: "Amount",
               InvoiceColumn.STATUS: "Status", InvoiceColumn.DATE: "Date",
               InvoiceColumn.DOWNLOAD: "Download"}

    def __init__(self, runner, engine, parent=None) -> None:
        super().__init__(runner, parent)
        self.engine = engine
        self.filters = InvoiceFilters()
        self.sort_key, self.descending = "date", True

    def set_filters(self, filters: InvoiceFilters) -> None:
        self.filters = filters
        self._requery()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = SORT_KEY.get(column)
        if key is None:  # the Download column: nothing to sort by
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (key, descending) != (self.sort_key, self.descending):
            self.sort_key, self.descending = key, descending
            if self._page is not None:
                self._requery()

    def _requery(self) -> None:
        engine, filters, key, desc = self.engine, self.filters, self.sort_key, self.descending
        self.set_source(partial(rq.count_invoices, engine, filters),
                        lambda after, limit: rq.list_invoices(  # TODO keyset (issue 11)
                            engine, filters, sort=key, descending=desc,
                            offset=0 if after is None else self.rowCount(), limit=limit))

    def display(self, row: InvoiceRow, column: InvoiceColumn) -> str:
        if column is InvoiceColumn.NUMBER:
            return row.number
        if column is InvoiceColumn.PROJECT:
            return row.project_name
        if column is InvoiceColumn.BILL_TO:
            return row.bill_to_name
        if column is InvoiceColumn.BILLING:
            return row.billing_type
        if column is InvoiceColumn.AMOUNT:
            return format_cents(row.amount_cents)
        if column is InvoiceColumn.STATUS:
            return row.payment_status
        if column is InvoiceColumn.DATE:
            return _short_date(row.issue_date)
        return DOWNLOAD_TEXT

    def sort_value(self, row: InvoiceRow, column: InvoiceColumn) -> Any:
        if column is InvoiceColumn.AMOUNT:
            return row.amount_cents if row.amount_cents is not None else -1
        if column is InvoiceColumn.DATE:
            return row.issue_date.isoformat()
        return self.display(row, column)

    def extra(self, row: InvoiceRow, column: InvoiceColumn, role: int) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and column is InvoiceColumn.AMOUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is InvoiceColumn.DOWNLOAD:
                return f"Save {exports.download_name(row.number)}"
            to = "Payee" if row.kind == "PAY" else "Bill to"
            return f"{row.number} · {row.description}\n{to}: {row.bill_to_name}"
        return None


class DownloadDelegate(QStyledItemDelegate):
    """The Download column as a link-styled action; a click emits ``clicked(row)``."""

    clicked = Signal(int)

    def paint(self, painter: QPainter, option, index) -> None:
        self.initStyleOption(option, index)
        text, option.text = option.text, ""
        widget = option.widget
        widget.style().drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        colour = option.palette.color(QPalette.ColorRole.HighlightedText if selected
                                      else QPalette.ColorRole.Link)
        font = QFont(option.font)
        font.setUnderline(bool(option.state & QStyle.StateFlag.State_MouseOver))
        painter.save()
        painter.setFont(font)
        painter.setPen(colour)
        painter.drawText(option.rect.adjusted(8, 0, -4, 0),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        painter.restore()

    def editorEvent(self, event, model, option, index) -> bool:
        if (event.type() == QEvent.Type.MouseButtonRelease
                and event.button() == Qt.MouseButton.LeftButton
                and option.rect.contains(event.position().toPoint())):
            self.clicked.emit(index.row())
        return False  # the view still selects the row


# -- the monthly chart --------------------------------------------------------------------------

class MonthlyChart(QChartView):
    """Funded vs. paid out per month, as grouped bars."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("monthlyChart")
        self.setAccessibleName("Funded vs. paid out per month")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(160)
        self.totals: list[MonthlyTotal] = []
        chart = QChart()
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignTop)
        chart.setBackgroundRoundness(0)
        chart.layout().setContentsMargins(0, 0, 0, 0)
        self.setChart(chart)
        self._apply_palette()

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # the OS switched light/dark
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        """QtCharts draws its own light theme; follow the app's palette instead."""
        palette, chart = self.palette(), self.chart()
        ink, grid = palette.text().color(), palette.mid().color()
        chart.setBackgroundBrush(palette.base())
        self.setBackgroundBrush(palette.base())
        chart.setTitleBrush(palette.text())
        chart.legend().setLabelColor(ink)
        for axis in chart.axes():
            axis.setLabelsColor(ink)
            axis.setGridLineColor(grid)
            axis.setLinePenColor(grid)
        for series in chart.series():
            for bar_set, colour in zip(series.barSets(), bar_colours(palette)):
                bar_set.setColor(colour)

    def set_totals(self, totals: list[MonthlyTotal]) -> None:
        self.totals = totals
        chart = self.chart()
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        funded, paid = QBarSet("Funded"), QBarSet("Paid out")
        for bar_set in (funded, paid):
            bar_set.setBorderColor(Qt.GlobalColor.transparent)
        for month in totals:
            funded.append(month.funded_cents / 100)  # display only: dollars on the axis
            paid.append(month.paid_out_cents / 100)
        series = QBarSeries()
        series.append(funded)
        series.append(paid)
        chart.addSeries(series)
        months = QBarCategoryAxis()
        months.append([_axis_label(m, totals) for m in totals])
        chart.addAxis(months, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(months)
        values = QCategoryAxis()  # dollar labels with thousands separators: "$10,000"
        values.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
        top = max([m.funded_cents for m in totals] + [m.paid_out_cents for m in totals] + [0])
        ceiling = _nice_ceiling(top)
        for step in range(5):
            values.append(f"${ceiling * step // 400:,}", ceiling * step / 400)
        values.setRange(0, ceiling / 100)
        chart.addAxis(values, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(values)
        series.hovered.connect(self._hovered)
        if totals:
            chart.setTitle(f"Funded vs. paid out, {totals[0].label} – {totals[-1].label}")
        self._apply_palette()

    def _hovered(self, status: bool, index: int, bar_set: QBarSet) -> None:
        if not status or not 0 <= index < len(self.totals):
            QToolTip.hideText()
            return
        month = self.totals[index]
        cents = month.funded_cents if bar_set.label() == "Funded" else month.paid_out_cents
        QToolTip.showText(QCursor.pos(), f"{month.label} · {bar_set.label()}: "
                                         f"{format_cents(cents)}", self)


def _axis_label(month: MonthlyTotal, totals: list[MonthlyTotal]) -> str:
    """``Mar`` (the year only on the first bar and on January) keeps the axis readable."""
    first = month is totals[0]
    return month.label if first or month.month.month == 1 else month.label[:3]


def _nice_ceiling(cents: int) -> int:
    """$100, $200, $400, $1,000, $2,000, $4,000 ... in cents, at or above ``cents``
    (quarters of it are round amounts too)."""
    step = 10_000
    while True:
        for factor in (1, 2, 4):
            if step * factor >= cents:
                return step * factor
        step *= 10


# -- background exports ----------------------------------------------------------------------------

class _ExportJob(QObject):
    """Runs one export on its own thread; signals arrive on the GUI thread (queued)."""

    progressed = Signal(int, int)
    done = Signal(object, object)  # result, error

    def __init__(self, fn: Callable[[Callable[[int, int], None], threading.Event], Any]) -> None:
        super().__init__()
        self.cancel = threading.Event()
        self._fn = fn
        self._thread = threading.Thread(target=self._run, name="otd-export", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            result, error = self._fn(self.progressed.emit, self.cancel), None
        except BaseException as exc:  # noqa: BLE001 - reported to the GUI thread
            result, error = None, exc
        self.done.emit(result, error)

    def wait(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


def _logo_path(uow_factory) -> Path | None:
    """Settings → Company logo, if one is set (read on the export thread)."""
    with uow_factory() as uow:
        value = uow.settings.get(COMPANY_LOGO)
    return Path(value) if value else None


def _export_message(error: BaseException) -> str:
    if isinstance(error, (exports.ExportError, exports.ExportCancelled)):
        return str(error)
    return user_message(error)


# -- the page ----------------------------------------------------------------------------------

class ReportsPage(QWidget):
    """Reports area: invoices (filters, downloads, exports, chart) and payment history."""

    exportFinished = Signal(object)  # ExportResult, or the exception (cancel / error)
    csvExported = Signal(object)     # row count, or the exception

    PERIODS = ("All dates", "This month", "Last month", "This year", "Last year",
               "Custom range")

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("reportsPage")
        self.engine = ctx.queries.engine
        self._loaded = self._stale = False
        self._job: _ExportJob | None = None
        self._progress: QProgressDialog | None = None
        self._last_dir = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        self.model = InvoicesModel(ctx.db, self.engine, self)
        self._build_filters()
        self.table = self._make_table()
        self.summary = _hint("invoicesSummaryLabel")
        self.chart = MonthlyChart()
        self.download_button = _button("downloadPdfButton", "Download PDF…",
                                       "Save the selected invoice as a PDF")
        self.export_pdf_button = _button("exportPdfButton", "Export PDFs…",
                                         "Save the selected invoices (or, with none selected, "
                                         "every invoice in the list) as PDFs in a folder or "
                                         "one ZIP file")
        self.export_csv_button = _button("exportCsvButton", "Export CSV…",
                                         "Save the invoices in the list as a CSV file for "
                                         "your accounting software")
        self.history = PaymentHistoryView(ctx, None)
        self.export_history_button = _button("exportHistoryCsvButton", "Export CSV…",
                                             "Save the payment history in the list as CSV")
        self.tabs = QTabWidget(objectName="reportsTabs")
        self.tabs.addTab(self._invoices_tab(), "Invoices")
        self.tabs.addTab(self._history_tab(), "Payment history")
        self.stripe_check = StripeCheckView(ctx)
        self.tabs.addTab(self.stripe_check, "Check against Stripe")
        layout = QVBoxLayout(self)
        title = QLabel("Reports")
        title.setProperty("role", "title")
        layout.addWidget(title)
        layout.addWidget(self.tabs, 1)
        self._connect()
        self._update_actions()

    # -- construction ------------------------------------------------------------------------
    def _date_edit(self, name: str, accessible: str) -> QDateEdit:
        edit = QDateEdit(objectName=name, calendarPopup=True)
        edit.setAccessibleName(accessible)
        edit.setDisplayFormat("MMM dd, yyyy")  # as the tables show dates
        edit.setMinimumDate(ANY_DATE)
        edit.setSpecialValueText("Any")
        edit.setDate(ANY_DATE)
        return edit

    def _build_filters(self) -> None:
        self.period_combo = QComboBox(objectName="periodCombo")
        self.period_combo.setAccessibleName("Period")
        self.period_combo.addItems(self.PERIODS)
        self.date_from_edit = self._date_edit("dateFromEdit", "Issued from")
        self.date_to_edit = self._date_edit("dateToEdit", "Issued until")
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

    def _invoices_tab(self) -> QWidget:
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
        filters = QVBoxLayout()
        filters.addLayout(period)
        filters.addLayout(narrow)
        actions = QHBoxLayout()
        actions.addWidget(self.summary, 1)
        for button in (self.download_button, self.export_pdf_button, self.export_csv_button):
            actions.addWidget(button)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(filters)
        top_layout.addWidget(self.table, 1)
        top_layout.addLayout(actions)
        splitter = QSplitter(Qt.Orientation.Vertical, objectName="reportsSplitter",
                             childrenCollapsible=False)
        splitter.addWidget(top)
        splitter.addWidget(self.chart)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([460, 240])
        tab = QWidget(objectName="invoicesTab")
        QVBoxLayout(tab).addWidget(splitter)
        return tab

    def _history_tab(self) -> QWidget:
        self.history_from_edit = self._date_edit("historyFromEdit", "Payments from")
        self.history_to_edit = self._date_edit("historyToEdit", "Payments until")
        self.history_trainer_edit = QLineEdit(objectName="historyTrainerEdit",
                                              placeholderText="Trainer name or email")
        self.history_job_edit = QLineEdit(objectName="historyJobEdit", placeholderText="Job")
        self.history_payout_combo = QComboBox(objectName="historyPayoutCombo")
        self.history_payout_combo.setAccessibleName("Payout status")
        self.history_payout_combo.addItem("All payouts", None)
        for status in PayoutStatus:
            self.history_payout_combo.addItem(status.label, status)
        dates, names = QHBoxLayout(), QHBoxLayout()
        for row, label, widget in ((dates, "From", self.history_from_edit),
                                   (dates, "To", self.history_to_edit),
                                   (dates, "Payout", self.history_payout_combo)):
            row.addWidget(QLabel(f"{label}:", buddy=widget))
            row.addWidget(widget)
        dates.addStretch(1)
        dates.addWidget(self.export_history_button)
        names.addWidget(self.history_trainer_edit, 1)
        names.addWidget(self.history_job_edit, 1)
        tab = QWidget(objectName="historyTab")
        layout = QVBoxLayout(tab)
        layout.addLayout(dates)
        layout.addLayout(names)
        layout.addWidget(self.history, 1)
        return tab

    def _connect(self) -> None:
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.apply_filters)
        self.search_edit.textChanged.connect(self._search_timer.start)
        self.period_combo.activated.connect(self._period_chosen)
        for edit in (self.date_from_edit, self.date_to_edit):
            edit.dateChanged.connect(self._dates_edited)
        for combo in (self.billing_combo, self.status_combo):
            combo.activated.connect(self.apply_filters)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self._sort_indicator)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.model.modelReset.connect(self._update_actions)
        self.model.loaded.connect(self._update_actions)
        self.table.doubleClicked.connect(lambda index: self._ask_download())
        self.download_delegate.clicked.connect(self._download_row)
        self.download_button.clicked.connect(self._ask_download)
        self.export_pdf_button.clicked.connect(self._ask_export_pdfs)
        self.export_csv_button.clicked.connect(self._ask_export_csv)
        self.export_history_button.clicked.connect(self._ask_export_history)
        self._history_timer = QTimer(self, singleShot=True, interval=250)
        self._history_timer.timeout.connect(self.apply_history_filters)
        for edit in (self.history_trainer_edit, self.history_job_edit):
            edit.textChanged.connect(self._history_timer.start)
        for edit in (self.history_from_edit, self.history_to_edit):
            edit.dateChanged.connect(self._history_timer.start)
        self.history_payout_combo.activated.connect(self.apply_history_filters)
        self._debounced = QTimer(self, singleShot=True, interval=RELOAD_DELAY_MS)
        self._debounced.timeout.connect(self._refresh_if_visible)
        if self.ctx.sync is not None:
            self.ctx.sync.paymentsChanged.connect(self._debounced.start)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._about_to_quit)

    # -- loading -----------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        if not self._loaded or self._stale:
            self.reload()
        super().showEvent(event)

    def _refresh_if_visible(self) -> None:
        if self.isVisible():
            self.reload()
        else:
            self._stale = True

    def reload(self) -> None:
        """Re-read the invoices (keeping loaded rows), the totals, statuses and the chart."""
        self._stale = False
        if not self._loaded:
            self._loaded = True
            self.model.set_filters(self.filters())
        else:
            self.model.reload()
        self._load_side_panels()

    def apply_filters(self, *_args) -> None:
        self._loaded = True
        self.model.set_filters(self.filters())
        self._load_side_panels()

    def _load_side_panels(self) -> None:
        engine, filters = self.engine, self.filters()
        self.ctx.runner.run(lambda: (rq.invoice_totals(engine, filters),
                                     rq.invoice_totals_by_kind(engine, filters)),
                            self._show_totals)
        self.ctx.runner.run(partial(rq.payment_statuses, engine), self._fill_statuses)
        start, end = self._chart_range(filters)
        self.ctx.runner.run(partial(rq.monthly_totals, engine, start, end), self.chart.set_totals)

    @staticmethod
    def _chart_range(filters: InvoiceFilters) -> tuple[date, date]:
        """The filter's months (the query caps them at 24); without a start, twelve months
        up to the filter's last month (or this month)."""
        last = filters.date_to or date.today()
        first = rq._add_months(last.replace(day=1), -11)
        if filters.date_from is not None:
            first = filters.date_from.replace(day=1)
        end = rq._add_months(last.replace(day=1), 1) - timedelta(days=1)
        return first, end

    def filters(self) -> InvoiceFilters:
        return InvoiceFilters(date_from=self._date_of(self.date_from_edit),
                              date_to=self._date_of(self.date_to_edit),
                              billing_type=self.billing_combo.currentData(),
                              payment_status=self.status_combo.currentData(),
                              text=self.search_edit.text().strip())

    @staticmethod
    def _date_of(edit: QDateEdit) -> date | None:
        value = edit.date()
        return None if value <= ANY_DATE else value.toPython()

    def set_period(self, first: date | None, last: date | None) -> None:
        """Show the invoices issued from ``first`` to ``last`` (inclusive; None = open)."""
        for edit, day in ((self.date_from_edit, first), (self.date_to_edit, last)):
            edit.blockSignals(True)
            edit.setDate(QDate(day.year, day.month, day.day) if day else ANY_DATE)
            edit.blockSignals(False)
        self.apply_filters()

    def _period_chosen(self, index: int) -> None:
        today = date.today()
        month = today.replace(day=1)
        previous = rq._add_months(month, -1)
        ranges = {0: (None, None), 1: (month, today),
                  2: (previous, month - timedelta(days=1)),
                  3: (date(today.year, 1, 1), today),
                  4: (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))}
        if index in ranges:
            self.set_period(*ranges[index])

    def _dates_edited(self, *_args) -> None:
        self.period_combo.setCurrentIndex(self.PERIODS.index("Custom range"))
        self._search_timer.start()

    def _sort_indicator(self, column: int, _order) -> None:
        if column not in SORT_KEY:  # put the indicator back on the column really sorted
            header = self.table.horizontalHeader()
            current = next(c for c, k in SORT_KEY.items() if k == self.model.sort_key)
            order = (Qt.SortOrder.DescendingOrder if self.model.descending
                     else Qt.SortOrder.AscendingOrder)
            header.blockSignals(True)
            header.setSortIndicator(current, order)
            header.blockSignals(False)

    def _show_totals(self, result: tuple[rq.InvoiceTotals, dict[str, int]]) -> None:
        totals, by_kind = result
        if totals.count == 0:
            self.summary.setText("No invoices match. Invoices are issued when a milestone is "
                                 "funded (employer) and when it is approved (trainer payout).")
        else:
            noun = "invoice" if totals.count == 1 else "invoices"
            self.summary.setText(f"{totals.count:,} {noun} · {directions_text(by_kind)}")
        self._update_actions()

    def _fill_statuses(self, statuses: list[str]) -> None:
        current = self.status_combo.currentData()
        self.status_combo.blockSignals(True)
        self.status_combo.clear()
        self.status_combo.addItem("All statuses", None)
        for status in sorted(set(statuses) | ({current} if current else set())):
            self.status_combo.addItem(status, status)
        self.status_combo.setCurrentIndex(max(0, self.status_combo.findData(current)))
        self.status_combo.blockSignals(False)

    def apply_history_filters(self, *_args) -> None:
        self.history.set_filters(date_from=self._date_of(self.history_from_edit),
                                 date_to=self._date_of(self.history_to_edit),
                                 trainer_text=self.history_trainer_edit.text().strip(),
                                 job_text=self.history_job_edit.text().strip(),
                                 payout_status=self.history_payout_combo.currentData())

    # -- selection ---------------------------------------------------------------------------
    def selected_rows(self) -> list[InvoiceRow]:
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [row for r in rows if (row := self.model.row_at(r)) is not None]

    def _update_actions(self, *_args) -> None:
        busy = self._job is not None
        selected = len(self.table.selectionModel().selectedRows())
        has_rows = self.model.total > 0
        self.download_button.setEnabled(selected == 1 and not busy)
        self.export_pdf_button.setEnabled((selected > 0 or has_rows) and not busy)
        self.export_pdf_button.setText(f"Export {selected} PDF{'s' if selected != 1 else ''}…"
                                       if selected > 1 else "Export PDFs…")
        self.export_csv_button.setEnabled(has_rows)

    # -- dialogs -------------------------------------------------------------------------------
    def _file_dialog(self, name: str, title: str, on_path: Callable[[Path], None], *,
                     save_name: str | None = None, name_filter: str = "",
                     folder: bool = False) -> QFileDialog | None:
        if any(d.isVisible() for d in self.window().findChildren(QFileDialog)):
            return None  # one at a time (a double-click on a Download link clicks twice)
        dialog = QFileDialog(self.window(), title, self._last_dir)
        dialog.setObjectName(name)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if folder:
            dialog.setFileMode(QFileDialog.FileMode.Directory)
            dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        else:
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            dialog.setNameFilter(name_filter)
            dialog.setDefaultSuffix(name_filter.rsplit("*.", 1)[-1].rstrip(")"))
            dialog.selectFile(save_name or "")

        def chosen(path: str) -> None:
            chosen_path = Path(path)
            self._last_dir = str(chosen_path if folder else chosen_path.parent)
            on_path(chosen_path)
        dialog.fileSelected.connect(chosen)
        dialog.open()
        return dialog

    def _period_name(self) -> str:
        f = self.filters()
        if f.date_from and f.date_to:
            if (f.date_from.day == 1 and f.date_from.replace(day=1) == f.date_to.replace(day=1)
                    and (f.date_to + timedelta(days=1)).day == 1):
                return f.date_from.strftime("%Y-%m")
            return f"{f.date_from.isoformat()} to {f.date_to.isoformat()}"
        return date.today().isoformat()

    def _ask_download(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 1:
            self._download_row(self.table.selectionModel().selectedRows()[0].row())

    def _download_row(self, row_index: int) -> None:
        row = self.model.row_at(row_index)
        if row is None:
            return
        self._file_dialog("downloadPdfFileDialog", f"Save invoice {row.number}",
                          partial(self.download_pdf, row.id),
                          save_name=exports.download_name(row.number),
                          name_filter="PDF files (*.pdf)")

    def _ask_export_pdfs(self) -> None:
        count = len(self.table.selectionModel().selectedRows()) or self.model.total
        if not count:
            return
        what = f"{count:,} invoice{'s' if count != 1 else ''}"
        scope = "selected" if self.table.selectionModel().hasSelection() else "in the list"
        box = QMessageBox(QMessageBox.Icon.Question, "Export PDFs",
                          f"Export the {what} {scope} as PDFs.\nSave them as one ZIP file, or "
                          "as separate files in a folder?", QMessageBox.StandardButton.Cancel,
                          self.window())
        box.setObjectName("exportChoiceBox")
        box.setTextFormat(Qt.TextFormat.PlainText)
        as_zip = box.addButton("One ZIP file…", QMessageBox.ButtonRole.AcceptRole)
        as_zip.setObjectName("exportZipChoiceButton")
        to_folder = box.addButton("Files in a folder…", QMessageBox.ButtonRole.AcceptRole)
        to_folder.setObjectName("exportFolderChoiceButton")
        box.setDefaultButton(as_zip)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda button: self._choose_pdf_target(
            True if button is as_zip else False if button is to_folder else None))
        box.open()

    def _choose_pdf_target(self, as_zip: bool | None) -> None:
        if as_zip is None:
            return
        if as_zip:
            self._file_dialog("exportPdfFileDialog", "Export invoices as a ZIP file",
                              partial(self.export_selected_pdfs, as_zip=True),
                              save_name=f"Invoices {self._period_name()}.zip",
                              name_filter="ZIP archives (*.zip)")
        else:
            self._file_dialog("exportPdfFileDialog", "Export invoices to a folder",
                              partial(self.export_selected_pdfs, as_zip=False), folder=True)

    def _ask_export_csv(self) -> None:
        self._file_dialog("exportCsvFileDialog", "Export invoices as CSV", self.export_csv,
                          save_name=f"Invoices {self._period_name()}.csv",
                          name_filter="CSV files (*.csv)")

    def _ask_export_history(self) -> None:
        self._file_dialog("exportHistoryCsvFileDialog", "Export payment history as CSV",
                          self.export_history_csv,
                          save_name=f"Payment history {date.today().isoformat()}.csv",
                          name_filter="CSV files (*.csv)")

    # -- exports (the dialogs call these; tests may call them directly) --------------------------
    def download_pdf(self, invoice_id: int, path: Path) -> None:
        """Save one invoice as a PDF at ``path`` (off the GUI thread)."""
        engine, uow = self.engine, self.ctx.uow

        def work(_progress, _cancel) -> exports.ExportResult:
            saved = exports.save_invoice_pdf(engine, invoice_id, Path(path),
                                             logo_path=_logo_path(uow))
            return exports.ExportResult(saved, 1, (saved.name,), 0)
        self._start_job(work, None)

    def export_selected_pdfs(self, target: Path, as_zip: bool) -> None:
        """The selected invoices (all in the list when none is selected) as PDFs into the
        folder ``target`` or the ZIP file ``target``, with a progress dialog."""
        if self._job is not None:
            return
        ids = [row.id for row in self.selected_rows()]
        if ids:
            self._start_pdf_export(ids, Path(target), as_zip)
            return
        engine, filters = self.engine, self.model.filters
        key, desc = self.model.sort_key, self.model.descending
        self.ctx.runner.run(partial(rq.invoice_ids, engine, filters, sort=key, descending=desc),
                            lambda all_ids: self._start_pdf_export(all_ids, Path(target), as_zip))

    def _start_pdf_export(self, ids: list[int], target: Path, as_zip: bool) -> None:
        if not ids:
            self._report_export(None, exports.ExportError("There are no invoices to export."))
            return
        engine, uow = self.engine, self.ctx.uow

        def work(progress, cancel) -> exports.ExportResult:
            return exports.export_invoice_pdfs(engine, ids, target, as_zip=as_zip,
                                               logo_path=_logo_path(uow), progress=progress,
                                               cancel=cancel)
        noun = "invoice" if len(ids) == 1 else "invoices"
        dialog = QProgressDialog(f"Exporting {len(ids):,} {noun} as PDFs…", "Cancel", 0,
                                 len(ids), self.window())
        dialog.setObjectName("exportProgressDialog")
        dialog.setWindowTitle("Exporting PDFs")
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(300)
        dialog.setValue(0)
        self._progress = dialog
        job = self._start_job(work, dialog)
        dialog.canceled.connect(partial(self._cancel_job, job))

    def _start_job(self, work, dialog: QProgressDialog | None) -> _ExportJob:
        job = _ExportJob(work)
        if dialog is not None:
            job.progressed.connect(self._progressed)
        job.done.connect(self._job_done)
        self._job = job
        self._update_actions()
        job.start()
        return job

    def _progressed(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.setMaximum(total)
            self._progress.setValue(done)

    def _cancel_job(self, job: _ExportJob) -> None:
        job.cancel.set()
        if self._progress is not None:
            self._progress.setLabelText("Cancelling… (removing the files written so far)")

    def cancel_export(self, wait_seconds: float = 0.0) -> None:
        """Cancel a running PDF export; optionally wait until its temporary files are gone
        (the app quits: the export thread would otherwise be cut off mid-cleanup)."""
        job = self._job
        if job is not None:
            self._cancel_job(job)
            if wait_seconds:
                job.wait(wait_seconds)

    def _about_to_quit(self) -> None:
        self.cancel_export(wait_seconds=10)

    def _job_done(self, result, error) -> None:
        self._job = None
        if self._progress is not None:
            self._progress.hide()
            self._progress.deleteLater()
            self._progress = None
        self._update_actions()
        self._report_export(result, error)

    def _report_export(self, result, error) -> None:
        if error is None:
            if result.target.suffix.lower() == ".pdf":
                self._status(f"Saved {result.target}.")
            else:
                noun = "PDF" if result.count == 1 else "PDFs"
                self._status(f"Saved {result.count:,} {noun} to {result.target}.")
            self.exportFinished.emit(result)
            return
        cancelled = isinstance(error, exports.ExportCancelled)
        inform(self.window(), "exportErrorBox",
               "Export cancelled" if cancelled else "Export failed", _export_message(error),
               QMessageBox.Icon.Information if cancelled else QMessageBox.Icon.Warning)
        self.exportFinished.emit(error)

    def _status(self, text: str) -> None:
        bar = getattr(self.window(), "statusBar", None)
        if callable(bar):
            bar().showMessage(text, 10000)

    def export_csv(self, path: Path) -> None:
        """The invoices in the list (every filtered row, in view order) as CSV."""
        engine, filters = self.engine, self.model.filters
        key, desc = self.model.sort_key, self.model.descending
        self.ctx.runner.run(partial(exports.export_invoices_csv, engine, filters, Path(path),
                                    sort=key, descending=desc),
                            partial(self._csv_done, Path(path)), self._csv_failed)

    def export_history_csv(self, path: Path) -> None:
        """The payment history in the list (with its filters) as CSV."""
        self.ctx.runner.run(partial(exports.export_history_csv, self.engine, Path(path),
                                    **self.history.filters),
                            partial(self._csv_done, Path(path)), self._csv_failed)

    def _csv_done(self, path: Path, count: int) -> None:
        self._status(f"Saved {count:,} rows to {path}.")
        self.csvExported.emit(count)

    def _csv_failed(self, error: BaseException) -> None:
        inform(self.window(), "exportErrorBox", "Export failed", _export_message(error))
        self.csvExported.emit(error)
