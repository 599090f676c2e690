"""Reports → Check against Stripe: the differences table's model, and the dialog that
refunds a charge through the outbox."""
from __future__ import annotations

import enum
from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QLabel

from ....domain.errors import DomainError
from ....reports.export_common import ExportError
from ....services import stripe_check
from ....services.ports import GatewayError
from ....services.stripe_check import Difference
from ... import formatting
from ...context import AppContext
from ...dialogs.form_dialog import FieldError, FormDialog
from ...ops import user_message

CHECK_TEXT, CHECKING_TEXT = "Check against Stripe", "Checking…"
NO_DIFFERENCES = "No differences: the books match Stripe."


def error_text(error: BaseException) -> str:
    """What went wrong, for a person: Stripe's and the domain's messages verbatim."""
    if isinstance(error, GatewayError):
        return f"Could not reach Stripe: {error.message}"
    if isinstance(error, (DomainError, ExportError)):
        return str(error)
    return user_message(error)


def count_text(count: int) -> str:
    if count == 0:
        return NO_DIFFERENCES
    return formatting.counted(count, "difference")


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


_ROOT = QModelIndex()


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

    def rowCount(self, parent: QModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.differences)

    def columnCount(self, parent: QModelIndex = _ROOT) -> int:
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
            return formatting.money(diff.books_cents)
        if column is DifferenceColumn.STRIPE:
            return formatting.money(diff.stripe_cents)
        return diff.what_to_do


# -- the refund dialog ------------------------------------------------------------------------

class RefundChargeDialog(FormDialog):
    """Refund one charge Stripe holds through the outbox; the reason goes to the audit log."""

    def __init__(self, ctx: AppContext, diff: Difference, parent=None) -> None:
        amount = formatting.money(diff.stripe_cents)
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
