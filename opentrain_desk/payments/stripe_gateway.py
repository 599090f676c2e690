"""The Stripe adapter: the official SDK's StripeClient, errors mapped to ErrorKind.

Secret keys are held only in memory here; they never appear in messages, logs or
exceptions this module raises (Stripe's own messages never echo full keys, and we
replace any key-looking text before passing a message on).
"""
from __future__ import annotations


import stripe

from ..domain.subscriptions import Plan
from ..services.ports import (AccountInfo, CardInfo, DisputeInfo, EventPage, KeyInfo,
                              PaymentResult, RefundResult, StripeEvent, StripeInvoiceInfo,
                              StripePayment, SubscriptionInfo, TransferResult)
from .keys import KEY_PATTERN, key_mode, mask_key, redact  # noqa: F401 (re-exported)
from .stripe_errors import to_gateway_error, translated  # noqa: F401 (re-exported)
from .stripe_objects import (_bank, _card, _metadata, _payment, _refund, _stripe_payment,
                             _subscription, _transfer)

STRIPE_API_VERSION = "2024-06-20"
PLAN_MARKER = "opentrain_plan"
DEFAULT_TIMEOUT = 20


class StripeGateway:
    """Implements the PaymentGateway port against Stripe or the sandbox emulator."""

    def __init__(self, api_key: str, base_url: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, mode: str | None = None) -> None:
        self.mode = mode or key_mode(api_key)
        addresses = {"api": base_url} if base_url else None
        self._client = stripe.StripeClient(
            api_key, base_addresses=addresses, stripe_version=STRIPE_API_VERSION,
            max_network_retries=0, http_client=stripe.RequestsClient(timeout=timeout))
        self.v1 = self._client.v1

    # -- key and customer -------------------------------------------------------------
    def verify_key(self) -> KeyInfo:
        with translated():
            self.v1.customers.list({"limit": 1})
        return KeyInfo(self.mode, f"Stripe ({self.mode} mode)")

    def create_customer(self, name: str, email: str, metadata: dict) -> str:
        with translated():
            return self.v1.customers.create({"name": name, "email": email,
                                             "metadata": metadata}).id

    # -- cards -----------------------------------------------------------------------
    def list_cards(self, customer_id: str) -> list[CardInfo]:
        with translated():
            customer = self.v1.customers.retrieve(customer_id)
            methods = self.v1.payment_methods.list({"customer": customer_id, "type": "card"})
            banks = self.v1.payment_methods.list({"customer": customer_id,
                                                  "type": "us_bank_account"})
        settings = customer["invoice_settings"] if "invoice_settings" in customer else None
        default = settings["default_payment_method"] if settings else None
        return ([_card(pm, pm.id == default) for pm in methods.data]
                + [_bank(pm, pm.id == default) for pm in banks.data])

    def attach_bank_account(self, customer_id: str, routing_number: str, account_number: str,
                            holder_name: str) -> CardInfo:
        """A US bank account for ACH debits (test mode: Stripe's test account numbers)."""
        with translated():
            pm = self.v1.payment_methods.create({
                "type": "us_bank_account", "billing_details": {"name": holder_name},
                "us_bank_account": {"routing_number": routing_number,
                                    "account_number": account_number,
                                    "account_holder_type": "company"}})
            pm = self.v1.payment_methods.attach(pm.id, {"customer": customer_id})
        return _bank(pm, False)

    def attach_card(self, customer_id: str, payment_method: str) -> CardInfo:
        with translated():
            pm = self.v1.payment_methods.attach(payment_method, {"customer": customer_id})
        return _card(pm, False)

    def set_default_card(self, customer_id: str, payment_method_id: str) -> None:
        with translated():
            self.v1.customers.update(customer_id, {"invoice_settings": {
                "default_payment_method": payment_method_id}})

    def detach_card(self, payment_method_id: str) -> None:
        with translated():
            self.v1.payment_methods.detach(payment_method_id)

    # -- payments --------------------------------------------------------------------
    def charge(self, *, amount_cents: int, customer_id: str, payment_method_id: str,
               metadata: dict, idempotency_key: str,
               bank_debit: bool = False) -> PaymentResult:
        params = {"amount": amount_cents, "currency": "usd", "customer": customer_id,
                  "payment_method": payment_method_id, "off_session": True, "confirm": True,
                  "metadata": metadata}
        if bank_debit:  # an ACH debit: Stripe answers "processing", settles days later
            params["payment_method_types"] = ["us_bank_account"]
        with translated():
            intent = self.v1.payment_intents.create(
                params, {"idempotency_key": idempotency_key})
        return _payment(intent)

    def find_payment(self, customer_id: str, operation_id: str,
                     created_after: int) -> PaymentResult | None:
        """Reconcile: a PaymentIntent of ours carries the operation id in its metadata."""
        with translated():
            page = self.v1.payment_intents.list({"customer": customer_id, "limit": 100,
                                                 "created": {"gte": created_after}})
            for intent in page.auto_paging_iter():
                metadata = intent["metadata"].to_dict() if intent["metadata"] else {}
                if metadata.get("operation_id") == operation_id:
                    return _payment(intent)
        return None

    def retrieve_payment(self, payment_intent_id: str) -> PaymentResult:
        with translated():
            return _payment(self.v1.payment_intents.retrieve(payment_intent_id))

    # -- hosted card setup: Stripe Checkout in setup mode (no card data in the app) -------
    def create_setup_session(self, customer_id: str, success_url: str,
                             cancel_url: str) -> tuple[str, str]:
        """A Checkout Session that saves a card for ``customer_id``: (session id, URL)."""
        with translated():
            session = self.v1.checkout.sessions.create({
                "mode": "setup", "customer": customer_id,
                "payment_method_types": ["card", "us_bank_account"],
                "success_url": success_url, "cancel_url": cancel_url})
        return session.id, session["url"]

    def finish_setup_session(self, session_id: str) -> str | None:
        """The saved payment method's id, or None while the customer has not finished."""
        with translated():
            session = self.v1.checkout.sessions.retrieve(
                session_id, {"expand": ["setup_intent"]})
        intent = session["setup_intent"] if "setup_intent" in session else None
        if session["status"] != "complete" or not intent or intent["status"] != "succeeded":
            return None
        method = intent["payment_method"]
        return method if isinstance(method, str) else method["id"]


    # -- Connect: trainers' payout accounts and transfers ---------------------------------
    def create_account(self, email: str, metadata: dict) -> str:
        with translated():
            return self.v1.accounts.create({
                "type": "express", "email": email, "metadata": metadata,
                "capabilities": {"transfers": {"requested": True}}}).id

    def retrieve_account(self, account_id: str) -> AccountInfo:
        with translated():
            account = self.v1.accounts.retrieve(account_id)
        requirements = account["requirements"] or {}
        return AccountInfo(account.id, bool(account["payouts_enabled"]),
                           tuple(requirements["currently_due"] or ()),
                           tuple(requirements["past_due"] or ()),
                           requirements["disabled_reason"] or "")

    def onboarding_link(self, account_id: str, refresh_url: str, return_url: str) -> str:
        with translated():
            return self.v1.account_links.create({
                "account": account_id, "refresh_url": refresh_url, "return_url": return_url,
                "type": "account_onboarding"}).url

    def transfer(self, *, amount_cents: int, destination: str, source_transaction: str,
                 transfer_group: str, metadata: dict, idempotency_key: str) -> TransferResult:
        params = {"amount": amount_cents, "currency": "usd", "destination": destination,
                  "transfer_group": transfer_group, "metadata": metadata}
        if source_transaction:
            params["source_transaction"] = source_transaction
        with translated():
            return _transfer(self.v1.transfers.create(
                params, {"idempotency_key": idempotency_key}))

    def find_transfer(self, transfer_group: str,
                      operation_id: str | None) -> TransferResult | None:
        """Reconcile: our transfers carry the operation id in their metadata
        (``operation_id=None``: any transfer of the group)."""
        with translated():
            page = self.v1.transfers.list({"transfer_group": transfer_group, "limit": 100})
            for transfer in page.auto_paging_iter():
                if operation_id is None or _metadata(transfer).get(
                        "operation_id") == operation_id:
                    return _transfer(transfer)
        return None


    # -- reconciliation ("Check against Stripe") and refunds -------------------------------
    def list_payments(self, customer_id: str) -> list[StripePayment]:
        """Every PaymentIntent of the agency's customer (list endpoint, not search: search
        lags writes)."""
        with translated():
            page = self.v1.payment_intents.list({"customer": customer_id, "limit": 100,
                                                 "expand": ["data.latest_charge"]})
            return [_stripe_payment(intent) for intent in page.auto_paging_iter()]

    def list_transfers(self) -> list[TransferResult]:
        with translated():
            page = self.v1.transfers.list({"limit": 100})
            return [_transfer(transfer) for transfer in page.auto_paging_iter()]

    def refund(self, *, payment_intent_id: str, amount_cents: int, metadata: dict,
               idempotency_key: str) -> RefundResult:
        with translated():
            return _refund(self.v1.refunds.create(
                {"payment_intent": payment_intent_id, "amount": amount_cents,
                 "metadata": metadata}, {"idempotency_key": idempotency_key}))

    def find_refund(self, payment_intent_id: str, operation_id: str) -> RefundResult | None:
        """Reconcile: our refunds carry the operation id in their metadata."""
        with translated():
            page = self.v1.refunds.list({"payment_intent": payment_intent_id, "limit": 100})
            for refund in page.auto_paging_iter():
                if _metadata(refund).get("operation_id") == operation_id:
                    return _refund(refund)
        return None

    # -- events (no webhooks for a desktop app: read the list) and disputes ---------------
    def list_events(self, *, ending_before: str | None = None,
                    starting_after: str | None = None) -> EventPage:
        """One page (100) of events, newest first. ``ending_before``: the events just
        newer than that one (paging forward from a cursor); ``starting_after``: older."""
        params: dict = {"limit": 100}
        if ending_before:
            params["ending_before"] = ending_before
        if starting_after:
            params["starting_after"] = starting_after
        with translated():
            page = self.v1.events.list(params)
        return EventPage([StripeEvent(e.id, e["type"], int(e["created"] or 0),
                                      e["data"]["object"].to_dict()) for e in page.data],
                         bool(page["has_more"]))

    def list_refunds(self, payment_intent_id: str) -> list[RefundResult]:
        with translated():
            page = self.v1.refunds.list({"payment_intent": payment_intent_id, "limit": 100})
            return [_refund(refund) for refund in page.auto_paging_iter()]

    def list_disputes(self) -> list[DisputeInfo]:
        with translated():
            page = self.v1.disputes.list({"limit": 100})
            return [DisputeInfo.from_stripe(d.to_dict()) for d in page.auto_paging_iter()]

    def update_dispute(self, dispute_id: str, evidence: dict, submit: bool) -> DisputeInfo:
        with translated():
            return DisputeInfo.from_stripe(self.v1.disputes.update(
                dispute_id, {"evidence": evidence, "submit": submit}).to_dict())

    # -- agency plans (Billing: products with recurring plans) --------------------------------
    def list_plans(self) -> list[Plan]:
        """Plans of products marked ``metadata.opentrain_plan = "1"`` (the app's plans)."""
        with translated():
            products = [p for p in self.v1.products.list({"limit": 100}).auto_paging_iter()
                        if p["metadata"] and p["metadata"].to_dict().get(PLAN_MARKER) == "1"]
            found = []
            for product in products:
                for plan in self.v1.plans.list({"product": product.id, "limit": 100}).data:
                    found.append(Plan(plan.id, product["name"], int(plan["amount"]),
                                      plan["interval"]))
        return sorted(found, key=lambda plan: (plan.amount_cents, plan.name))

    def create_plan(self, name: str, amount_cents: int, interval: str) -> Plan:
        with translated():
            product = self.v1.products.create({"name": name, "type": "service",
                                               "metadata": {PLAN_MARKER: "1"}})
            plan = self.v1.plans.create({"product": product.id, "amount": amount_cents,
                                         "currency": "usd", "interval": interval})
        return Plan(plan.id, name, amount_cents, interval)

    def create_subscription(self, customer_id: str, plan_id: str, metadata: dict,
                            idempotency_key: str) -> SubscriptionInfo:
        with translated():
            return _subscription(self.v1.subscriptions.create(
                {"customer": customer_id, "items": [{"plan": plan_id}], "metadata": metadata},
                {"idempotency_key": idempotency_key}))

    def update_subscription(self, subscription_id: str, idempotency_key: str, *,
                            plan_id: str | None = None,
                            cancel_at_period_end: bool | None = None) -> SubscriptionInfo:
        params: dict = {}
        with translated():
            if plan_id is not None:
                current = self.v1.subscriptions.retrieve(subscription_id)
                item = current["items"]["data"][0]["id"]
                params["items"] = [{"id": item, "plan": plan_id}]
            if cancel_at_period_end is not None:
                params["cancel_at_period_end"] = cancel_at_period_end
            return _subscription(self.v1.subscriptions.update(
                subscription_id, params, {"idempotency_key": idempotency_key}))

    def retrieve_subscription(self, subscription_id: str) -> SubscriptionInfo:
        with translated():
            return _subscription(self.v1.subscriptions.retrieve(subscription_id))

    def find_subscription(self, customer_id: str, operation_id: str) -> SubscriptionInfo | None:
        with translated():
            page = self.v1.subscriptions.list({"customer": customer_id, "status": "all",
                                               "limit": 100})
            for sub in page.auto_paging_iter():
                if sub["metadata"] and sub["metadata"].to_dict().get(
                        "operation_id") == operation_id:
                    return _subscription(sub)
        return None

    def subscription_invoices(self, subscription_id: str) -> list[StripeInvoiceInfo]:
        with translated():
            page = self.v1.invoices.list({"subscription": subscription_id, "limit": 100})
            return [StripeInvoiceInfo(inv.id, inv["status"], int(inv["amount_due"] or 0),
                                      int(inv["created"] or inv["date"] or 0),
                                      inv["period_start"], inv["period_end"])
                    for inv in page.data]
