"""The Reports page: a title over its tabs (Invoices, Payment history, Check against
Stripe, Audit log, Outgoing mail) and the exports they share."""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from ...context import AppContext
from .audit_tab import AuditTab
from .exporter import ReportExports
from .history_tab import HistoryTab
from .invoices_tab import InvoicesTab
from .outgoing_mail import OutgoingMailTab
from .stripe_check import StripeCheckView
from ..refresh import RELOAD_DELAY_MS



class ReportsPage(QWidget):
    """Reports area: invoices (filters, downloads, exports, chart) and payment history."""

    exportFinished = Signal(object)  # ExportResult, or the exception (cancel / error)
    csvExported = Signal(object)     # row count, or the exception
    PERIODS = InvoicesTab.PERIODS

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("reportsPage")
        self._loaded = self._stale = False
        self.exporter = ReportExports(ctx, self)
        self.exporter.exportFinished.connect(self.exportFinished)
        self.exporter.csvExported.connect(self.csvExported)
        self.invoices = InvoicesTab(ctx, self.exporter)
        self.history_tab = HistoryTab(ctx, self.exporter)
        self.stripe_check = StripeCheckView(ctx)
        self.tabs = QTabWidget(objectName="reportsTabs")
        self.tabs.addTab(self.invoices, "Invoices")
        self.tabs.addTab(self.history_tab, "Payment history")
        self.tabs.addTab(self.stripe_check, "Check against Stripe")
        self.audit_tab = AuditTab(ctx)
        self.tabs.addTab(self.audit_tab, "Audit log")
        self.outgoing_mail = OutgoingMailTab(ctx)
        self.tabs.addTab(self.outgoing_mail, "Outgoing mail")
        layout = QVBoxLayout(self)
        title = QLabel("Reports")
        title.setProperty("role", "title")
        layout.addWidget(title)
        layout.addWidget(self.tabs, 1)
        # what tests and the main window reach for
        inv = self.invoices
        self.model, self.table, self.chart, self.summary = inv.model, inv.table, inv.chart, \
            inv.summary
        self.search_edit, self.history = inv.search_edit, self.history_tab.history
        if ctx.sync is not None:
            ctx.sync.paymentsChanged.connect(self._payments_changed)
        if getattr(ctx, "live", None) is not None:  # other seats' changes (team)
            from ...live import HISTORY_TABLES
            ctx.live.on(HISTORY_TABLES, self._payments_changed, owner=self)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._about_to_quit)

    @property
    def _last_dir(self) -> str:
        return self.exporter.last_dir

    @_last_dir.setter
    def _last_dir(self, value: str) -> None:
        self.exporter.last_dir = value

    # -- loading -----------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        if not self._loaded or self._stale:
            self.reload()
        super().showEvent(event)

    def _payments_changed(self) -> None:
        if self.isVisible():
            self._loaded, self._stale = True, False
            self.invoices.load(RELOAD_DELAY_MS, keep_rows=True)
        else:
            self._stale = True

    def reload(self) -> None:
        """Re-read the invoices (keeping loaded rows), the totals, statuses and the chart."""
        keep = self._loaded
        self._loaded, self._stale = True, False
        self.invoices.load(keep_rows=keep)

    def apply_filters(self, *_args) -> None:
        self._loaded = True
        self.invoices.apply_filters()

    def set_period(self, first, last) -> None:
        self._loaded = True
        self.invoices.set_period(first, last)

    def filters(self):
        return self.invoices.filters()

    def selected_rows(self):
        return self.invoices.selected_rows()

    # -- exports (the dialogs call these; tests may call them directly) --------------------------
    def download_pdf(self, invoice_id: int, path) -> None:
        self.exporter.download_pdf(invoice_id, path)

    def export_selected_pdfs(self, target, as_zip: bool) -> None:
        self.invoices.export_selected_pdfs(target, as_zip)

    def export_csv(self, path) -> None:
        self.invoices.export_csv(path)

    def export_history_csv(self, path) -> None:
        self.history_tab.export_csv(path)

    def cancel_export(self, wait_seconds: float = 0.0) -> None:
        self.exporter.cancel_all(wait_seconds)

    def _about_to_quit(self) -> None:
        self.cancel_export(wait_seconds=10)
