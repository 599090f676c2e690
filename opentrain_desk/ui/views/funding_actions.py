"""Fund / cancel funding / complete authentication on the selected milestone."""
from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QPushButton

from ...domain.milestones import MilestoneStatus
from ...services.read_models import MilestoneRow
from ...services import funding
from ..dialogs.funding import AuthenticateDialog, FundDialog
from ..widgets.messages import confirm


class FundingActions(QObject):
    def __init__(self, view) -> None:
        super().__init__(view)
        self.view, self.ctx = view, view.ctx
        self.fund = self._button("fundMilestoneButton", "Fund milestone…",
                                 "Charge the agency's payment method for this milestone")
        self.cancel = self._button("cancelFundingButton", "Cancel funding",
                                   "Cancel a queued funding that has not reached Stripe")
        self.authenticate = self._button("completeAuthButton", "Complete authentication…",
                                         "The bank asks for 3-D Secure before charging")
        self.fund.clicked.connect(self.open_fund_dialog)
        self.cancel.clicked.connect(self.cancel_funding)
        self.authenticate.clicked.connect(self.open_authenticate)
        self.update(None)

    def _button(self, name: str, text: str, tip: str) -> QPushButton:
        button = QPushButton(text, objectName=name, toolTip=tip)
        button.setAccessibleName(text)
        self.view.add_action_button(button)
        return button

    def update(self, milestone: MilestoneRow | None) -> None:
        self.fund.setEnabled(milestone is not None
                             and milestone.status is MilestoneStatus.NOT_FUNDED)
        self.cancel.setVisible(milestone is not None and milestone.can_cancel_funding)
        self.authenticate.setVisible(milestone is not None
                                     and milestone.needs_authentication)

    def _open(self, dialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._done)
        dialog.open()

    def _done(self, *_args) -> None:
        if self.ctx.sync is not None:
            self.ctx.sync.wake()
        self.view.refresh()

    def open_fund_dialog(self) -> None:
        milestone = self.view.selected()
        if milestone is None:
            return
        dialog = FundDialog(self.ctx, milestone, self.view.window())
        dialog.goToSettings.connect(self.view.window().go_to_settings)
        self._open(dialog)

    def cancel_funding(self) -> None:
        milestone = self.view.selected()
        if milestone is None:
            return
        confirm(self.view.window(), "confirmCancelFunding", "Cancel funding",
                f"Cancel the queued funding of “{milestone.title}”? It has not reached "
                "Stripe; the milestone goes back to Not Funded.", "Cancel funding",
                partial(self._cancel, milestone.id))

    def _cancel(self, milestone_id: int) -> None:
        self.ctx.db.run(self, partial(funding.cancel_funding, self.ctx.uow(), milestone_id),
                        self._done)

    def open_authenticate(self) -> None:
        milestone = self.view.selected()
        if milestone is not None:
            dialog = AuthenticateDialog(self.ctx, milestone, self.view.window())
            dialog.saved.connect(lambda *_: self.ctx.sync and self.ctx.sync.sync_now())
            self._open(dialog)
