"""Live-mode card setup (Stripe Checkout, setup mode): services with a fake gateway, and
the StripeGateway's request shape with a fake SDK client (the emulator has no Checkout)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import SimpleNamespace

import pytest

from opentrain_desk.domain.operations import ErrorKind
from opentrain_desk.payments.stripe_gateway import StripeGateway
from opentrain_desk.services import billing
from opentrain_desk.services.ports import CardInfo, GatewayError
from opentrain_desk.services.workspace_settings import customer_key, default_card_key


@dataclass
class FakeGateway:
    """Just enough of the PaymentGateway port plus the two Checkout calls."""

    mode: str = "live"
    cards: list[CardInfo] = field(default_factory=list)
    sessions: dict[str, str | None] = field(default_factory=dict)  # id -> saved pm or None
    created: list[tuple] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)
    defaults: list[str] = field(default_factory=list)
    fail_with: GatewayError | None = None

    def create_customer(self, name, email, metadata):
        return "cus_1"

    def list_cards(self, customer_id):
        return list(self.cards)

    def attach_card(self, customer_id, payment_method):
        self.attached.append(payment_method)
        card = CardInfo(payment_method, "visa", "4242", 12, 2030)
        self.cards.append(card)
        return card

    def set_default_card(self, customer_id, payment_method_id):
        self.defaults.append(payment_method_id)
        self.cards = [replace(c, is_default=c.id == payment_method_id) for c in self.cards]

    def create_setup_session(self, customer_id, success_url, cancel_url):
        if self.fail_with:
            raise self.fail_with
        self.created.append((customer_id, success_url, cancel_url))
        session_id = f"cs_{len(self.created)}"
        self.sessions[session_id] = None
        return session_id, f"https://checkout.stripe.com/c/pay/{session_id}"

    def finish_setup_session(self, session_id):
        if self.fail_with:
            raise self.fail_with
        return self.sessions[session_id]


def settings_value(factory, key):
    with factory() as uow:
        return uow.settings.get(key)


def test_start_creates_a_hosted_session_for_the_agency_customer(factory):
    gateway = FakeGateway()
    setup = billing.start_card_setup(factory, gateway)
    assert setup == billing.CardSetup("cs_1", "https://checkout.stripe.com/c/pay/cs_1")
    assert gateway.created == [("cus_1", billing.CARD_SETUP_SUCCESS_URL,
                                billing.CARD_SETUP_CANCEL_URL)]
    assert settings_value(factory, customer_key("live")) == "cus_1"


def test_finish_before_the_browser_is_done_stores_nothing(factory):
    gateway = FakeGateway()
    setup = billing.start_card_setup(factory, gateway)
    with pytest.raises(billing.BillingError, match="has not saved a card yet"):
        billing.finish_card_setup(factory, gateway, setup.session_id)
    assert gateway.attached == [] and gateway.defaults == []
    assert settings_value(factory, default_card_key("live")) is None


def test_first_card_becomes_the_cached_default(factory):
    gateway = FakeGateway()
    setup = billing.start_card_setup(factory, gateway)
    gateway.sessions[setup.session_id] = "pm_new"
    gateway.cards.append(CardInfo("pm_new", "visa", "4242", 12, 2030))  # Checkout attached it
    card = billing.finish_card_setup(factory, gateway, setup.session_id)
    assert card.id == "pm_new" and card.is_default
    assert gateway.attached == []  # already on the customer: not attached twice
    assert gateway.defaults == ["pm_new"]
    assert settings_value(factory, default_card_key("live")) == "pm_new"
    assert billing.has_payment_method(factory, "live")
    with factory() as uow:
        audit = uow.audit_log.for_entity("billing", None)
    assert [e.action for e in audit if "pm_new" in (e.after or "")] == ["payment method added"]


def test_a_further_card_is_attached_and_leaves_the_default(factory):
    gateway = FakeGateway(cards=[CardInfo("pm_old", "visa", "1111", 1, 2031, True)])
    billing.ensure_customer(factory, gateway)
    with factory() as uow:
        uow.settings.set(default_card_key("live"), "pm_old")
        uow.commit()
    setup = billing.start_card_setup(factory, gateway)
    gateway.sessions[setup.session_id] = "pm_second"
    card = billing.finish_card_setup(factory, gateway, setup.session_id)
    assert card.id == "pm_second" and not card.is_default
    assert gateway.attached == ["pm_second"]  # not on the customer yet: attached
    assert gateway.defaults == []
    assert settings_value(factory, default_card_key("live")) == "pm_old"


def test_stripe_errors_become_user_messages(factory):
    gateway = FakeGateway()
    billing.ensure_customer(factory, gateway)
    gateway.fail_with = GatewayError(ErrorKind.INVALID, "No such checkout session: 'cs_x'")
    with pytest.raises(billing.BillingError, match="No such checkout session"):
        billing.start_card_setup(factory, gateway)
    with pytest.raises(billing.BillingError, match="No such checkout session"):
        billing.finish_card_setup(factory, gateway, "cs_x")


# -- the adapter's requests (stripe-python's client replaced by a recorder) -------------
class FakeSessions:
    def __init__(self, retrieved: dict) -> None:
        self.calls: list[tuple] = []
        self.retrieved = retrieved

    def create(self, params):
        self.calls.append(("create", params))
        return _Obj(id="cs_123", url="https://checkout.stripe.com/c/pay/cs_123")

    def retrieve(self, session_id, params):
        self.calls.append(("retrieve", session_id, params))
        return _Obj(id=session_id, **self.retrieved)


class _Obj(dict):
    """Like a StripeObject: item access plus ``.id``."""

    @property
    def id(self):
        return self["id"]


def gateway_with(retrieved: dict | None = None) -> tuple[StripeGateway, FakeSessions]:
    gateway = StripeGateway("sk_live_" + "x" * 24)
    sessions = FakeSessions(retrieved or {})
    gateway.v1 = SimpleNamespace(checkout=SimpleNamespace(sessions=sessions))
    return gateway, sessions


def test_gateway_creates_a_setup_mode_card_session():
    gateway, sessions = gateway_with()
    assert gateway.create_setup_session("cus_1", "https://ok", "https://cancel") == (
        "cs_123", "https://checkout.stripe.com/c/pay/cs_123")
    assert sessions.calls == [("create", {
        "mode": "setup", "customer": "cus_1", "payment_method_types": ["card", "us_bank_account"],
        "success_url": "https://ok", "cancel_url": "https://cancel"})]


@pytest.mark.parametrize("session, expected", [
    ({"status": "complete", "setup_intent": {"status": "succeeded",
                                             "payment_method": "pm_1"}}, "pm_1"),
    ({"status": "complete", "setup_intent": {"status": "succeeded",
                                             "payment_method": {"id": "pm_2"}}}, "pm_2"),
    ({"status": "open", "setup_intent": {"status": "requires_payment_method",
                                         "payment_method": None}}, None),
    ({"status": "expired", "setup_intent": None}, None),
])
def test_gateway_reads_the_saved_method_from_the_expanded_intent(session, expected):
    gateway, sessions = gateway_with(session)
    assert gateway.finish_setup_session("cs_9") == expected
    assert sessions.calls == [("retrieve", "cs_9", {"expand": ["setup_intent"]})]


def test_a_bank_account_saved_on_stripes_page_is_charged_by_bank_debit(factory):
    gateway = FakeGateway()
    setup = billing.start_card_setup(factory, gateway)
    gateway.sessions[setup.session_id] = "pm_bank"
    gateway.cards.append(CardInfo("pm_bank", "STRIPE TEST BANK", "6789", 0, 0, bank=True))
    saved = billing.finish_card_setup(factory, gateway, setup.session_id)
    assert saved.bank and saved.label == "STRIPE TEST BANK •••• 6789 (bank debit)"
    assert settings_value(factory, "stripe.live.bank_payment_methods") == "pm_bank"
