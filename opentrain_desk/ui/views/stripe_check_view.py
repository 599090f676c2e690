"""Reports → Check against Stripe: every difference between the books and Stripe, with what
to do, and the actions that settle one (adopt a charge, refund it through the outbox).

The check and "adopt" call Stripe, so they run on ``ctx.net`` (never the GUI or DB thread);
queueing a refund and writing the CSV are database/file work on ``ctx.runner``. Every
callback is a bound method of this view, so a result that arrives after the view was
deleted is dropped by the TaskRunner. Dialogs are opened with ``open()`` (never ``exec()``);
the methods they end in (``adopt``, ``export_csv``) can be called directly by tests.
"""
from __future__ import annotations

import enum
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView,
                               QLabel, QMessageBox, QPushButton, QTableView,
                               QVBoxLayout, QWidget)

from ...domain.errors import DomainError
from ...domain.money import format_cents
from ...reports import exports
from ...services import stripe_check
from ...services.funding import StripeNotConnected
from ...services.ports import GatewayError
from ...services.stripe_check import CSV_HEADER, Difference, Remedy
from ..context import AppContext
from ..dialogs.form_dialog import FieldError, FormDialog
from ..tasks import user_message
from ..widgets.messages import confirm, inform

CHECK_TEXT, CHECKING_TEXT = "Check against Stripe", "Checking…"
NO_DIFFERENCES = "No differences: the books match Stripe."


def error_text(error: BaseException) -> str:
    """What went wrong, for a person: Stripe's and the domain's messages verbatim."""
    if isinstance(error, GatewayError):
        return f"Could not reach Stripe: {error.message}"
    if isinstance(error, (DomainError, exports.ExportError)):
        return str(error)
    return user_message(error)


def count_text(count: int) -> str:
    if count == 0:
        return NO_DIFFERENCES
    return f"{count:,} difference{'s' if count != 1 else ''}"


# -- the table ----------------------------------------------------------------------------------

class DifferenceColumn(enum.IntEnum):
    PROBLEM = 0
    STRIPE_ID = 1
    LABEL = 2
    BOOKS = 3
    STRIPE = 4
    WHAT_TO_DO = 5


HEADERS = {DifferenceColumn.PROBLEM: "Difference", DifferenceColumn.STRIPE_ID: "Stripe id",
           DifferenceColumn.LABEL: "Job / milestone", DifferenceColumn.BOOKS: "Books",
           DifferenceColumn.STRIPE: "Stripe", DifferenceColumn.WHAT_TO_DO: "What to do"}
AMOUNT_COLUMNS = (DifferenceColumn.BOOKS, DifferenceColumn.STRIPE)
#: Widest a column grows when fitted to its contents; "What to do" takes the rest.
MAX_WIDTH = {DifferenceColumn.PROBLEM: 260, DifferenceColumn.STRIPE_ID: 230,
             DifferenceColumn.LABEL: 220, DifferenceColumn.BOOKS: 110,
             DifferenceColumn.STRIPE: 110}


class DifferencesModel(QAbstractTableModel):
    """The differences of the last check, one per row, in the order the check found them."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.differences: list[Difference] = []

    def set_differences(self, differences: list[Difference]) -> None:
        self.beginResetModel()
        self.differences = list(differences)
        self.endResetModel()

    def difference(self, row: int) -> Difference | None:
        return self.differences[row] if 0 <= row < len(self.differences) else None

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.differences)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(DifferenceColumn)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(HEADERS):
            return None
        column = DifferenceColumn(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column in AMOUNT_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column in AMOUNT_COLUMNS:
            return f"Amount in the {HEADERS[column].lower()} (USD)"
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        diff = self.difference(index.row()) if index.isValid() else None
        if diff is None:
            return None
        column = DifferenceColumn(index.column())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.display(diff, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is DifferenceColumn.WHAT_TO_DO:
                return diff.what_to_do
            return f"{diff.problem.value} · {diff.stripe_id}\n\n{diff.what_to_do}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column in AMOUNT_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def display(diff: Difference, column: DifferenceColumn) -> str:
        if column is DifferenceColumn.PROBLEM:
            return diff.problem.value
        if column is DifferenceColumn.STRIPE_ID:
            return diff.stripe_id
        if column is DifferenceColumn.LABEL:
            return diff.label
        if column is DifferenceColumn.BOOKS:
            return format_cents(diff.books_cents)
        if column is DifferenceColumn.STRIPE:
            return format_cents(diff.stripe_cents)
        return diff.what_to_do


# -- the refund dialog ------------------------------------------------------------------------

class RefundChargeDialog(FormDialog):
    """Refund one charge Stripe holds through the outbox; the reason goes to the audit log."""

    def __init__(self, ctx: AppContext, diff: Difference, parent=None) -> None:
        amount = format_cents(diff.stripe_cents)
        super().__init__(ctx.db, "Refund charge", "refundChargeDialog",
                         f"Refund {amount}", parent)
        self.ctx, self.diff = ctx, diff
        charge = QLabel(diff.stripe_id, objectName="refundChargeIdLabel")
        charge.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form.addRow("Charge:", charge)
        self.form.addRow("For:", QLabel(diff.label, wordWrap=True))
        amount_label = QLabel(amount, objectName="refundChargeAmountLabel")
        amount_label.setProperty("role", "title")
        self.form.addRow("Amount:", amount_label)
        self.reason = self.line_edit("Reason:", "refundReasonEdit",
                                     "Why it is refunded (kept in the audit log)")
        warning = QLabel(f"Stripe returns the full {amount} to the card that paid it. This "
                         "cannot be undone. The refund is queued and sent in the background.",
                         objectName="refundChargeWarningLabel", wordWrap=True)
        warning.setProperty("role", "banner")
        # under the form, not in it: a wrapped row of a QFormLayout can be cut off
        self.layout().insertWidget(self.layout().indexOf(self.form) + 1, warning)

    def build(self) -> Callable[[], str]:
        reason = self.reason.text().strip()
        if not reason:
            raise FieldError(self.reason, "Say why this charge is refunded (kept in the "
                                          "audit log).")
        if not self.diff.stripe_cents:
            raise DomainError("Stripe shows no amount for this charge: refund it in the "
                              "Stripe Dashboard.")
        return partial(stripe_check.queue_refund, self.ctx.uow(), self.diff.stripe_id,
                       self.diff.stripe_cents, reason)


# -- the view ---------------------------------------------------------------------------------

def _button(name: str, text: str, tip: str) -> QPushButton:
    button = QPushButton(text, objectName=name, toolTip=tip)
    button.setAccessibleName(text.rstrip("…"))
    return button


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
        if net.run(self, work, self._checked, self._check_failed) is None:
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
                f"Adopt the charge of {format_cents(diff.stripe_cents)} ({diff.stripe_id}) "
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

        if net.run(self, work, self._adopted, self._action_failed) is not None:
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
        dialog.selectFile(f"Stripe differences {date.today().isoformat()}.csv")
        dialog.fileSelected.connect(self._export_chosen)
        dialog.open()

    def _export_chosen(self, path: str) -> None:
        self._last_dir = str(Path(path).parent)
        self.export_csv(Path(path))

    def export_csv(self, path: Path) -> None:
        """The differences listed now as CSV (formula-safe, written atomically)."""
        rows = [diff.csv_row() for diff in self.model.differences]
        self._export_path = Path(path)
        self.ctx.runner.run(partial(exports.write_csv, Path(path), CSV_HEADER, rows),
                            self._exported, self._export_failed)

    def _exported(self, count: int) -> None:
        self._status_bar(f"Saved {count:,} difference{'s' if count != 1 else ''} to "
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
