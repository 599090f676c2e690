"""The Stripe adapter: the official SDK's StripeClient, errors mapped to ErrorKind.

Secret keys are held only in memory here; they never appear in messages, logs or
exceptions this module raises (Stripe's own messages never echo full keys, and we
replace any key-looking text before passing a message on).
"""
from __future__ import annotations

import logging

import stripe

from ..domain.operations import ErrorKind
from ..domain.subscriptions import Plan
from ..services.ports import (AccountInfo, CardInfo, DisputeInfo, EventPage, GatewayError, KeyInfo,
                              PaymentResult, RefundResult, StripeEvent, StripeInvoiceInfo,
                              StripePayment, SubscriptionInfo, TransferResult)
from .keys import KEY_PATTERN, key_mode, mask_key, redact  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)
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


def _metadata(obj) -> dict:
    return obj["metadata"].to_dict() if "metadata" in obj and obj["metadata"] else {}


def _stripe_payment(intent) -> StripePayment:
    charge = intent["latest_charge"] if "latest_charge" in intent else None
    charge_id = charge if isinstance(charge, str) else (charge["id"] if charge else "")
    refunded = 0
    if charge and not isinstance(charge, str) and "amount_refunded" in charge:
        refunded = int(charge["amount_refunded"] or 0)
    invoice = intent["invoice"] if "invoice" in intent else None
    invoice_id = invoice if isinstance(invoice, str) else (invoice["id"] if invoice else "")
    return StripePayment(intent.id, intent["status"], int(intent["amount"]), refunded,
                         int(intent["created"] or 0), charge_id or "", invoice_id or "",
                         _metadata(intent))


def _refund(refund) -> RefundResult:
    intent = refund["payment_intent"] if "payment_intent" in refund else ""
    intent_id = intent if isinstance(intent, str) else (intent["id"] if intent else "")
    return RefundResult(refund.id, refund["status"] or "succeeded", int(refund["amount"]),
                        intent_id or "", _metadata(refund))


def _transfer(transfer) -> TransferResult:
    metadata = transfer["metadata"].to_dict() if transfer["metadata"] else {}
    reversed_ = transfer["amount_reversed"] if "amount_reversed" in transfer else 0
    return TransferResult(transfer.id, int(transfer["amount"]), transfer["destination"],
                          metadata, int(reversed_ or 0))


def _subscription(sub) -> SubscriptionInfo:
    items = sub["items"]["data"] if sub["items"] else []
    plan = items[0]["plan"]["id"] if items else (sub["plan"]["id"] if sub["plan"] else "")
    metadata = sub["metadata"].to_dict() if sub["metadata"] else {}
    return SubscriptionInfo(sub.id, sub["status"], plan, sub["current_period_start"],
                            sub["current_period_end"], bool(sub["cancel_at_period_end"]),
                            metadata)


def _bank(pm, is_default: bool) -> CardInfo:
    account = pm["us_bank_account"]
    return CardInfo(pm.id, account["bank_name"] or "Bank account", account["last4"], 0, 0,
                    is_default, bank=True)


def _card(pm, is_default: bool) -> CardInfo:
    card = pm["card"]
    return CardInfo(pm.id, card["brand"], card["last4"], int(card["exp_month"]),
                    int(card["exp_year"]), is_default)


def _payment(intent) -> PaymentResult:
    charge = intent["latest_charge"] if "latest_charge" in intent else None
    charge_id = charge if isinstance(charge, str) else (charge["id"] if charge else "")
    error = intent["last_payment_error"] if "last_payment_error" in intent else None
    message = (error["message"] if error and "message" in error else "") or ""
    metadata = intent["metadata"].to_dict() if intent["metadata"] else {}
    return PaymentResult(intent.id, intent["status"], charge_id or "",
                         intent["client_secret"] or "", message, metadata,
                         int(intent["amount"] or 0))


class translated:
    """Context manager: stripe-python exceptions -> GatewayError with an ErrorKind."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, _tb) -> bool:
        if exc is None or not isinstance(exc, stripe.StripeError):
            return False
        raise to_gateway_error(exc) from None


def to_gateway_error(exc: stripe.StripeError) -> GatewayError:
    body = exc.json_body or {}
    error = body.get("error", {}) if isinstance(body, dict) else {}
    code = exc.code or error.get("code")
    message = redact(error.get("message") or exc.user_message or str(exc) or
                     type(exc).__name__)
    object_id = (error.get("payment_intent") or {}).get("id", "") if isinstance(
        error.get("payment_intent"), dict) else ""
    kind = _kind(exc, code)
    log.warning("stripe call failed: %s (%s, http %s)", kind.value, code, exc.http_status)
    return GatewayError(kind, _friendly(kind, message), code, object_id)


def _kind(exc: stripe.StripeError, code: str | None) -> ErrorKind:
    if isinstance(exc, stripe.APIConnectionError):
        return _connection_kind(exc)
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        return ErrorKind.KEY_REJECTED
    if isinstance(exc, stripe.RateLimitError) or exc.http_status == 429:
        return ErrorKind.RATE_LIMITED
    if code == "lock_timeout" or (exc.http_status or 0) >= 500 or exc.http_status == 409:
        return ErrorKind.SERVER
    if code == "authentication_required":
        return ErrorKind.AUTH_REQUIRED
    if code in ("insufficient_capabilities_for_transfer", "transfers_not_allowed",
                "account_invalid"):
        return ErrorKind.NOT_READY
    if code == "balance_insufficient":
        return ErrorKind.BALANCE
    if isinstance(exc, stripe.CardError) or exc.http_status == 402:
        return ErrorKind.DECLINED
    return ErrorKind.INVALID


def _connection_kind(exc: stripe.APIConnectionError) -> ErrorKind:
    """NETWORK only when the request certainly never left (no connection could be made);
    a timeout or a connection dropped after sending may have reached Stripe."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
    cause = exc.__cause__
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return ErrorKind.NETWORK
    if isinstance(cause, requests.exceptions.Timeout):
        return ErrorKind.TIMEOUT
    if isinstance(cause, requests.exceptions.ConnectionError):
        reason = getattr(cause.args[0], "reason", None) if cause.args else None
        if isinstance(reason, (NewConnectionError, NameResolutionError, ConnectTimeoutError)):
            return ErrorKind.NETWORK
    return ErrorKind.CONNECTION_LOST


def _friendly(kind: ErrorKind, message: str) -> str:
    if kind is ErrorKind.NETWORK:
        return "Stripe could not be reached (offline?). The operation stays queued."
    if kind is ErrorKind.TIMEOUT:
        return "Stripe did not answer in time. The operation will be checked and retried."
    if kind is ErrorKind.CONNECTION_LOST:
        return ("The connection to Stripe broke before it answered. Stripe may have acted "
                "on the request: it is checked with Stripe before anything else happens.")
    if kind is ErrorKind.KEY_REJECTED:
        return ("Stripe rejected the API key (invalid, revoked, or missing a permission). "
                "Update it in Settings → Stripe.")
    return message
