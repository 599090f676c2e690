"""Stripe SDK objects turned into the plain results the services' ports declare."""
from __future__ import annotations

from ..services.ports import (CardInfo, PaymentResult, RefundResult, StripePayment,
                              SubscriptionInfo, TransferResult)


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
