"""Money off the happy path on the selected milestone: cancel & refund, and a failed
payout's retry or refund to the employer."""
from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QPushButton

from ...domain.milestones import MilestoneStatus, PayoutStatus
from ...services.read_models import MilestoneRow
from ...services import payouts
from ..dialogs.dispute import DisputeDialog
from ..dialogs.refund import RefundDialog
from ..widgets.messages import confirm


class MoneyActions(QObject):
    def __init__(self, view) -> None:
        super().__init__(view)
        self.view, self.ctx = view, view.ctx
        self.refund = self._button("refundMilestoneButton", "Cancel && refund…",
                                   "End this funded milestone and refund the money")
        self.retry = self._button("retryPayoutButton", "Retry payout",
                                  "Send the failed payout again (once the trainer's payout "
                                  "account is fixed)")
        self.refund_payout = self._button("refundPayoutButton", "Refund payout…",
                                          "Refund the failed payout to your payment method "
                                          "instead")
        self.dispute = self._button("disputeButton", "Dispute…",
                                    "Review the dispute and answer it with evidence")
        self.dispute.clicked.connect(self.open_dispute)
        self.refund.clicked.connect(partial(self.open_refund, False))
        self.refund_payout.clicked.connect(partial(self.open_refund, True))
        self.retry.clicked.connect(self.retry_payout)
        self.update(None)

    def _button(self, name: str, text: str, tip: str) -> QPushButton:
        button = QPushButton(text, objectName=name, toolTip=tip)
        button.setAccessibleName(text.replace("&&", "&"))
        self.view.add_action_button(button)
        return button

    def update(self, milestone: MilestoneRow | None) -> None:
        funded = milestone is not None and milestone.status in (
            MilestoneStatus.ACTIVE_FUNDED, MilestoneStatus.PENDING_APPROVAL)
        failed = milestone is not None and milestone.payout_status is PayoutStatus.FAILED
        self.refund.setVisible(funded and not milestone.disputed)
        self.dispute.setVisible(milestone is not None and milestone.disputed)
        self.retry.setVisible(failed)
        self.refund_payout.setVisible(failed)

    def open_refund(self, payout: bool) -> None:
        milestone = self.view.selected()
        if milestone is None:
            return
        dialog = RefundDialog(self.ctx, milestone, self.view.contract.trainer_name, payout,
                              self.view.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._done)
        dialog.open()

    def open_dispute(self) -> None:
        milestone = self.view.selected()
        if milestone is None:
            return
        dialog = DisputeDialog(self.ctx, milestone.id, milestone.title, self.view.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.changed.connect(self._done)
        dialog.open()

    def retry_payout(self) -> None:
        milestone = self.view.selected()
        if milestone is None:
            return
        confirm(self.view.window(), "confirmRetryPayout", "Retry payout",
                f"Send the payout for “{milestone.title}” again? Make sure the trainer's "
                "payout account is fixed first; if Stripe made the transfer after all, it is "
                "recorded instead of paying twice.", "Retry payout",
                partial(self._retry, milestone.id))

    def _retry(self, milestone_id: int) -> None:
        self.ctx.db.run(self, partial(payouts.retry_payout, self.ctx.uow(), milestone_id),
                        self._done)

    def _done(self, *_args) -> None:
        if self.ctx.sync is not None:
            self.ctx.sync.wake()
        self.view.refresh()
