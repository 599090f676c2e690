"""Every file Reports writes: one invoice PDF, PDFs in bulk (folder or ZIP, with a
progress dialog and Cancel), the invoice CSV and the payment-history CSV.

All of it runs on ``ctx.files`` (``Op.with_progress``: progress and cancel); the rows come
from the read side (``ctx.read``), the logo from ``workspace_settings.current_logo``. File
dialogs are opened with ``open()`` (never ``exec()``); the methods they end in take the
target path, so tests and automation can call them directly.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

from ....reports import exports
from ....services.read_models import InvoiceFilters
from ....services.workspace_settings import current_logo
from ... import formatting
from ...context import AppContext
from ...ops import Op, alive, user_message
from ...widgets.messages import inform
from .common import show_status


def export_message(error: BaseException) -> str:
    if isinstance(error, (exports.ExportError, exports.ExportCancelled)):
        return str(error)
    return user_message(error)


class ReportExports(QObject):
    """The exports of one Reports page (``page`` hosts its dialogs and status messages)."""

    exportFinished = Signal(object)  # ExportResult, or the exception (cancel / error)
    csvExported = Signal(object)     # row count, or the exception
    busyChanged = Signal(bool)
    _workDone = Signal(object)       # future of a cancelled op (its result is not delivered)

    def __init__(self, ctx: AppContext, page: QWidget) -> None:
        super().__init__(page)
        self.ctx, self.page = ctx, page
        self.last_dir = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        self._op: Op | None = None          # the PDF export running (one at a time)
        self._csv_ops: list[Op] = []
        self._progress: QProgressDialog | None = None
        self._workDone.connect(self._cancelled_done, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._op is not None

    # -- dialogs -------------------------------------------------------------------------
    def file_dialog(self, name: str, title: str, on_path: Callable[[Path], None], *,
                    save_name: str | None = None, name_filter: str = "",
                    folder: bool = False) -> QFileDialog | None:
        window = self.page.window()
        if any(d.isVisible() for d in window.findChildren(QFileDialog)):
            return None  # one at a time (a double-click on a Download link clicks twice)
        dialog = QFileDialog(window, title, self.last_dir)
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
            self.last_dir = str(chosen_path if folder else chosen_path.parent)
            on_path(chosen_path)
        dialog.fileSelected.connect(chosen)
        dialog.open()
        return dialog

    # -- PDFs ------------------------------------------------------------------------------
    def download_pdf(self, invoice_id: int, path: Path) -> None:
        """Save one invoice as a PDF at ``path``."""
        read, uow, path = self.ctx.read, self.ctx.uow, Path(path)

        def work(_progress) -> exports.ExportResult:
            saved = exports.save_invoice_pdf(read, invoice_id, path,
                                             logo_path=current_logo(uow) or None)
            return exports.ExportResult(saved, 1, (saved.name,), 0)
        self._start(work, None)

    def export_pdfs(self, ids: list[int], filters: InvoiceFilters, sort: str,
                    descending: bool, count: int, target: Path, as_zip: bool) -> None:
        """``ids`` (every invoice of ``filters`` in view order when empty) as PDFs into the
        folder or ZIP file ``target``, with a progress dialog."""
        if self._op is not None:
            return
        read, uow, target = self.ctx.read, self.ctx.uow, Path(target)

        def work(progress) -> exports.ExportResult:
            chosen = ids or read.invoice_ids(filters, sort=sort, descending=descending)
            if not chosen:
                raise exports.ExportError("There are no invoices to export.")
            return exports.export_invoice_pdfs(read, chosen, target, as_zip=as_zip,
                                               logo_path=current_logo(uow) or None,
                                               progress=progress.report,
                                               cancel=progress.cancel_event)
        total = len(ids) or count
        dialog = QProgressDialog(f"Exporting {formatting.counted(total, 'invoice')} as PDFs…",
                                 "Cancel", 0, max(total, 1), self.page.window())
        dialog.setObjectName("exportProgressDialog")
        dialog.setWindowTitle("Exporting PDFs")
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(300)
        dialog.setValue(0)
        self._progress = dialog
        op = self._start(work, dialog)
        if op is not None:
            dialog.canceled.connect(self.cancel)

    def _start(self, work, dialog: QProgressDialog | None) -> Op | None:
        files = self.ctx.files
        if files is None:
            return None
        op = (files.op(self, work).success(self._done).failure(self._failed)
              .with_progress(self._progressed if dialog is not None else None).run())
        if op.future is None:  # the app is closing
            return None
        self._op = op
        op.future.add_done_callback(self._future_done)
        self.busyChanged.emit(True)
        return op

    def _future_done(self, future: Future) -> None:
        """(worker thread) A cancelled op delivers nothing, so every finished export also
        comes back here; ``_cancelled_done`` reports it when the op was cancelled, once the
        work is really over (its temporary files are gone by then). Queued after the
        executor's own delivery, so exactly one of the two reports it."""
        if alive(self):
            self._workDone.emit(future)

    def _progressed(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.setMaximum(total)
            self._progress.setValue(done)

    def cancel(self) -> None:
        """Cancel a running PDF export (Cancel in the progress dialog)."""
        if self._op is not None:
            self._op.cancel()
            if self._progress is not None:
                self._progress.setLabelText("Cancelling… (removing the files written so far)")

    def cancel_all(self, wait_seconds: float = 0.0) -> None:
        """Cancel every export; optionally wait until the PDF export's temporary files are
        gone (the app quits)."""
        for op in self._csv_ops:
            op.cancel()
        op = self._op
        self.cancel()
        if wait_seconds and op is not None and op.future is not None:
            with contextlib.suppress(BaseException):  # cancelled or failed: over either way
                op.future.result(wait_seconds)

    def _cancelled_done(self, future: Future) -> None:
        op = self._op
        if op is None or op.future is not future or not op.cancelled:
            return  # delivered (or failed) through the op's own handlers
        error = None if future.cancelled() else future.exception()
        if future.cancelled() or error is not None:
            self._failed(error if isinstance(error, exports.ExportError)
                         else exports.ExportCancelled(
                             "The export was cancelled; nothing was written."))
        else:
            self._done(future.result())

    def _finish(self) -> None:
        self._op = None
        if self._progress is not None:
            self._progress.hide()
            self._progress.deleteLater()
            self._progress = None
        self.busyChanged.emit(False)

    def _done(self, result: exports.ExportResult) -> None:
        self._finish()
        if result.target.suffix.lower() == ".pdf":
            show_status(self.page, f"Saved {result.target}.")
        else:
            noun = "PDF" if result.count == 1 else "PDFs"
            show_status(self.page, f"Saved {formatting.count(result.count)} {noun} to "
                                   f"{result.target}.")
        self.exportFinished.emit(result)

    def _failed(self, error: BaseException) -> None:
        self._finish()
        cancelled = isinstance(error, exports.ExportCancelled)
        inform(self.page.window(), "exportErrorBox",
               "Export cancelled" if cancelled else "Export failed", export_message(error),
               QMessageBox.Icon.Information if cancelled else QMessageBox.Icon.Warning)
        self.exportFinished.emit(error)

    # -- CSV -------------------------------------------------------------------------------
    def export_invoices_csv(self, filters: InvoiceFilters, sort: str, descending: bool,
                            path: Path) -> None:
        """The invoices of ``filters`` (every row, in view order) as CSV."""
        read, path = self.ctx.read, Path(path)
        self._csv(lambda progress: exports.export_invoices_csv(
            read, filters, path, sort=sort, descending=descending,
            cancel=progress.cancel_event), path)

    def export_history_csv(self, filters: dict, path: Path) -> None:
        """The payment history of ``filters`` as CSV."""
        read, path = self.ctx.read, Path(path)
        self._csv(lambda progress: exports.export_history_csv(
            read, path, progress.cancel_event, **filters), path)

    def _csv(self, work, path: Path) -> None:
        files = self.ctx.files
        if files is None:
            return
        holder: list[Op] = []

        def done(count: int) -> None:
            self._forget(holder)
            show_status(self.page, f"Saved {formatting.counted(count, 'row')} to {path}.")
            self.csvExported.emit(count)

        def failed(error: BaseException) -> None:
            self._forget(holder)
            inform(self.page.window(), "exportErrorBox", "Export failed",
                   export_message(error))
            self.csvExported.emit(error)
        op = files.op(self, work).with_progress(None).success(done).failure(failed).run()
        holder.append(op)
        self._csv_ops.append(op)

    def _forget(self, holder: list[Op]) -> None:
        for op in holder:
            if op in self._csv_ops:
                self._csv_ops.remove(op)
