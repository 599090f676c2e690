"""The agency's billing at Stripe: its Customer and saved payment methods.

These calls need the network; the UI runs them on its network thread. The default
card is cached in the workspace so fundings can be queued while offline.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from ..domain.errors import DomainError
from .ports import CardInfo, GatewayError, PaymentGateway
from .unit_of_work import UnitOfWorkFactory
from .workspace_settings import (COMPANY_EMAIL, COMPANY_NAME, bank_methods_key, customer_key,
                                 default_card_key, workspace_id)
from ..domain.roles import Capability
from .team import require_in

#: Stripe's test payment methods (test mode and the sandbox): no card numbers involved.
TEST_CARDS = {
    "pm_card_visa": "Visa — payments succeed",
    "pm_card_chargeCustomerFail": "Visa — attaches, then payments are declined",
    "pm_card_authenticationRequired": "Visa — 3-D Secure required on every payment",
}


class BillingError(DomainError):
    pass


def _user_error(error: GatewayError) -> BillingError:
    return BillingError(error.message)


def ensure_customer(factory: UnitOfWorkFactory, gateway: PaymentGateway) -> str:
    """The agency's Customer in this key's mode, created on first use."""
    with factory() as uow:
        existing = uow.settings.get(customer_key(gateway.mode))
        name = uow.settings.get(COMPANY_NAME, "OpenTrain agency")
        email = uow.settings.get(COMPANY_EMAIL, "")
        wid = workspace_id(uow)
        uow.commit()
    if existing:
        return existing
    try:
        customer = gateway.create_customer(name, email, {"workspace_id": wid})
    except GatewayError as error:
        raise _user_error(error) from None
    with factory() as uow:
        uow.settings.set(customer_key(gateway.mode), customer)
        uow.audit("billing", None, "stripe customer created",
                  after={"customer": customer, "mode": gateway.mode})
        uow.commit()
    return customer


def list_cards(factory: UnitOfWorkFactory, gateway: PaymentGateway) -> list[CardInfo]:
    """The saved payment methods; none (and no Stripe call) before the first one is added,
    so looking at Settings never creates a Customer on the agency's Stripe account."""
    with factory() as uow:
        customer = uow.settings.get(customer_key(gateway.mode))
        uow.commit()
    if not customer:
        return []
    try:
        cards = gateway.list_cards(customer)
    except GatewayError as error:
        raise _user_error(error) from None
    _cache_default(factory, gateway.mode, next((c.id for c in cards if c.is_default), None))
    return cards


def add_test_card(factory: UnitOfWorkFactory, gateway: PaymentGateway,
                  test_payment_method: str) -> CardInfo:
    """Attach one of Stripe's test payment methods (test mode only)."""
    require_in(factory, Capability.BILLING)
    if gateway.mode != "test":
        raise BillingError("Test cards can only be added with a test-mode key.")
    if test_payment_method not in TEST_CARDS:
        raise BillingError("Unknown test card.")
    customer = ensure_customer(factory, gateway)
    try:
        card = gateway.attach_card(customer, test_payment_method)
        if not any(c.is_default for c in gateway.list_cards(customer)):
            gateway.set_default_card(customer, card.id)
            _cache_default(factory, gateway.mode, card.id)
    except GatewayError as error:
        raise _user_error(error) from None
    if card.bank:  # Stripe's page also offers US bank accounts (ACH debits)
        _remember_bank(factory, gateway.mode, card.id)
    _audit(factory, "payment method added", card)
    return card


#: Stripe's test bank accounts (routing 110000000): what their debits do.
TEST_BANK_ACCOUNTS = {
    "000123456789": "US bank account — debits settle after a few business days",
    "000111111113": "US bank account — debits fail later (account closed)",
}
TEST_ROUTING = "110000000"


def add_test_bank_account(factory: UnitOfWorkFactory, gateway: PaymentGateway,
                          account_number: str) -> CardInfo:
    """Attach one of Stripe's test bank accounts (test mode only): fundings charged to it
    are ACH debits that settle (or fail) days later."""
    require_in(factory, Capability.BILLING)
    if gateway.mode != "test":
        raise BillingError("Test bank accounts can only be added with a test-mode key; in "
                           "live mode add the account on Stripe's secure page.")
    if account_number not in TEST_BANK_ACCOUNTS:
        raise BillingError("Unknown test bank account.")
    customer = ensure_customer(factory, gateway)
    with factory() as uow:
        holder = uow.settings.get(COMPANY_NAME) or "OpenTrain Desk agency"
    try:
        account = gateway.attach_bank_account(customer, TEST_ROUTING, account_number, holder)
    except GatewayError as error:
        raise _user_error(error) from None
    _remember_bank(factory, gateway.mode, account.id)
    _audit(factory, "payment method added", account)
    return account


