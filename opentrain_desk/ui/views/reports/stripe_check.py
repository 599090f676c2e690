"""Reports → Check against Stripe: every difference between the books and Stripe, with what
to do, and the actions that settle one (adopt a charge, refund it through the outbox).

The check and "adopt" call Stripe, so they run on ``ctx.net`` (never the GUI or DB thread);
the CSV is written on ``ctx.files``. Every op is owned by this view, so a result that
arrives after the view was deleted is dropped. Dialogs are opened with ``open()`` (never
``exec()``); the methods they end in (``adopt``, ``export_csv``) can be called directly by
tests.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ....reports import exports
from ....services import stripe_check
from ....services.funding import StripeNotConnected
from ....services.stripe_check import CSV_HEADER, Difference, Remedy
from ... import formatting
from ...context import AppContext
from ...widgets.messages import confirm, inform
from .common import button as _button
from .differences import (
    CHECK_TEXT,
    CHECKING_TEXT,
    MAX_WIDTH,
    DifferenceColumn,
    DifferencesModel,
    RefundChargeDialog,
    count_text,
    error_text,
)


class StripeCheckView(QWidget):
    """Run the check, list the differences, act on the selected one."""

    checked = Signal(object)      # list[Difference] after a check, or the error message
    actionDone = Signal(str)      # "adopted" | "refund queued" | "exported"

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("stripeCheckView")
        self._checking = False
        self._acting = False
        self._check_seq = 0
        self._to_adopt: Difference | None = None
        self._export_path: Path | None = None
        self._last_dir = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())

        explanation = QLabel(
            "Compares the books with Stripe: charges and transfers Stripe has that the books "
            "lack, funded or paid-out milestones Stripe has no record of, and amounts that "
            "differ. The check only reads; nothing changes until you choose an action.",
            objectName="stripeCheckExplanationLabel", wordWrap=True)
        explanation.setProperty("role", "hint")
        self.check_button = _button("checkStripeButton", CHECK_TEXT,
                                    "Compare the books with the charges and transfers at Stripe")
        self._keep_button_width()
        self.status_label = QLabel("Not checked yet.", objectName="stripeCheckStatusLabel",
                                   wordWrap=True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setAccessibleName("Check status")
        self.model = DifferencesModel(self)
        self.table = self._make_table()
        self.detail_label = QLabel(objectName="stripeDifferenceDetailLabel", wordWrap=True)
        self.detail_label.setTextFormat(Qt.TextFormat.PlainText)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.adopt_button = _button("adoptChargeButton", "Adopt into the books",
                                    "Record this charge on its milestone (Active & Funded, "
                                    "with its invoice)")
        self.refund_button = _button("refundChargeButton", "Refund…",
                                     "Refund this charge to the card through the app")
        self.export_button = _button("exportDifferencesButton", "Export CSV…",
                                     "Save the differences as a CSV file")

        top = QHBoxLayout()
        top.addWidget(self.check_button)
        top.addWidget(self.status_label, 1)
        actions = QHBoxLayout()
        actions.addWidget(self.adopt_button)
        actions.addWidget(self.refund_button)
        actions.addStretch(1)
        actions.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail_label)
        layout.addLayout(actions)

        self.check_button.clicked.connect(self.check)
        self.adopt_button.clicked.connect(self._ask_adopt)
        self.refund_button.clicked.connect(self._ask_refund)
        self.export_button.clicked.connect(self._ask_export)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.model.modelReset.connect(self._update_actions)
        self._update_actions()

    def _make_table(self) -> QTableView:
        table = QTableView(objectName="stripeDifferencesTable")
        table.setAccessibleName("Differences between the books and Stripe")
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setMinimumSectionSize(60)
        for column, width in ((DifferenceColumn.PROBLEM, 230), (DifferenceColumn.STRIPE_ID, 215),
                              (DifferenceColumn.LABEL, 150), (DifferenceColumn.BOOKS, 90),
                              (DifferenceColumn.STRIPE, 90)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            table.setColumnWidth(column, width)
        header.setSectionResizeMode(DifferenceColumn.WHAT_TO_DO, QHeaderView.ResizeMode.Stretch)
        return table

    def _keep_button_width(self) -> None:
        """Wide enough for both texts, so "Checking…" does not make the layout jump."""
        button, current = self.check_button, self.check_button.text()
        button.ensurePolished()
        widths = []
        for text in (CHECKING_TEXT, CHECK_TEXT):
            button.setText(text)
            widths.append(button.sizeHint().width())
        button.setText(current)
        button.setMinimumWidth(max(widths))

    def _fit_columns(self) -> None:
        """Each column as wide as its contents (capped); "What to do" stretches."""
        for column, cap in MAX_WIDTH.items():
            self.table.resizeColumnToContents(column)
            fitted = self.table.columnWidth(column) + 16  # breathing room (item padding)
            self.table.setColumnWidth(column, min(fitted, cap))

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._keep_button_width()
        super().changeEvent(event)

    # -- state -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._checking or self._acting

    def selected(self) -> Difference | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.difference(rows[0].row()) if len(rows) == 1 else None

    def _update_actions(self, *_args) -> None:
        diff = self.selected()
        remedies = diff.remedies if diff is not None and not self.busy else ()
        self.adopt_button.setEnabled(Remedy.ADOPT in remedies)
        self.refund_button.setEnabled(Remedy.REFUND in remedies)
        self.export_button.setEnabled(bool(self.model.differences) and not self.busy)
        self.check_button.setEnabled(not self.busy)
        self.check_button.setText(CHECKING_TEXT if self._checking else CHECK_TEXT)
        if diff is None:
            self.detail_label.setText("Select a difference to see what to do about it."
                                      if self.model.differences else "")
        else:
            self.detail_label.setText(f"{diff.problem.value} — {diff.stripe_id}. "
                                      f"{diff.what_to_do}")

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        if bool(self.status_label.property("role") == "error") != error:
            self.status_label.setProperty("role", "error" if error else None)
            self.status_label.style().unpolish(self.status_label)
            self.status_label.style().polish(self.status_label)

    def _status_bar(self, text: str) -> None:
        bar = getattr(self.window(), "statusBar", None)
        if callable(bar):
            bar().showMessage(text, 10000)

    # -- the check ---------------------------------------------------------------------------
    def check(self) -> None:
        """Compare the books with Stripe (off the GUI thread); a second click while it runs
        does nothing."""
        if self._checking:
            return
        stripe, factory, net = self.ctx.stripe, self.ctx.uow, self.ctx.net
        if stripe is None or net is None:
            self._check_failed(StripeNotConnected())
            return

        def work() -> tuple[int, list[Difference]]:
            gateway = stripe.gateway()  # may read the keyring: not on the GUI thread
            if gateway is None:
                raise StripeNotConnected()
            return seq, stripe_check.check(factory, gateway)

        self._check_seq += 1
        seq = self._check_seq
        if net.run(self, work, self._checked, self._check_failed).future is None:
            return  # the app is closing
        self._checking = True
        self._set_status(CHECKING_TEXT)
        self._update_actions()

    def _checked(self, result: tuple[int, list[Difference]]) -> None:
        seq, differences = result
        if seq != self._check_seq:
            return
        self._checking = False
        keep = self.selected()
        self.model.set_differences(differences)
        self._fit_columns()
        self._set_status(count_text(len(differences)))
        if keep is not None:  # the same difference stays selected after an action
            for row, diff in enumerate(differences):
                if diff.stripe_id == keep.stripe_id and diff.problem is keep.problem:
                    self.table.selectRow(row)
                    break
        self._update_actions()
        self.checked.emit(differences)

    def _check_failed(self, error: BaseException) -> None:
        self._checking = False
        self.model.set_differences([])  # stale rows would invite acting on old facts
        message = error_text(error)
        self._set_status(message, error=True)
        self._update_actions()
        self.checked.emit(message)

    # -- adopt -------------------------------------------------------------------------------
    def _ask_adopt(self) -> None:
        diff = self.selected()
        if diff is None or Remedy.ADOPT not in diff.remedies or self.busy:
            return
        self._to_adopt = diff
        confirm(self, "adoptChargeBox", "Adopt charge into the books",
                f"Adopt the charge of {formatting.money(diff.stripe_cents)} ({diff.stripe_id}) "
                f"into the books for “{diff.label}”?\n\nThe milestone becomes Active & Funded "
                "and its funding invoice is issued. Nothing is charged again.",
                "Adopt", self._adopt_confirmed)

    def _adopt_confirmed(self) -> None:
        diff, self._to_adopt = self._to_adopt, None
        if diff is not None:
            self.adopt(diff.stripe_id)

    def adopt(self, payment_intent_id: str) -> None:
        """Take the charge into the books (it asks Stripe first, so it runs on ``ctx.net``)."""
        stripe, factory, net = self.ctx.stripe, self.ctx.uow, self.ctx.net
        if stripe is None or net is None:
            self._action_failed(StripeNotConnected())
            return

        def work() -> int:
            gateway = stripe.gateway()
            if gateway is None:
                raise StripeNotConnected()
            return stripe_check.adopt_charge(factory, gateway, payment_intent_id)

        if net.run(self, work, self._adopted, self._action_failed).future is not None:
            self._set_acting(True)

    def _adopted(self, _milestone_id: int) -> None:
        self._set_acting(False)
        self._status_bar("The charge was adopted into the books.")
        changed = getattr(self.ctx.sync, "paymentsChanged", None)
        if changed is not None:  # jobs and reports show the milestone funded, its invoice
            changed.emit()
        self.actionDone.emit("adopted")
        self.check()

    # -- refund ------------------------------------------------------------------------------
    def _ask_refund(self) -> None:
        diff = self.selected()
        if diff is None or Remedy.REFUND not in diff.remedies or self.busy:
            return
        dialog = RefundChargeDialog(self.ctx, diff, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._refund_queued)
        dialog.open()

    def _refund_queued(self, _operation_id: str) -> None:
        wake = getattr(self.ctx.sync, "wake", None)
        if callable(wake):
            wake()  # send it now (if online)
        self._status_bar("The refund is queued; it is sent to Stripe in the background.")
        self.actionDone.emit("refund queued")
        self.check()

    # -- export ------------------------------------------------------------------------------
    def _ask_export(self) -> None:
        if not self.model.differences:
            return
        if any(d.isVisible() for d in self.findChildren(QFileDialog)):
            return
        dialog = QFileDialog(self, "Export the differences as CSV", self._last_dir)
        dialog.setObjectName("exportDifferencesFileDialog")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("CSV files (*.csv)")
        dialog.setDefaultSuffix("csv")
        dialog.selectFile(f"Stripe differences {formatting.iso_day()}.csv")
        dialog.fileSelected.connect(self._export_chosen)
        dialog.open()

    def _export_chosen(self, path: str) -> None:
        self._last_dir = str(Path(path).parent)
        self.export_csv(Path(path))

    def export_csv(self, path: Path) -> None:
        """The differences listed now as CSV (formula-safe, written atomically)."""
        rows = [diff.csv_row() for diff in self.model.differences]
        self._export_path = Path(path)
        files = self.ctx.files
        if files is None:
            return
        target = Path(path)
        (files.op(self, lambda progress: exports.write_csv(target, CSV_HEADER, rows,
                                                           progress.cancel_event))
         .with_progress(None).success(self._exported).failure(self._export_failed).run())

    def _exported(self, count: int) -> None:
        self._status_bar(f"Saved {formatting.counted(count, 'difference')} to "
                         f"{self._export_path}.")
        self.actionDone.emit("exported")

    def _export_failed(self, error: BaseException) -> None:
        inform(self, "exportDifferencesErrorBox", "Export failed", error_text(error))

    # -- shared ------------------------------------------------------------------------------
    def _set_acting(self, acting: bool) -> None:
        self._acting = acting
        self._update_actions()

    def _action_failed(self, error: BaseException) -> None:
        self._set_acting(False)
        inform(self, "stripeCheckErrorBox", "Could not do that", error_text(error),
               QMessageBox.Icon.Warning)
        self.check()  # Stripe or the books may have moved on: show what is true now
