"""Settings: the Stripe key, the agency's payment methods, company details, workspace info.

Every Stripe call runs on ``ctx.net`` and every database read/write on ``ctx.runner``;
the GUI thread only formats results. A pasted key leaves the edit as soon as it has
been verified (or refused): it lives on only in the OS keyring.
"""
from __future__ import annotations

import enum
from functools import partial
from typing import Any, Callable

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt,
                            QTimer, QUrl, Signal)
from PySide6.QtGui import QDesktopServices, QFont, QShowEvent
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QFormLayout, QFrame,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QRadioButton, QScrollArea,
                               QTableView, QVBoxLayout, QWidget)

from ... import __version__
from ...domain.errors import DomainError, ValidationError
from ...domain.jobs import clean_email, clean_required
from ...payments.connection import StripeConnection
from ...services import billing
from ...services.ports import CardInfo, KeyInfo, PaymentGateway
from ...services.unit_of_work import UnitOfWorkFactory
from ..context import AppContext
from ..dialogs.form_dialog import FieldError, FormDialog
from ..tasks import TaskRunner, user_message
from ..widgets.messages import confirm
from .appearance_section import AppearanceSection
from .logo_field import LogoField
from .plan_section import PlanSection
from .profile_section import ProfileSection

Index = QModelIndex | QPersistentModelIndex
PAGE_WIDTH = 860  # the settings column stays readable on wide windows
SAVE_KEY_TEXT = "Verify && save"  # "&&": a literal ampersand, not a mnemonic

COMPANY_ADDRESS = "company.address"
COMPANY_TAX_ID = "company.tax_id"
COMPANY_KEYS = (billing.COMPANY_NAME, billing.COMPANY_EMAIL, COMPANY_ADDRESS, COMPANY_TAX_ID)


