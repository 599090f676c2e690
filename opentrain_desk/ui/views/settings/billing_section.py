"""Settings → Billing: the agency's payment methods at Stripe (what fundings charge).

Every Stripe call runs on ``ctx.net`` with this section as the owner."""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QGroupBox, QHeaderView, QTableView,
                               QVBoxLayout, QWidget)

from ....services import billing
from ....services.ports import CardInfo
from ...context import AppContext
from ...ops import user_message
from ...widgets.messages import confirm
from .cards_model import CardColumn, CardsModel
from .common import CONNECT_FIRST, button, button_row, label
from .common import gateway as stripe_gateway
from .payment_method_dialog import AddPaymentMethodDialog


class BillingSection(QGroupBox):
    """The agency's payment methods at Stripe (the cards fundings are charged to)."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Billing — payment methods", parent, objectName="billingGroup")
        self.ctx = ctx
        self._generation = 0
        self._busy = 0
        self.model = CardsModel(self)
        self.table = QTableView(objectName="paymentMethodsTable")
        self.table.setAccessibleName("Payment methods")
        self.table.setModel(self.model)
        self._setup_table()
        self.hint_label = label(name="billingHintLabel", role="hint")
        self.error_label = label(name="billingErrorLabel", role="error")
        self.error_label.hide()
        self.add_button = button("Add payment method…", "addPaymentMethodButton")
        self.bank_button = button("Add bank account…", "addBankAccountButton",
                                  "A US bank account for ACH debits (settle in days)")
        self.default_button = button("Set as default", "setDefaultPaymentMethodButton",
                                     "Fundings are charged to the default card")
        self.remove_button = button("Remove…", "removePaymentMethodButton")
        self.refresh_button = button("Refresh", "refreshPaymentMethodsButton",
                                     "Reload the cards from Stripe")
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(label("Milestones are funded by charging the default card.",
                               role="hint"))
        layout.addWidget(self.table)
        layout.addWidget(self.hint_label)
        layout.addWidget(self.error_label)
        layout.addLayout(button_row(self.add_button, self.bank_button, self.default_button,
                                    self.remove_button, self.refresh_button))
        self.add_button.clicked.connect(self.add_payment_method)
        self.bank_button.clicked.connect(self.add_bank_account)
        self.default_button.clicked.connect(self.set_default)
        self.remove_button.clicked.connect(self.confirm_remove)
        self.refresh_button.clicked.connect(self.reload)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self._update_buttons()

    def _setup_table(self) -> None:
        table = self.table
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.setShowGrid(False)
        table.setAlternatingRowColors(True)
        header = table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(CardColumn.CARD, QHeaderView.ResizeMode.Stretch)
        for column in (CardColumn.EXPIRES, CardColumn.DEFAULT):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        table.setMinimumHeight(130)
        table.setMaximumHeight(220)

    # -- state --------------------------------------------------------------------------
    def selected_card(self) -> CardInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.card_at(rows[0].row()) if rows else None

    def _update_buttons(self, *_args: Any) -> None:
        # never loads the connection here: reading the keyring is for the network thread
        connected = self.ctx.stripe is not None and self.ctx.stripe.has_key
        idle = self._busy == 0
        card = self.selected_card()
        self.add_button.setEnabled(connected and idle)
        self.refresh_button.setEnabled(connected and idle)
        self.default_button.setEnabled(idle and card is not None and not card.is_default)
        self.remove_button.setEnabled(idle and card is not None)

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def _run(self, work: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        """A Stripe call on the network thread; buttons wait until it is back."""
        self._busy += 1
        self._show_error("")
        self._update_buttons()
        self.ctx.net.run(self, work, partial(self._finished, on_done),
                         partial(self._finished, self._failed))

    def _finished(self, then: Callable[[Any], None], result: Any) -> None:
        self._busy -= 1
        then(result)
        self._update_buttons()

    def _failed(self, error: BaseException) -> None:
        self._show_error(user_message(error))

    # -- loading ------------------------------------------------------------------------
    def reload(self) -> None:
        stripe = self.ctx.stripe
        if stripe is not None and not stripe.loaded:
            # first look at the key: the keyring is read on the network thread, then again
            self._run(stripe.gateway, lambda _gateway: self.reload())
            return
        gateway = stripe_gateway(self.ctx)
        self._generation += 1
        if gateway is None:
            self.model.set_cards([])
            self._show_error("")
            self._set_hint(f"{CONNECT_FIRST}, then add the card that funds your milestones.")
            self._update_buttons()
            return
        generation = self._generation
        self._set_hint("Loading payment methods from Stripe…")
        self._busy += 1
        self._show_error("")
        self._update_buttons()
        self.ctx.net.run(self, partial(billing.list_cards, self.ctx.uow, gateway),
                           partial(self._finished, partial(self._loaded, generation)),
                         partial(self._finished, partial(self._load_failed, generation)))

    def _loaded(self, generation: int, cards: list[CardInfo]) -> None:
        if generation != self._generation:
            return  # a newer reload (or another key) is on its way
        selected = self.selected_card()
        self.model.set_cards(cards)
        row = self.model.row_of(selected.id) if selected else -1
        if row >= 0:
            self.table.selectRow(row)
        self._set_hint("" if cards else "No payment method yet. Add a card to fund "
                                        "milestones.")

    def _load_failed(self, generation: int, error: BaseException) -> None:
        if generation == self._generation:
            self._set_hint("")
            self._show_error(f"Could not load the payment methods: {user_message(error)}")

    def _set_hint(self, text: str) -> None:
        self.hint_label.setText(text)
        self.hint_label.setVisible(bool(text))

    # -- actions ------------------------------------------------------------------------
    def add_bank_account(self) -> None:
        gateway = stripe_gateway(self.ctx)
        if gateway is not None and gateway.mode == "live":
            self._show_error("In live mode a bank account is added on Stripe's secure page: "
                             "use Add payment method… and choose the bank account there.")
            return
        self.add_payment_method(bank=True)

    def add_payment_method(self, bank: bool = False) -> None:
        gateway = stripe_gateway(self.ctx)
        if gateway is None:
            self._show_error(f"{CONNECT_FIRST}.")
            return
        dialog = AddPaymentMethodDialog(self.ctx, gateway, self.window(), bank=bank)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda _card: self.reload())
        dialog.open()

    def set_default(self) -> None:
        card, gateway = self.selected_card(), stripe_gateway(self.ctx)
        if card is None or gateway is None:
            return
        self._run(partial(billing.set_default, self.ctx.uow, gateway, card.id),
                  lambda _result: self.reload())

    def confirm_remove(self) -> None:
        card = self.selected_card()
        if card is None:
            return
        extra = (" It is the default card: choose another default before funding more "
                 "milestones." if card.is_default else "")
        confirm(self.window(), "confirmRemovePaymentMethod", "Remove payment method",
                f"Remove {card.label} (expires {card.expiry}) from the agency's Stripe "
                f"account?{extra}", "Remove card", partial(self._remove, card.id))

    def _remove(self, card_id: str) -> None:
        gateway = stripe_gateway(self.ctx)
        if gateway is not None:
            self._run(partial(billing.remove_card, self.ctx.uow, gateway, card_id),
                      lambda _result: self.reload())

