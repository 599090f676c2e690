"""Fund a milestone; finish a payment that needs 3-D Secure."""
from __future__ import annotations

from functools import partial

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton

from ...domain.errors import DomainError
from ...services.read_models import MilestoneRow
from ...services import billing, funding
from ...services.funding import NoPaymentMethod, StripeNotConnected
from .. import formatting as fmt
from ..context import AppContext
from ..widgets.labels import plain_label
from .form_dialog import FormDialog

DEFAULT = ""


class FundDialog(FormDialog):
    """Charge the agency's saved payment method for one milestone (via the outbox)."""

    goToBilling = Signal()

    def __init__(self, ctx: AppContext, milestone: MilestoneRow, parent=None) -> None:
        amount = fmt.money(milestone.amount_cents)
        super().__init__(ctx.db, f"Fund milestone — {milestone.title}", "fundDialog",
                         f"Fund {amount}", parent)
        self.ctx, self.milestone = ctx, milestone
        self.form.addRow("Milestone:", plain_label(milestone.title, "fundMilestoneLabel",
                                                   wrap=True))
        amount_label = QLabel(amount, objectName="fundAmountLabel")
        amount_label.setProperty("role", "title")
        self.form.addRow("Amount:", amount_label)
        self.cards = QComboBox(objectName="fundPaymentMethodCombo")
        self.cards.addItem("Default payment method", DEFAULT)
        self.form.addRow("Charge to:", self.cards)
        self.bank_note = QLabel("A bank debit (ACH) usually takes 4 business days: the "
                                "milestone stays Funding (bank debit processing) until "
                                "Stripe settles it.", objectName="bankDebitNoteLabel",
                                wordWrap=True)
        self.bank_note.setProperty("role", "hint")
        self.bank_note.hide()
        self.form.addRow(self.bank_note)
        self.cards.currentIndexChanged.connect(self._explain_method)
        note = QLabel("The charge is queued and sent to Stripe in the background; while "
                      "offline it waits and goes out once Stripe is reachable.", wordWrap=True)
        note.setProperty("role", "hint")
        self.form.addRow(note)
        self.billing_button = QPushButton("Add payment method…", objectName="goToBillingButton")
        self.billing_button.hide()
        self.billing_button.clicked.connect(self._go_to_billing)
        self.layout().insertWidget(2, self.billing_button)
        self._load_cards()

    def _load_cards(self) -> None:
        gateway = self.ctx.stripe.gateway() if self.ctx.stripe else None
        if gateway is None or self.ctx.net is None:
            return
        self.ctx.net.run(self, partial(billing.list_cards, self.ctx.uow, gateway), self._show_cards,
                         lambda _error: None)  # offline: the saved default still works

    def _show_cards(self, cards) -> None:
        self.cards.clear()
        for card in sorted(cards, key=lambda c: not c.is_default):
            suffix = " (default)" if card.is_default else ""
            self.cards.addItem(f"{card.label}{suffix}" if card.bank else
                               f"{card.label} · expires {card.expiry}{suffix}", card.id)
        self._banks = {card.id for card in cards if card.bank}
        self._explain_method()

    def _explain_method(self, *_args) -> None:
        """A bank debit takes days: say so before the employer confirms."""
        bank = self.cards.currentData() in getattr(self, "_banks", ())
        if bank != self.bank_note.isVisibleTo(self):
            self.bank_note.setVisible(bank)
            self.layout().activate()
            self.resize(self.width(), self.sizeHint().height())  # room for the wrapped note

    def build(self):
        mode = self.ctx.stripe.mode if self.ctx.stripe else None
        card = self.cards.currentData() or None
        return partial(funding.queue_funding, self.ctx.uow(), self.milestone.id, mode, card)

    def _failed(self, error: BaseException) -> None:
        super()._failed(error)
        if isinstance(error, (NoPaymentMethod, StripeNotConnected)):
            self.billing_button.setText("Add payment method…" if isinstance(
                error, NoPaymentMethod) else "Open Stripe settings…")
            self.billing_button.show()

    def _go_to_billing(self) -> None:
        self.goToBilling.emit()
        self.goToSettings.emit("billing")
        self.reject()


class AuthenticateDialog(FormDialog):
    """A payment needs the card holder's 3-D Secure step.

    In the sandbox the step is simulated (approve / fail); with a real key the
    payment is opened in the Stripe Dashboard, and Sync picks up the result."""

    def __init__(self, ctx: AppContext, milestone: MilestoneRow, parent=None) -> None:
        sandbox = bool(ctx.stripe and ctx.stripe.is_sandbox)
        super().__init__(ctx.net, f"Authenticate payment — {milestone.title}",
                         "authenticateDialog",
                         "Approve authentication" if sandbox else "Open in Stripe", parent)
        self.ctx, self.milestone, self.sandbox = ctx, milestone, sandbox
        text = ("Your bank asks for 3-D Secure authentication before charging "
                f"{fmt.money(milestone.amount_cents)}. ")
        text += ("This sandbox simulates the bank's page: approve or fail it." if sandbox else
                 "Open the payment in your Stripe Dashboard to complete or cancel it; "
                 "then use Sync now.")
        self.form.addRow(QLabel(text, wordWrap=True))
        if sandbox:
            fail = QPushButton("Fail authentication", objectName="failAuthenticationButton")
            fail.clicked.connect(lambda: self._submit(False))
            self.buttons.addButton(fail, self.buttons.ButtonRole.ActionRole)
        self.success = True

    def _submit(self, success: bool) -> None:
        self.success = success
        self.accept()

    def build(self):
        factory, gateway = self.ctx.uow, self.ctx.stripe.gateway()
        if gateway is None:
            raise DomainError("Stripe is not connected.")
        payment_id = _payment_id(factory, self.milestone.id)
        if not self.sandbox:
            url = f"https://dashboard.stripe.com/{'' if gateway.mode == 'live' else 'test/'}"
            QDesktopServices.openUrl(QUrl(f"{url}payments/{payment_id}"))
            return lambda: None
        success = self.success
        return lambda: simulate_3ds(gateway, payment_id, success)


def _payment_id(factory, milestone_id: int) -> str:
    from ...domain.operations import OperationKind
    with factory() as uow:
        operation = uow.operations.open_for_milestone(milestone_id,
                                                      OperationKind.FUND_MILESTONE)
    if operation is None or not operation.stripe_object_id:
        raise DomainError("This milestone has no payment waiting for authentication.")
    return operation.stripe_object_id


def simulate_3ds(gateway, payment_intent_id: str, success: bool) -> None:
    """Sandbox only: the emulator's stand-in for the bank's 3-D Secure page."""
    intent = gateway.v1.payment_intents.retrieve(payment_intent_id)
    gateway._client.raw_request(
        "post", f"/v1/payment_intents/{payment_intent_id}/_authenticate",
        client_secret=intent["client_secret"], success="true" if success else "false")