# -- small widget helpers -------------------------------------------------------------
def _label(text: str = "", name: str = "", role: str = "") -> QLabel:
    label = QLabel(text, objectName=name, wordWrap=True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if role:
        label.setProperty("role", role)
    return label


def _set_role(label: QLabel, role: str) -> None:
    if label.property("role") != role:
        label.setProperty("role", role)
        label.style().unpolish(label)
        label.style().polish(label)


def _mark_invalid(widget: QWidget, invalid: bool) -> None:
    if bool(widget.property("invalid")) != invalid:
        widget.setProperty("invalid", invalid)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


def _button(text: str, name: str, tip: str = "") -> QPushButton:
    button = QPushButton(text, objectName=name, toolTip=tip)
    button.setAccessibleName(text.replace("&&", "&").rstrip("…"))
    return button


def _button_row(*buttons: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    for button in buttons:
        row.addWidget(button)
    row.addStretch()
    return row


def _net(ctx: AppContext) -> TaskRunner:
    """The network thread: Stripe calls never run on the GUI or the database thread."""
    assert ctx.net is not None, "AppContext.net is required for Stripe calls"
    return ctx.net


def _gateway(ctx: AppContext) -> PaymentGateway | None:
    return ctx.stripe.gateway() if ctx.stripe is not None else None


# -- Stripe ---------------------------------------------------------------------------
def mode_text(ctx: AppContext) -> str:
    stripe = ctx.stripe
    if stripe is not None and stripe.is_sandbox:
        return "Sandbox — embedded Stripe emulator, no key needed"
    return {"test": "Test mode", "live": "Live mode"}.get(
        (stripe.mode if stripe else None) or "", "Not connected")


class StripeSection(QGroupBox):
    """Connection mode, and (outside the sandbox) the key: verify & save, or remove."""

    changed = Signal()  # a key was saved or removed

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Stripe", parent, objectName="stripeGroup")
        self.ctx = ctx
        self._has_key = False
        self.mode_label = _label(name="stripeConnectionLabel")
        self.mode_label.setWordWrap(False)  # a badge: one line
        self.mode_label.setProperty("role", "mode")
        self.mode_label.setAccessibleName("Stripe mode")
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        mode_row = QHBoxLayout()
        mode_row.addWidget(QLabel("Mode:"))
        mode_row.addWidget(self.mode_label)
        mode_row.addStretch()
        layout.addLayout(mode_row)
        if ctx.stripe is None or ctx.stripe.is_sandbox:
            layout.addWidget(_label(
                "This workspace talks to a Stripe emulator running inside the app. Payments, "
                "cards and payouts are simulated; no real money moves." if ctx.stripe else
                "Stripe is not configured for this workspace.", role="hint"))
        else:
            self._build_key_form(layout, ctx.stripe)
        self.update_mode()

    def _build_key_form(self, layout: QVBoxLayout, connection: StripeConnection) -> None:
        self.connection = connection
        self.problem_label = _label(connection.keyring_problem, "stripeKeyringProblemLabel",
                                    "banner")
        self.problem_label.setVisible(bool(connection.keyring_problem))
        self.key_edit = QLineEdit(objectName="stripeKeyEdit",
                                  placeholderText="sk_live_… / sk_test_… / rk_…")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setAccessibleName("Stripe secret key")
        self.key_edit.setClearButtonEnabled(True)
        self.save_button = _button(SAVE_KEY_TEXT, "saveStripeKeyButton",
                                   "Check the key with Stripe, then store it in the OS keyring")
        self.remove_button = _button("Remove key…", "removeStripeKeyButton",
                                     "Delete the key from this computer's keyring")
        self.status_label = _label("Checking…", "stripeKeyStatusLabel", "hint")
        self.status_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        note = _label("Recommended: a restricted key (rk_…) that allows only what OpenTrain "
                      "Desk uses — Customers, PaymentMethods, PaymentIntents, Checkout "
                      "Sessions, Connect accounts and Transfers. The key is verified with "
                      "Stripe, then kept only in this computer's keyring, never in the "
                      "database or the logs.", "stripeKeyNoteLabel", "hint")
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.save_button)
        layout.addWidget(self.problem_label)
        layout.addWidget(QLabel("Secret or restricted API key:", buddy=self.key_edit))
        layout.addLayout(key_row)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(status_row)
        layout.addWidget(note)
        self.key_edit.textChanged.connect(self._key_typed)
        self.key_edit.returnPressed.connect(self.save_key)
        self.save_button.clicked.connect(self.save_key)
        self.remove_button.clicked.connect(self.confirm_remove)
        self._set_busy(False)

    # -- state --------------------------------------------------------------------------
    @property
    def has_key_form(self) -> bool:
        return hasattr(self, "connection")

    def update_mode(self) -> None:
        stripe = self.ctx.stripe
        mode = "test" if stripe and stripe.is_sandbox else (stripe.mode if stripe else None)
        self.mode_label.setText(mode_text(self.ctx))
        self.mode_label.setProperty("mode", mode or "none")
        self.mode_label.style().unpolish(self.mode_label)
        self.mode_label.style().polish(self.mode_label)

    def refresh(self) -> None:
        """Re-read the masked key hint (a database read) and show the key's status."""
        self.update_mode()
        if self.has_key_form:
            connection = self.connection

            def read() -> str | None:
                connection.gateway()  # loads the key from the keyring (off the GUI thread)
                return connection.key_hint()

            self.ctx.runner.run(read, self._show_status,
                                lambda error: self._show_error(user_message(error), False))

    def _show_status(self, hint: str | None) -> None:
        problem = self.connection.keyring_problem
        self.problem_label.setText(problem)
        self.problem_label.setVisible(bool(problem))
        self.update_mode()
        mode = self.connection.mode
        self._has_key = bool(hint) or mode is not None
        if hint and mode:
            text = f"Saved key {hint} ({mode} mode), stored in the OS keyring."
        elif hint:
            text = (f"The saved key {hint} is not in the OS keyring any more. Paste it again "
                    "to reconnect.")
        else:
            text = "No key saved: Stripe is not connected."
        _set_role(self.status_label, "hint")
        self.status_label.setText(text)
        self._set_busy(False)

    def _show_error(self, message: str, key_refused: bool = True) -> None:
        _set_role(self.status_label, "error")  # before setText: padding changes its size
        self.status_label.setText(message)
        _mark_invalid(self.key_edit, key_refused)

    def _key_typed(self, text: str) -> None:
        _mark_invalid(self.key_edit, False)
        self.save_button.setEnabled(bool(text.strip()))

    def _set_busy(self, busy: bool, verifying: bool = False) -> None:
        self.save_button.setText("Verifying…" if verifying else SAVE_KEY_TEXT)
        self.save_button.setEnabled(not busy and bool(self.key_edit.text().strip()))
        self.key_edit.setEnabled(not busy)
        self.remove_button.setEnabled(not busy and self._has_key)

    # -- save / remove ------------------------------------------------------------------
    def save_key(self) -> None:
        key = self.key_edit.text()
        if not key.strip() or not self.save_button.isEnabled():
            return
        self._set_busy(True, verifying=True)
        _net(self.ctx).run(self, partial(self.connection.save_key, key), self._saved,
                           self._save_failed)

    def _saved(self, _info: KeyInfo) -> None:
        self.key_edit.clear()  # the key lives on only in the keyring
        self.refresh()
        self.changed.emit()

    def _save_failed(self, error: BaseException) -> None:
        self.key_edit.clear()  # a refused key does not linger either
        self._set_busy(False)
        self._show_error(user_message(error))
        self.key_edit.setFocus()

    def confirm_remove(self) -> None:
        confirm(self.window(), "confirmRemoveStripeKey", "Remove Stripe key",
                "Remove the Stripe key from this computer's keyring? Stripe stays "
                "disconnected until a key is saved again; queued payments wait.",
                "Remove key", self._remove)

    def _remove(self) -> None:
        self._set_busy(True)
        _net(self.ctx).run(self, self.connection.remove_key, self._removed,
                           self._remove_failed)

    def _removed(self, _result: Any) -> None:
        self.refresh()
        self.changed.emit()

    def _remove_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self._show_error(user_message(error), key_refused=False)


# -- Billing --------------------------------------------------------------------------
class CardColumn(enum.IntEnum):
    CARD = 0
    EXPIRES = 1
    DEFAULT = 2


class CardsModel(QAbstractTableModel):
    """The agency's saved cards; formatting happens only in ``data()``."""

    HEADERS = {CardColumn.CARD: "Card", CardColumn.EXPIRES: "Expires",
               CardColumn.DEFAULT: "Default"}

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._cards: list[CardInfo] = []

    def set_cards(self, cards: list[CardInfo]) -> None:
        self.beginResetModel()
        self._cards = list(cards)
        self.endResetModel()

    def card_at(self, row: int) -> CardInfo | None:
        return self._cards[row] if 0 <= row < len(self._cards) else None

    def row_of(self, card_id: str) -> int:
        return next((i for i, card in enumerate(self._cards) if card.id == card_id), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._cards)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(CardColumn)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(CardColumn)):
            return self.HEADERS[CardColumn(section)]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        card = self.card_at(index.row()) if index.isValid() else None
        if card is None:
            return None
        column = CardColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(card, column)
        if role == Qt.ItemDataRole.FontRole and card.is_default:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            default = " — the default for fundings" if card.is_default else ""
            return f"{card.label}, expires {card.expiry}{default}"
        return None

    @staticmethod
    def _display(card: CardInfo, column: CardColumn) -> str:
        if column is CardColumn.CARD:
            return card.label
        if column is CardColumn.EXPIRES:
            return card.expiry
        return "Default" if card.is_default else ""


