"""Approve & release, and the trainer's payout setup, on a contract tab."""
from __future__ import annotations

from functools import partial
from urllib.parse import quote

from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from ...domain.milestones import MilestoneStatus
from ...services.read_models import MilestoneRow, TrainerRow
from ...services import payouts
from ..dialogs.approval import ApproveDialog
from ..ops import user_message
from ..widgets.labels import ElidedLabel


class PayoutActions(QObject):
    """The Approve & Release button of a contract's timeline."""

    def __init__(self, view) -> None:
        super().__init__(view)
        self.view, self.ctx = view, view.ctx
        self.approve = QPushButton("Approve && release…", objectName="approveMilestoneButton")
        self.approve.setToolTip("Review the work and release payment to the trainer")
        self.view.add_action_button(self.approve, trailing=True)
        self.approve.clicked.connect(self.open_approve)
        self.update(None)

    def update(self, milestone: MilestoneRow | None) -> None:
        self.approve.setEnabled(milestone is not None
                                and milestone.status is MilestoneStatus.PENDING_APPROVAL)

    def open_approve(self) -> None:
        milestone = self.view.selected()
        if milestone is None:
            return
        dialog = ApproveDialog(self.ctx, milestone, self.view.contract.trainer_name,
                               self.view.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._approved)
        dialog.open()

    def _approved(self, _operation_id) -> None:
        if self.ctx.sync is not None:
            self.ctx.sync.wake()
        self.view.refresh()
        self.view.payout_bar_reload()


class OnboardingLinkDialog(QDialog):
    """The Stripe-hosted onboarding link, to copy or send to the trainer."""

    def __init__(self, url: str, trainer: TrainerRow, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("onboardingLinkDialog")
        self.setWindowTitle(f"Payout setup link — {trainer.name}")
        self.setMinimumWidth(520)
        self.url, self.trainer = url, trainer
        edit = QLineEdit(url, objectName="onboardingLinkEdit", readOnly=True)
        copy = QPushButton("Copy link", objectName="copyOnboardingLinkButton")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(url))
        mail = QPushButton("Email to trainer…", objectName="emailOnboardingLinkButton")
        mail.clicked.connect(self._mail)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(copy)
        row.addWidget(mail)
        row.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Send this Stripe link to the trainer. It expires after a "
                                "few minutes; create a new one if needed. The message is "
                                "also kept in the trainer's message log.", wordWrap=True))
        layout.addWidget(edit)
        layout.addLayout(row)
        layout.addWidget(buttons)

    def _mail(self) -> None:
        body = (f"Hi {self.trainer.name},\n\nPlease set up your payout account with Stripe "
                f"so we can pay your milestones:\n{self.url}\n")
        QDesktopServices.openUrl(QUrl(
            f"mailto:{quote(self.trainer.email)}?subject={quote('Set up your payouts')}"
            f"&body={quote(body)}"))


class TrainerPayoutBar(QWidget):
    """Readiness of the trainer's Stripe Connect account, with the actions to fix it."""

    def __init__(self, ctx, trainer_id: int, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.trainer_id = ctx, trainer_id
        self.trainer: TrainerRow | None = None
        self.setObjectName("trainerPayoutBar")
        self.label = ElidedLabel(objectName="payoutReadinessLabel", minimum_chars=24)
        self.account = ElidedLabel(objectName="stripeAccountLabel",
                                   mode=Qt.TextElideMode.ElideMiddle, minimum_chars=10)
        self.account.setProperty("role", "hint")
        self.account.setMaximumWidth(self.account.fontMetrics().horizontalAdvance("m" * 14))
        self.account.hide()
        self.setup = QPushButton("Set up payouts…", objectName="setupPayoutsButton")
        self.refresh_button = QPushButton("Refresh", objectName="refreshPayoutStatusButton")
        self.sandbox_button = QPushButton("Complete onboarding (sandbox)",
                                          objectName="completeOnboardingButton")
        self.sandbox_button.setVisible(bool(ctx.stripe and ctx.stripe.is_sandbox))
        self.error = QLabel(objectName="payoutErrorLabel", wordWrap=True)
        self.error.setProperty("role", "error")
        self.error.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Payouts:"))
        layout.addWidget(self.label, 1)
        layout.addWidget(self.account)
        for button in (self.setup, self.refresh_button, self.sandbox_button):
            layout.addWidget(button)
        layout.addWidget(self.error)
        self.setup.clicked.connect(self.create_link)
        self.refresh_button.clicked.connect(self.check_stripe)
        self.sandbox_button.clicked.connect(self.complete_sandbox_onboarding)
        self._shown = False

    def showEvent(self, event) -> None:
        if not self._shown:  # tabs that are never opened never query
            self._shown = True
            self.reload()
        super().showEvent(event)

    def reload(self) -> None:
        self.ctx.db.run(self, partial(self.ctx.read.trainer, self.trainer_id), self._show)

    def _show(self, trainer: TrainerRow | None) -> None:
        self.trainer = trainer
        if trainer is None:
            return
        self.label.setText(trainer.readiness)
        self.account.setText(trainer.stripe_account_id or "")
        self.account.setVisible(bool(trainer.stripe_account_id))
        self.label.setProperty("ready", trainer.payouts_enabled)
        self.setup.setVisible(not trainer.payouts_enabled)
        self.setup.setText("Send setup link…" if trainer.stripe_account_id
                           else "Set up payouts…")
        self.refresh_button.setEnabled(bool(trainer.stripe_account_id))
        sandbox = bool(self.ctx.stripe and self.ctx.stripe.is_sandbox)
        self.sandbox_button.setVisible(sandbox and bool(trainer.stripe_account_id)
                                       and not trainer.payouts_enabled)

    def _network(self, fn, on_success) -> None:
        gateway = self.ctx.stripe.gateway() if self.ctx.stripe else None
        if gateway is None or self.ctx.net is None:
            self._failed("Connect Stripe in Settings first.")
            return
        self.error.hide()
        self.ctx.net.run(self, partial(fn, self.ctx.uow, gateway, self.trainer_id), on_success,
                         lambda error: self._failed(user_message(error)))

    def _failed(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def create_link(self) -> None:
        self._network(payouts.onboarding_link, self._show_link)

    def _show_link(self, url: str) -> None:
        self.reload()
        if self.trainer is not None:
            dialog = OnboardingLinkDialog(url, self.trainer, self.window())
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.open()

    def check_stripe(self) -> None:
        self._network(payouts.refresh_account, self._checked)

    def _checked(self, _info) -> None:
        self.reload()
        if self.ctx.sync is not None:
            self.ctx.sync.wake()  # released payouts go out now

    def complete_sandbox_onboarding(self) -> None:
        """Sandbox only: play the trainer finishing Stripe's onboarding."""
        sandbox_url = self.ctx.stripe.sandbox_url if self.ctx.stripe else None
        account = self.trainer.stripe_account_id if self.trainer else None
        if not sandbox_url or not account or self.ctx.net is None:
            return
        import requests

        def complete():
            requests.post(f"{sandbox_url}/_sandbox/accounts/{account}/complete_onboarding",
                          timeout=10).raise_for_status()

        self.ctx.net.run(self, complete, lambda _r: self.check_stripe(),
                         lambda error: self._failed(user_message(error)))
