"""Cancel & refund a funded milestone, and refund a failed payout to the employer: a
deliberate dialog (amount, required reason, what the trainer is told, no undo)."""
from __future__ import annotations

from functools import partial

from PySide6.QtWidgets import QCheckBox, QLabel

from ...domain.errors import InvalidAmount
from ...domain.milestones import MilestoneStatus
from ...domain.money import Money
from ...services.read_models import MilestoneRow
from ...services import payouts, refunds
from .. import formatting as fmt
from ..context import AppContext
from ..widgets.labels import plain_label
from .form_dialog import FieldError, FormDialog


def _plain(text: str, name: str = "") -> QLabel:
    return plain_label(text, name, wrap=True)


class RefundDialog(FormDialog):
    """Cancel & refund (``payout=False``) or refund a failed payout instead (``True``)."""

    def __init__(self, ctx: AppContext, milestone: MilestoneRow, trainer_name: str,
                 payout: bool = False, parent=None) -> None:
        title = "Refund the failed payout" if payout else "Cancel & refund milestone"
        super().__init__(ctx.db, title, "refundDialog", "Refund", parent)
        self.ctx, self.milestone, self.payout = ctx, milestone, payout
        self.trainer_name = trainer_name
        self.submit_button.setObjectName("confirmRefundButton")
        self.form.addRow("Milestone:", _plain(milestone.title))
        self.form.addRow("Trainer:", _plain(trainer_name))
        self.amount = self.line_edit("Refund amount ($):", "refundAmountEdit")
        self.amount.setText(Money(milestone.amount_cents).plain())
        self.amount.setReadOnly(payout)  # a failed payout is refunded whole
        self.reason = self.text_edit("Reason:", "refundReasonEdit",
                                     "Why the money goes back (the trainer is told)")
        self.reason.textChanged.connect(self._preview)
        self.agreed = QCheckBox("The trainer agreed to cancel this submitted milestone",
                                objectName="trainerAgreedCheck")
        if milestone.status is MilestoneStatus.PENDING_APPROVAL and not payout:
            self.form.addRow(self.agreed)
        self.told = _plain("", "trainerNoticeLabel")
        self.told.setProperty("role", "hint")
        if not payout:
            self.form.addRow("The trainer is told:", self.told)
        warning = _plain("The money goes back to your payment method through Stripe. This "
                         "cannot be undone.", "refundWarningLabel")
        warning.setProperty("role", "banner")
        self.form.addRow(warning)
        self._preview()

    def _preview(self) -> None:
        reason = self.reason.toPlainText().strip() or "(your reason)"
        self.told.setText(refunds.trainer_notice(self.trainer_name, self.milestone.title,
                                                 "", reason))

    def _cents(self) -> int:
        try:
            return Money.parse(self.amount.text()).cents
        except InvalidAmount as error:
            raise FieldError(self.amount, str(error)) from None

    def build(self):
        cents = self._cents()
        if cents > self.milestone.amount_cents:
            raise FieldError(self.amount, f"At most {fmt.money(self.milestone.amount_cents)}"
                                          " can be refunded.")
        reason = self.reason.toPlainText().strip()
        if not reason:
            raise FieldError(self.reason, "Say why the money is refunded.")
        if self.payout:
            return partial(payouts.refund_failed_payout, self.ctx.uow(), self.milestone.id,
                           reason)
        if (self.milestone.status is MilestoneStatus.PENDING_APPROVAL
                and not self.agreed.isChecked()):
            raise FieldError(self.agreed, "The trainer has submitted this milestone: request "
                                          "changes first, or confirm that they agreed.")
        return partial(refunds.cancel_and_refund, self.ctx.uow(), self.milestone.id, cents,
                       reason, self.agreed.isChecked())
