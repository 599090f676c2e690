"""Settings → Billing → Add payment method: Stripe's test cards (test mode) or Stripe's
hosted page in the browser (live mode). No card data ever passes through the app."""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QButtonGroup, QRadioButton, QWidget

from ....domain.errors import DomainError
from ....services import billing
from ....services.ports import CardInfo, PaymentGateway
from ...context import AppContext
from ...dialogs.form_dialog import FormDialog
from ...ops import user_message
from .common import button, button_row, label


class AddPaymentMethodDialog(FormDialog):
    """Test mode: pick one of Stripe's test cards. Live mode: Stripe's hosted page in the
    browser (Checkout, setup mode), then pick the result up. No card data in the app."""

    def __init__(self, ctx: AppContext, gateway: PaymentGateway,
                 parent: QWidget | None = None, bank: bool = False) -> None:
        self.live, self.bank = gateway.mode == "live", bank
        # ctx.net, not ctx.db: saving the card is a Stripe call (with its own unit of work)
        super().__init__(ctx.net, "Add payment method", "addPaymentMethodDialog",
                         "I've finished in the browser" if self.live else
                         "Add bank account" if bank else "Add card", parent)
        self.ctx, self.gateway = ctx, gateway
        self.setup: billing.CardSetup | None = None
        if self.live:
            self._build_hosted()
        else:
            self._build_test_cards()

    def _build_test_cards(self) -> None:
        self.form.addRow(label("Test mode: choose one of Stripe's test cards. No card "
                               "number is typed or stored.", role="hint"))
        self.cards = QButtonGroup(self)
        options = ([(f"bank:{number}", text) for number, text in
                    billing.TEST_BANK_ACCOUNTS.items()] if self.bank else
                   list(billing.TEST_CARDS.items()))
        for payment_method, description in options:
            radio = QRadioButton(description, objectName=f"testCard_{payment_method}")
            radio.setProperty("paymentMethod", payment_method)
            self.cards.addButton(radio)
            self.form.addRow(radio)
        self.cards.buttons()[0].setChecked(True)
        if self.bank:
            self.form.addRow(label("Fundings charged to a bank account are ACH debits: "
                                   "Stripe usually settles them within 4 business days; "
                                   "the milestone stays Funding until then.", role="hint"))

    def _build_hosted(self) -> None:
        self.form.addRow(label(
            "The card is entered on Stripe's secure page in your browser; OpenTrain Desk "
            "never sees the card number.\n1. Open Stripe's page and save the card.\n"
            "2. Come back here and press “I've finished in the browser”.", role="hint"))
        self.open_button = button("Open Stripe's secure page…", "openCardSetupButton",
                                  "Opens Stripe Checkout in your web browser")
        self.open_button.clicked.connect(self.open_hosted_page)
        self.form.addRow(button_row(self.open_button))
        self.url_label = label(name="cardSetupUrlLabel", role="hint")
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.url_label.hide()
        self.form.addRow(self.url_label)
        self.submit_button.setEnabled(False)

    def open_hosted_page(self) -> None:
        self.open_button.setEnabled(False)
        self.error_label.hide()
        self.ctx.net.run(self, partial(billing.start_card_setup, self.ctx.uow, self.gateway),
                         self._hosted_page_ready, self._hosted_page_failed)

    def _hosted_page_ready(self, setup: billing.CardSetup) -> None:
        self.setup = setup
        self.open_button.setEnabled(True)
        self.open_button.setText("Open Stripe's page again…")
        self.submit_button.setEnabled(True)
        self.url_label.setText(f"If your browser did not open, copy this address into it:\n"
                               f"{setup.url}")
        self.url_label.show()
        QDesktopServices.openUrl(QUrl(setup.url))

    def _hosted_page_failed(self, error: BaseException) -> None:
        self.open_button.setEnabled(True)
        self.show_error(user_message(error))

    def build(self) -> Callable[[], CardInfo]:
        if self.live:
            if self.setup is None:
                raise DomainError("Open Stripe's secure page first and save the card there.")
            return partial(billing.finish_card_setup, self.ctx.uow, self.gateway,
                           self.setup.session_id)
        checked = self.cards.checkedButton()
        if checked is None:
            raise DomainError("Choose a test card.")
        choice = checked.property("paymentMethod")
        if choice.startswith("bank:"):
            return partial(billing.add_test_bank_account, self.ctx.uow, self.gateway,
                           choice.removeprefix("bank:"))
        return partial(billing.add_test_card, self.ctx.uow, self.gateway, choice)

