"""Refunds for the sandbox emulator, with Stripe's limits: ``POST /v1/refunds``
refuses more than what is left of the charge (and disputed charges), and
``GET /v1/refunds?charge=...|payment_intent=...`` lists newest first.

Refunds that fail later: :mod:`.refund_failures`.

Part of :mod:`opentrain_desk.sandbox.emulator`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from localstripe.resources import (
    Charge,
    Event,
    PaymentIntent,
    Refund,
    StripeObject,
    schedule_webhook,
    store,
)

from . import disputes
from .base import (
    _created_predicate,
    _merge_metadata,
    _missing,
    _money,
    _optional_str,
    _positive_int,
    _reject_unknown,
    stripe_error,
)
from .routing import Handler, _body, _json, _list_route, _pop_expand

_REFUND_PARAMS = frozenset({"charge", "payment_intent", "amount", "metadata", "reason", "expand"})
_REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


def _refund_target(data: Mapping[str, Any]) -> Charge:
    """The charge a refund is for, given as ``charge`` or ``payment_intent``."""
    charge_id = _optional_str(data, "charge")
    intent_id = _optional_str(data, "payment_intent")
    if charge_id is None and intent_id is None:
        raise stripe_error(400, "parameter_missing",
                           "One of the following params should be provided for this request: "
                           "payment_intent or charge.", param="payment_intent")
    if charge_id is not None and intent_id is not None:
        raise stripe_error(400, "parameter_invalid",
                           "You can only specify one of payment_intent or charge.", param="charge")
    if intent_id is not None:
        intent = store.get(f"{PaymentIntent.object}:{intent_id}")
        if intent is None:
            raise _missing("payment_intent", intent_id, param="payment_intent")
        charge = intent.latest_charge
        if charge is None or intent.status != "succeeded":
            raise stripe_error(400, "charge_not_refundable",
                               f"This PaymentIntent ({intent_id}) does not have a successful "
                               "charge to refund.", param="payment_intent")
        return charge
    charge = store.get(f"{Charge.object}:{charge_id}")
    if charge is None:
        raise _missing("charge", str(charge_id), param="charge")
    return charge


def _refund_amount(data: Mapping[str, Any], charge: Charge) -> int:
    """``amount`` (default: what is left), within what is left of the charge."""
    if charge.status != "succeeded" or not charge.captured:
        raise stripe_error(400, "charge_not_refundable",
                           f"Charge {charge.id} has not succeeded and cannot be refunded.",
                           param="charge")
    if disputes.charge_is_disputed(charge):
        raise stripe_error(400, "charge_disputed",
                           f"Charge {charge.id} has been charged back; cannot issue a refund.",
                           param="charge")
    left = int(charge.amount) - int(charge.amount_refunded)
    if left <= 0:
        raise stripe_error(400, "charge_already_refunded",
                           f"Charge {charge.id} has already been refunded.")
    if data.get("amount") in (None, ""):
        return left
    amount = _positive_int(data["amount"], "amount")
    if amount > left:
        raise stripe_error(400, "amount_too_large",
                           f"Refund amount ({_money(amount, charge.currency)}) is greater than "
                           f"unrefunded amount on charge ({_money(left, charge.currency)})",
                           param="amount")
    return amount


def _create_refund_object(data: Mapping[str, Any]) -> Refund:
    """``POST /v1/refunds`` (localstripe's has no limit and drops the intent
    of charge refunds). Must run in a request handler (emits events)."""
    _reject_unknown(data, _REFUND_PARAMS)
    charge = _refund_target(data)
    amount = _refund_amount(data, charge)
    reason = _optional_str(data, "reason")
    if reason is not None and reason not in _REFUND_REASONS:
        raise stripe_error(400, "parameter_invalid", f"Invalid reason: {reason}", param="reason")
    refund = Refund(charge=charge.id, amount=amount,
                    metadata=_merge_metadata({}, data.get("metadata")))
    refund.payment_intent = charge.payment_intent
    refund.reason = reason
    schedule_webhook(Event("refund.created", refund))
    schedule_webhook(Event("charge.refunded", charge))
    return refund


def _refund_list_predicate(query: Mapping[str, Any]) -> Callable[[StripeObject], bool]:
    _reject_unknown(query, frozenset({"charge", "payment_intent", "created"}))
    charge, intent = query.get("charge"), query.get("payment_intent")
    created = _created_predicate(query.get("created"))
    return lambda r: ((charge is None or r.charge == charge)
                      and (intent is None or r.payment_intent == intent) and created(r))


async def _create_refund(request: web.Request) -> web.Response:
    data = await _body(request)
    expand = _pop_expand(data)
    return _json(_create_refund_object(data)._export(expand=expand))


def routes() -> list[tuple[str, str, Handler]]:
    return [
        ("POST", "/v1/refunds", _create_refund),
        ("GET", "/v1/refunds", _list_route(Refund, "/v1/refunds", _refund_list_predicate)),
    ]