def _remember_bank(factory: UnitOfWorkFactory, mode: str, method_id: str) -> None:
    """Fundings charged to this payment method are bank debits (ACH)."""
    with factory() as uow:
        known = uow.settings.get(bank_methods_key(mode)) or ""
        uow.settings.set(bank_methods_key(mode),
                         ",".join(filter(None, [*known.split(","), method_id])))
        uow.commit()


def set_default(factory: UnitOfWorkFactory, gateway: PaymentGateway, card_id: str) -> None:
    require_in(factory, Capability.BILLING)
    customer = ensure_customer(factory, gateway)
    try:
        gateway.set_default_card(customer, card_id)
    except GatewayError as error:
        raise _user_error(error) from None
    _cache_default(factory, gateway.mode, card_id)


def remove_card(factory: UnitOfWorkFactory, gateway: PaymentGateway, card_id: str) -> None:
    require_in(factory, Capability.BILLING)
    try:
        gateway.detach_card(card_id)
    except GatewayError as error:
        raise _user_error(error) from None
    with factory() as uow:
        if uow.settings.get(default_card_key(gateway.mode)) == card_id:
            uow.settings.delete(default_card_key(gateway.mode))
        uow.audit("billing", None, "payment method removed", before={"card": card_id})
        uow.commit()


def has_payment_method(factory: UnitOfWorkFactory, mode: str) -> bool:
    with factory() as uow:
        return bool(uow.settings.get(customer_key(mode))
                    and uow.settings.get(default_card_key(mode)))


def _cache_default(factory: UnitOfWorkFactory, mode: str, card_id: str | None) -> None:
    with factory() as uow:
        if card_id:
            uow.settings.set(default_card_key(mode), card_id)
        else:
            uow.settings.delete(default_card_key(mode))
        uow.commit()


def _audit(factory: UnitOfWorkFactory, action: str, card: CardInfo) -> None:
    with factory() as uow:
        uow.audit("billing", None, action, after={"card": card.id, "brand": card.brand,
                                                 "last4": card.last4})
        uow.commit()


# -- live mode: cards saved on Stripe's hosted page (the app never sees card data) ----
#: Where the browser lands after Stripe's hosted form. The app picks the result up with
#: ``finish_card_setup`` (the user presses “I've finished”), so these pages only need to
#: exist for the browser's sake. The reserved ``.invalid`` domain never resolves, so no
#: third party ever sees the redirect; replace with the product's own page once it exists.
CARD_SETUP_SUCCESS_URL = "https://opentrain-desk.invalid/card-setup/done"
CARD_SETUP_CANCEL_URL = "https://opentrain-desk.invalid/card-setup/cancelled"


class CardSetupGateway(PaymentGateway, Protocol):
    def create_setup_session(self, customer_id: str, success_url: str,
                             cancel_url: str) -> tuple[str, str]: ...

    def finish_setup_session(self, session_id: str) -> str | None: ...


@dataclass(frozen=True)
class CardSetup:
    """A started Checkout Session (setup mode): open ``url`` in the browser."""

    session_id: str
    url: str


def start_card_setup(factory: UnitOfWorkFactory, gateway: CardSetupGateway,
                     success_url: str = CARD_SETUP_SUCCESS_URL,
                     cancel_url: str = CARD_SETUP_CANCEL_URL) -> CardSetup:
    """Create Stripe's hosted “save a card” page for the agency's Customer."""
    require_in(factory, Capability.BILLING)
    customer = ensure_customer(factory, gateway)
    try:
        session_id, url = gateway.create_setup_session(customer, success_url, cancel_url)
    except GatewayError as error:
        raise _user_error(error) from None
    return CardSetup(session_id, url)


def finish_card_setup(factory: UnitOfWorkFactory, gateway: CardSetupGateway,
                      session_id: str) -> CardInfo:
    """Pick up the card saved on the hosted page; the first card becomes the default."""
    require_in(factory, Capability.BILLING)
    customer = ensure_customer(factory, gateway)
    try:
        method = gateway.finish_setup_session(session_id)
        if not method:
            raise BillingError("Stripe has not saved a card yet. Complete the form in your "
                               "browser, then press “I've finished in the browser” again.")
        cards = gateway.list_cards(customer)
        card = next((c for c in cards if c.id == method), None)
        if card is None:  # Checkout normally attaches it to the session's customer
            card = gateway.attach_card(customer, method)
        if not any(c.is_default for c in cards):
            gateway.set_default_card(customer, card.id)
            _cache_default(factory, gateway.mode, card.id)
            card = replace(card, is_default=True)
    except GatewayError as error:
        raise _user_error(error) from None
    if card.bank:  # Stripe's page also offers US bank accounts (ACH debits)
        _remember_bank(factory, gateway.mode, card.id)
    _audit(factory, "payment method added", card)
    return card