class AddPaymentMethodDialog(FormDialog):
    """Test mode: pick one of Stripe's test cards. Live mode: Stripe's hosted page in the
    browser (Checkout, setup mode), then pick the result up. No card data in the app."""

    def __init__(self, ctx: AppContext, gateway: PaymentGateway,
                 parent: QWidget | None = None, bank: bool = False) -> None:
        self.live, self.bank = gateway.mode == "live", bank
        super().__init__(_net(ctx), "Add payment method", "addPaymentMethodDialog",
                         "I've finished in the browser" if self.live else
                         "Add bank account" if bank else "Add card", parent)
        self.ctx, self.gateway = ctx, gateway
        self.setup: billing.CardSetup | None = None
        if self.live:
            self._build_hosted()
        else:
            self._build_test_cards()

    def _build_test_cards(self) -> None:
        self.form.addRow(_label("Test mode: choose one of Stripe's test cards. No card "
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
            self.form.addRow(_label("Fundings charged to a bank account are ACH debits: "
                                    "Stripe usually settles them within 4 business days; "
                                    "the milestone stays Funding until then.", role="hint"))

    def _build_hosted(self) -> None:
        self.form.addRow(_label(
            "The card is entered on Stripe's secure page in your browser; OpenTrain Desk "
            "never sees the card number.\n1. Open Stripe's page and save the card.\n"
            "2. Come back here and press “I've finished in the browser”.", role="hint"))
        self.open_button = _button("Open Stripe's secure page…", "openCardSetupButton",
                                   "Opens Stripe Checkout in your web browser")
        self.open_button.clicked.connect(self.open_hosted_page)
        self.form.addRow(_button_row(self.open_button))
        self.url_label = _label(name="cardSetupUrlLabel", role="hint")
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.url_label.hide()
        self.form.addRow(self.url_label)
        self.submit_button.setEnabled(False)

    def open_hosted_page(self) -> None:
        self.open_button.setEnabled(False)
        self.error_label.hide()
        self.runner.run(partial(billing.start_card_setup, self.ctx.uow, self.gateway),
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
        self.hint_label = _label(name="billingHintLabel", role="hint")
        self.error_label = _label(name="billingErrorLabel", role="error")
        self.error_label.hide()
        self.add_button = _button("Add payment method…", "addPaymentMethodButton")
        self.bank_button = _button("Add bank account…", "addBankAccountButton",
                                   "A US bank account for ACH debits (settle in days)")
        self.default_button = _button("Set as default", "setDefaultPaymentMethodButton",
                                      "Fundings are charged to the default card")
        self.remove_button = _button("Remove…", "removePaymentMethodButton")
        self.refresh_button = _button("Refresh", "refreshPaymentMethodsButton",
                                      "Reload the cards from Stripe")
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(_label("Milestones are funded by charging the default card.",
                                role="hint"))
        layout.addWidget(self.table)
        layout.addWidget(self.hint_label)
        layout.addWidget(self.error_label)
        layout.addLayout(_button_row(self.add_button, self.bank_button, self.default_button,
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
        _net(self.ctx).run(self, work, partial(self._finished, on_done),
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
        gateway = _gateway(self.ctx)
        self._generation += 1
        if gateway is None:
            self.model.set_cards([])
            self._show_error("")
            self._set_hint("Connect Stripe first: save an API key in the Stripe section "
                           "above, then add the card that funds your milestones.")
            self._update_buttons()
            return
        generation = self._generation
        self._set_hint("Loading payment methods from Stripe…")
        self._busy += 1
        self._show_error("")
        self._update_buttons()
        _net(self.ctx).run(self, partial(billing.list_cards, self.ctx.uow, gateway),
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
        gateway = _gateway(self.ctx)
        if gateway is not None and gateway.mode == "live":
            self._show_error("In live mode a bank account is added on Stripe's secure page: "
                             "use Add payment method… and choose the bank account there.")
            return
        self.add_payment_method(bank=True)

    def add_payment_method(self, bank: bool = False) -> None:
        gateway = _gateway(self.ctx)
        if gateway is None:
            self._show_error("Connect Stripe first: save an API key in the Stripe section "
                             "above.")
            return
        dialog = AddPaymentMethodDialog(self.ctx, gateway, self.window(), bank=bank)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda _card: self.reload())
        dialog.open()

    def set_default(self) -> None:
        card, gateway = self.selected_card(), _gateway(self.ctx)
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
        gateway = _gateway(self.ctx)
        if gateway is not None:
            self._run(partial(billing.remove_card, self.ctx.uow, gateway, card_id),
                      lambda _result: self.reload())


# -- Company --------------------------------------------------------------------------
def load_company(factory: UnitOfWorkFactory) -> dict[str, str]:
    with factory() as uow:
        return {key: uow.settings.get(key, "") or "" for key in COMPANY_KEYS}


def save_company(factory: UnitOfWorkFactory, values: dict[str, str]) -> bool:
    """Store the changed company fields with one audit entry; False when nothing changed."""
    with factory() as uow:
        before = {key: uow.settings.get(key, "") or "" for key in values}
        changed = {key: value for key, value in values.items() if before[key] != value}
        if not changed:
            return False
        for key, value in changed.items():
            uow.settings.set(key, value)
        uow.audit("company", None, "updated", {k: before[k] for k in changed}, changed)
        uow.commit()
    return True


def _optional(limit: int, what: str, value: str) -> str:
    text = value.strip()
    return clean_required(text, what, limit) if text else ""


class CompanySection(QGroupBox):
    """The agency's details as printed on invoices."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Company — shown on invoices", parent, objectName="companyGroup")
        self.ctx = ctx
        self.name_edit = self._line("companyNameEdit", "Legal name", "e.g. Acme Data Labs Ltd")
        self.email_edit = self._line("companyEmailEdit", "Billing email", "billing@example.com")
        self.address_edit = QPlainTextEdit(objectName="companyAddressEdit",
                                           placeholderText="Street, city, postcode, country")
        self.address_edit.setAccessibleName("Address")
        self.address_edit.setTabChangesFocus(True)
        self.address_edit.setFixedHeight(84)
        self.address_edit.textChanged.connect(
            lambda: _mark_invalid(self.address_edit, False))
        self.tax_edit = self._line("companyTaxIdEdit", "Tax / VAT ID", "e.g. GB123456789")
        self.save_button = _button("Save company details", "saveCompanyButton")
        self.status_label = _label(name="companyStatusLabel", role="hint")
        self.error_label = _label(name="companyErrorLabel", role="error")
        self.error_label.hide()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Legal name:", self.name_edit)
        form.addRow("Email:", self.email_edit)
        form.addRow("Address:", self.address_edit)
        form.addRow("Tax / VAT ID:", self.tax_edit)
        self.logo = LogoField(ctx)
        form.addRow("Logo:", self.logo)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        row = _button_row(self.save_button)
        row.insertWidget(1, self.status_label, 1)
        layout.addLayout(row)
        self.save_button.clicked.connect(self.save)

    def _line(self, name: str, accessible: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(objectName=name, placeholderText=placeholder)
        edit.setAccessibleName(accessible)
        edit.textEdited.connect(lambda _text: self._edited(edit))
        edit.returnPressed.connect(self.save)
        return edit

    def _edited(self, edit: QLineEdit) -> None:
        _mark_invalid(edit, False)
        self.status_label.clear()

    def load(self) -> None:
        self.ctx.runner.run(partial(load_company, self.ctx.uow), self._fill,
                            lambda error: self._show_error(user_message(error)))
        self.logo.load()

    def _fill(self, values: dict[str, str]) -> None:
        self.name_edit.setText(values[billing.COMPANY_NAME])
        self.email_edit.setText(values[billing.COMPANY_EMAIL])
        self.address_edit.setPlainText(values[COMPANY_ADDRESS])
        self.tax_edit.setText(values[COMPANY_TAX_ID])

    def values(self) -> dict[str, str]:
        """The validated fields; raises FieldError naming the offending widget."""
        email = self.email_edit.text().strip()
        checks = ((self.name_edit, billing.COMPANY_NAME, partial(_optional, 200, "legal name")),
                  (self.email_edit, billing.COMPANY_EMAIL, clean_email if email else str.strip),
                  (self.tax_edit, COMPANY_TAX_ID, partial(_optional, 50, "tax / VAT ID")))
        values: dict[str, str] = {}
        for widget, key, check in checks:
            try:
                values[key] = check(widget.text())
            except ValidationError as error:
                raise FieldError(widget, str(error)) from None
        address = self.address_edit.toPlainText().strip()
        if len(address) > 1000:
            raise FieldError(self.address_edit, "The address is too long (1000 characters "
                                                "at most).")
        values[COMPANY_ADDRESS] = address
        return values

    def save(self) -> None:
        try:
            values = self.values()
        except FieldError as error:
            self._show_error(str(error))
            _mark_invalid(error.widget, True)
            error.widget.setFocus()
            return
        self.error_label.hide()
        self.save_button.setEnabled(False)
        self.status_label.setText("Saving…")
        self.ctx.runner.run(partial(save_company, self.ctx.uow, values), self._saved,
                            self._save_failed)

    def _saved(self, changed: bool) -> None:
        self.save_button.setEnabled(True)
        self.status_label.setText("Saved." if changed else "No changes to save.")
        self.load()  # show what is stored (e.g. the email as normalised)

    def _save_failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        self.status_label.clear()
        self._show_error(user_message(error))

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()


# -- Workspace ------------------------------------------------------------------------
class WorkspaceSection(QGroupBox):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Workspace", parent, objectName="workspaceGroup")
        form = QFormLayout(self)
        url = ctx.uow.engine.url.render_as_string(hide_password=True)
        for label, value in (("Workspace", "Demo workspace" if ctx.settings.demo
                              else "Workspace"),
                             ("Database", url), ("Signed in as", ctx.settings.actor),
                             ("Version", __version__)):
            field = _label(value)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{label}:", field)


# -- the page -------------------------------------------------------------------------
class SettingsPage(QWidget):
    """Scrollable column of sections; data is loaded the first time the page is shown."""

    stripeChanged = Signal()  # a key was saved or removed (mode may have changed)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPage")
        self.ctx = ctx
        self._loaded = False
        self.stripe_section = StripeSection(ctx)
        self.billing_section = BillingSection(ctx)
        self.company_section = CompanySection(ctx)
        self.plan_section = PlanSection(ctx)
        self.workspace_section = WorkspaceSection(ctx)
        self.profile_section = ProfileSection(ctx)
        self.appearance_section = AppearanceSection(ctx.extras.get("layout"))
        self.scroll = QScrollArea(objectName="settingsScroll", widgetResizable=True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self._content())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)
        self.stripe_section.changed.connect(self._stripe_changed)

    def _content(self) -> QWidget:
        column = QWidget(objectName="settingsColumn")
        column.setMaximumWidth(PAGE_WIDTH)
        sections = QVBoxLayout(column)
        sections.setContentsMargins(0, 0, 0, 0)
        sections.setSpacing(18)
        title = _label("Settings", role="title")
        sections.addWidget(title)
        for section in (self.stripe_section, self.billing_section, self.company_section,
                        self.plan_section, self.profile_section, self.appearance_section,
                        self.workspace_section):
            sections.addWidget(section)
        sections.addStretch()
        content = QWidget()
        outer = QHBoxLayout(content)
        outer.setContentsMargins(20, 12, 20, 20)
        outer.addWidget(column, 1)
        outer.addStretch(0)
        return content

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._loaded:
            self._loaded = True
            self.refresh()

    def refresh(self) -> None:
        self.stripe_section.refresh()
        self.billing_section.reload()
        self.company_section.load()
        self.plan_section.load()
        self.profile_section.load()

    def _stripe_changed(self) -> None:
        self.stripeChanged.emit()
        if self.ctx.sync is not None:
            self.ctx.sync.connection_changed()
        self.billing_section.reload()  # the other key may be another account / mode

    # -- called from elsewhere (e.g. the "no payment method" prompt) ----------------------
    def show_billing(self) -> None:
        """Scroll to the Billing section and focus its table."""
        self._reveal_billing()
        QTimer.singleShot(0, self._reveal_billing)  # again once the layout has settled

    def _reveal_billing(self) -> None:
        self.scroll.ensureWidgetVisible(self.billing_section, 0, 0)
        self.billing_section.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_plan(self) -> None:
        """Scroll to the Plan section (from the 'plan required' prompt)."""
        if not self._loaded:
            self._loaded = True
            self.refresh()
        QTimer.singleShot(0, lambda: self.scroll.ensureWidgetVisible(self.plan_section, 0, 0))
        self.plan_section.plans.setFocus(Qt.FocusReason.OtherFocusReason)

    def add_payment_method(self) -> None:
        """Open the add-payment-method dialog (or say why it cannot open)."""
        self.show_billing()
        self.billing_section.add_payment_method()
