"""Disputes (chargebacks) for the sandbox emulator, shaped like Stripe's.

* ``GET /v1/disputes`` (filters ``charge``, ``payment_intent``, ``created``),
  ``GET /v1/disputes/{id}``, ``POST /v1/disputes/{id}`` (``evidence[...]``,
  ``metadata``, ``submit``) and ``POST /v1/disputes/{id}/close``.
* Sandbox only (what the cardholder's bank and Stripe do):
  ``POST /_sandbox/disputes`` opens one, ``POST /_sandbox/disputes/{id}/resolve``
  decides it (``outcome=won|lost``).

Money: the disputed amount leaves the platform balance when the dispute opens
(``charge.dispute.funds_withdrawn``) and comes back when it is won
(``charge.dispute.funds_reinstated``). Stripe's dispute fee is not modelled.

Emulator choices where Stripe's exact answer is not documented: evidence is
refused (400, ``invalid_request_error`` without a code, ``param=evidence``)
after ``evidence_details.due_by`` and on disputes no longer needing a
response; ``evidence_details.past_due`` is true while a response is due and
``due_by`` has passed; an update with only ``metadata`` never submits.

Part of :mod:`opentrain_desk.sandbox.emulator` (routes registered by
:mod:`.application`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from aiohttp import web
from localstripe.resources import Charge, PaymentIntent, StripeObject, random_id, store

from .base import (
    _as_int,
    _created_predicate,
    _merge_metadata,
    _missing,
    _optional_str,
    _positive_int,
    _reject_unknown,
    stripe_error,
)
from .events import emit
from .lists import _stored
from .routing import Handler, _body, _json, _pop_expand, _resource_routes
from .wire import SANDBOX_PREFIX

DEFAULT_DUE_IN_SECONDS = 7 * 24 * 3600

#: Stripe's evidence fields (file fields take a file id, as a string).
EVIDENCE_FIELDS = (
    "access_activity_log", "billing_address", "cancellation_policy",
    "cancellation_policy_disclosure", "cancellation_rebuttal", "customer_communication",
    "customer_email_address", "customer_name", "customer_purchase_ip", "customer_signature",
    "duplicate_charge_documentation", "duplicate_charge_explanation", "duplicate_charge_id",
    "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
    "refund_refusal_explanation", "service_date", "service_documentation", "shipping_address",
    "shipping_carrier", "shipping_date", "shipping_documentation", "shipping_tracking_number",
    "uncategorized_file", "uncategorized_text",
)
REASONS = frozenset({
    "bank_cannot_process", "check_returned", "credit_not_processed", "customer_initiated",
    "debit_not_authorized", "duplicate", "fraudulent", "general", "incorrect_account_details",
    "insufficient_funds", "noncompliant", "product_not_received", "product_unacceptable",
    "subscription_canceled", "unrecognized",
})
OPEN = frozenset({"needs_response", "warning_needs_response"})
CLOSED = frozenset({"won", "lost", "warning_closed", "prevented"})


class Dispute(StripeObject):  # type: ignore[misc]
    object = "dispute"
    _id_prefix = "dp_"
    _update_params = frozenset({"evidence", "metadata", "submit", "expand"})

    def __init__(self, *, charge: Charge, amount: int, reason: str, due_by: int) -> None:
        super().__init__()
        self.amount = amount
        self.balance_transactions: list[dict[str, Any]] = []
        self.charge = charge.id
        self.currency = charge.currency
        self.enhanced_eligibility_types: list[str] = []
        self.evidence: dict[str, Any] = {name: None for name in EVIDENCE_FIELDS}
        self.evidence["enhanced_evidence"] = {}
        self._evidence_details = {"due_by": due_by, "has_evidence": False,
                                  "submission_count": 0, "submission_method": "not_submitted",
                                  "enhanced_eligibility": {}}
        self.intended_submission_method = None
        self.is_charge_refundable = False
        self.metadata: dict[str, str] = {}
        self.network_reason_code = "10.4" if reason == "fraudulent" else "13.1"
        self.payment_intent = charge.payment_intent
        card = getattr(charge, "payment_method_details", None) is None  # bank debits set it
        self.payment_method_details = {
            "type": "card",
            "card": {"brand": "visa", "case_type": "chargeback",
                     "network_reason_code": self.network_reason_code},
        } if card else None
        self.reason = reason
        self.status = "needs_response"

    @property
    def evidence_details(self) -> dict[str, Any]:
        details = dict(self._evidence_details)
        details["past_due"] = self.status in OPEN and time.time() > details["due_by"]
        return details

    def _balance_transaction(self, amount: int, category: str, description: str) -> None:
        self.balance_transactions = [*self.balance_transactions, {
            "id": "txn_" + random_id(24), "object": "balance_transaction", "amount": amount,
            "currency": self.currency, "created": int(time.time()), "description": description,
            "fee": 0, "fee_details": [], "net": amount, "reporting_category": category,
            "source": self.id, "status": "available", "type": "adjustment",
        }]

    @property
    def _withdrawn(self) -> int:
        """What this dispute currently holds back from the balance."""
        return -sum(int(txn["amount"]) for txn in self.balance_transactions)

    # -- API --------------------------------------------------------------

    @classmethod
    def _api_retrieve(cls, id: str) -> Dispute:  # noqa: A002
        dispute = store.get(f"{cls.object}:{id}")
        if dispute is None:
            raise _missing("dispute", id)
        return dispute

    @classmethod
    def _api_update(cls, id: str, **data: Any) -> Dispute:  # noqa: A002
        _reject_unknown(data, cls._update_params)
        dispute = cls._api_retrieve(id)
        evidence = _evidence_param(data.get("evidence"))
        submit = _bool(data.get("submit"), "submit")
        wants_response = bool(evidence) or submit is not None
        if wants_response:
            dispute._check_can_respond()
        metadata = _merge_metadata(dispute.metadata, data.get("metadata"))
        # every check passed: apply
        dispute.metadata = metadata
        if evidence:
            dispute.evidence.update(evidence)
            dispute._evidence_details["has_evidence"] = True
        if wants_response and submit is not False:  # Stripe's default is submit=true
            dispute._evidence_details["submission_count"] += 1
            dispute._evidence_details["submission_method"] = "manual"
            dispute._evidence_details["has_evidence"] = True
            dispute.status = "warning_under_review" if dispute.status.startswith("warning") \
                else "under_review"
        emit("charge.dispute.updated", dispute)
        return dispute

    def _check_can_respond(self) -> None:
        if self.status in CLOSED:
            raise stripe_error(400, None, f"This dispute is already closed ({self.status}); "
                               "it cannot be updated.", param="evidence")
        if self.status not in OPEN:
            raise stripe_error(400, None, "Evidence has already been submitted for this "
                               f"dispute ({self.status}); it cannot be changed.",
                               param="evidence")
        due_by = int(self._evidence_details["due_by"])
        if time.time() > due_by:
            when = datetime.fromtimestamp(due_by, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            raise stripe_error(400, None, f"The deadline for responding to this dispute "
                               f"passed on {when}; evidence can no longer be submitted.",
                               param="evidence")

    @classmethod
    def _api_close(cls, id: str) -> Dispute:  # noqa: A002
        """Accept the dispute: the money stays with the cardholder."""
        dispute = cls._api_retrieve(id)
        if dispute.status not in OPEN:
            raise stripe_error(400, None, f"This dispute cannot be closed: its status is "
                               f"{dispute.status}.")
        dispute.status = "warning_closed" if dispute.status.startswith("warning") else "lost"
        emit("charge.dispute.closed", dispute)
        return dispute

    # -- sandbox ----------------------------------------------------------

    @classmethod
    def _sandbox_open(cls, data: Mapping[str, Any]) -> Dispute:
        _reject_unknown(data, frozenset({"charge", "payment_intent", "amount", "reason",
                                         "due_in"}))
        charge = _disputed_charge(data)
        if getattr(charge, "_sandbox_disputed", False):
            raise stripe_error(400, "charge_disputed",
                               f"Charge {charge.id} already has a dispute.", param="charge")
        left = int(charge.amount) - int(charge.amount_refunded)
        amount = left if data.get("amount") in (None, "") else _positive_int(
            data["amount"], "amount")
        if amount > left or left <= 0:
            raise stripe_error(400, "amount_too_large", f"A dispute can be at most the "
                               f"unrefunded amount of the charge ({left}).", param="amount")
        reason = str(data.get("reason") or "fraudulent")
        if reason not in REASONS:
            raise stripe_error(400, "parameter_invalid", f"Invalid reason: {reason}",
                               param="reason")
        due_in = DEFAULT_DUE_IN_SECONDS if data.get("due_in") in (None, "") else _as_int(
            data["due_in"], "due_in")
        dispute = cls(charge=charge, amount=amount, reason=reason,
                      due_by=int(time.time()) + due_in)
        charge._sandbox_disputed = True
        dispute._balance_transaction(-amount, "dispute", "Chargeback withdrawal for " + charge.id)
        emit("charge.dispute.created", dispute)
        emit("charge.dispute.funds_withdrawn", dispute)
        return dispute

    def _sandbox_resolve(self, outcome: str) -> Dispute:
        if outcome not in ("won", "lost"):
            raise stripe_error(400, "parameter_invalid", "outcome must be won or lost",
                               param="outcome")
        if self.status in CLOSED:
            raise stripe_error(400, None, f"This dispute is already closed ({self.status}).")
        self.status = outcome
        emit("charge.dispute.closed", self)
        if outcome == "won" and self._withdrawn:
            self._balance_transaction(self._withdrawn, "dispute_reversal",
                                      "Chargeback reversal for " + self.charge)
            emit("charge.dispute.funds_reinstated", self)
        return self


def _disputed_charge(data: Mapping[str, Any]) -> Charge:
    charge_id = _optional_str(data, "charge")
    intent_id = _optional_str(data, "payment_intent")
    if (charge_id is None) == (intent_id is None):
        raise stripe_error(400, "parameter_missing",
                           "Give exactly one of charge or payment_intent.", param="charge")
    if intent_id is not None:
        intent = store.get(f"{PaymentIntent.object}:{intent_id}")
        if intent is None:
            raise _missing("payment_intent", intent_id, param="payment_intent")
        charge = intent.latest_charge
        if charge is None:
            raise stripe_error(400, "charge_not_refundable",
                               f"PaymentIntent {intent_id} has no charge to dispute.",
                               param="payment_intent")
    else:
        charge = store.get(f"{Charge.object}:{charge_id}")
        if charge is None:
            raise _missing("charge", str(charge_id), param="charge")
    if charge.status != "succeeded" or not charge.captured:
        raise stripe_error(400, "charge_not_refundable",
                           f"Charge {charge.id} has not succeeded: it cannot be disputed.",
                           param="charge")
    return charge


def _evidence_param(value: Any) -> dict[str, str | None]:
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise stripe_error(400, "parameter_invalid", "Invalid evidence: must be an object",
                           param="evidence")
    evidence: dict[str, str | None] = {}
    for key, text in value.items():
        if key not in EVIDENCE_FIELDS:
            raise stripe_error(400, "parameter_unknown",
                               f"Received unknown parameter: evidence[{key}]",
                               param=f"evidence[{key}]")
        if text is not None and not isinstance(text, str):
            raise stripe_error(400, "parameter_invalid_string",
                               f"Invalid string: evidence[{key}]", param=f"evidence[{key}]")
        evidence[str(key)] = text or None
    return evidence


def _bool(value: Any, name: str) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text not in ("true", "false"):
        raise stripe_error(400, "parameter_invalid", f"Invalid boolean: {value}", param=name)
    return text == "true"


def disputed_amount(currency: str) -> int:
    """What open or lost disputes hold back from the platform balance."""
    return sum(d._withdrawn for d in _stored(Dispute) if d.currency == currency)


def charge_is_disputed(charge: Charge) -> bool:
    return bool(getattr(charge, "_sandbox_disputed", False))


def _patch_charge() -> None:
    """``charge.disputed`` as Stripe shows it."""
    Charge.disputed = property(charge_is_disputed)  # type: ignore[attr-defined]


_patch_charge()


# --------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------


def _list_predicate(query: Mapping[str, Any]) -> Callable[[StripeObject], bool]:
    _reject_unknown(query, frozenset({"charge", "payment_intent", "created"}))
    charge, intent = query.get("charge"), query.get("payment_intent")
    created = _created_predicate(query.get("created"))
    return lambda d: ((charge is None or d.charge == charge)
                      and (intent is None or d.payment_intent == intent) and created(d))


async def _close(request: web.Request) -> web.Response:
    data = await _body(request)
    expand = _pop_expand(data)
    _reject_unknown(data, frozenset())
    return _json(Dispute._api_close(request.match_info["id"])._export(expand=expand))


async def _sandbox_open(request: web.Request) -> web.Response:
    return _json(Dispute._sandbox_open(await _body(request))._export())


async def _sandbox_resolve(request: web.Request) -> web.Response:
    data = await _body(request)
    _reject_unknown(data, frozenset({"outcome"}))
    dispute = Dispute._api_retrieve(request.match_info["id"])
    return _json(dispute._sandbox_resolve(str(data.get("outcome") or "won"))._export())


def routes() -> list[tuple[str, str, Handler]]:
    crud = [route for route in _resource_routes(Dispute, "/v1/disputes", _list_predicate)
            if route[:2] != ("POST", "/v1/disputes")]  # Stripe opens disputes, not the API
    return [
        *crud,
        ("POST", "/v1/disputes/{id}/close", _close),
        ("POST", SANDBOX_PREFIX + "disputes", _sandbox_open),
        ("POST", SANDBOX_PREFIX + "disputes/{id}/resolve", _sandbox_resolve),
    ]
