"""Payment intents and charges for the sandbox emulator: Stripe's list
semantics (newest first, cursors) for ``GET /v1/payment_intents?customer=...``
(localstripe rejects that filter) and ``GET /v1/charges?customer=...|payment_intent=...``.

Customers, payment methods, setup intents and the rest of payment intents and
charges are localstripe's, adjusted in :mod:`.base`, :mod:`.events` and
:mod:`.bank_debits`.

Part of :mod:`opentrain_desk.sandbox.emulator`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from localstripe.resources import Charge, PaymentIntent, StripeObject

from .base import _created_predicate, _reject_unknown
from .routing import Handler, _list_route


def _payment_intent_list_predicate(query: Mapping[str, Any]) -> Callable[[StripeObject], bool]:
    _reject_unknown(query, frozenset({"customer", "created"}))
    customer = query.get("customer")
    created = _created_predicate(query.get("created"))
    return lambda pi: (customer is None or pi.customer == customer) and created(pi)


def _charge_list_predicate(query: Mapping[str, Any]) -> Callable[[StripeObject], bool]:
    _reject_unknown(query, frozenset({"customer", "payment_intent", "created"}))
    customer, intent = query.get("customer"), query.get("payment_intent")
    created = _created_predicate(query.get("created"))
    return lambda c: ((customer is None or c.customer == customer)
                      and (intent is None or c.payment_intent == intent) and created(c))


def routes() -> list[tuple[str, str, Handler]]:
    return [
        ("GET", "/v1/payment_intents",
         _list_route(PaymentIntent, "/v1/payment_intents", _payment_intent_list_predicate)),
        ("GET", "/v1/charges", _list_route(Charge, "/v1/charges", _charge_list_predicate)),
    ]
