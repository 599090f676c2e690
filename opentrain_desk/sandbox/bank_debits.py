"""US bank account debits (ACH Direct Debit) for the sandbox emulator.

* ``POST /v1/payment_methods`` also takes ``type=us_bank_account`` with
  ``us_bank_account[routing_number|account_number|account_holder_type|account_type]``
  and ``billing_details[name]``; Stripe's test ids ``pm_usBankAccount`` and
  ``pm_usBankAccount_failsLater`` work too. ``GET /v1/payment_methods`` lists
  by ``customer`` and ``type`` (any type), newest first.
* Stripe's test numbers (routing ``110000000``): account ``000123456789``
  settles, ``000111111113`` fails later with ``account_closed``,
  ``000111111116`` with ``no_account``; any other account settles.
* Confirming a PaymentIntent with such a method (off-session or with
  ``mandate_data``: both accepted, neither required) leaves it ``processing``
  with a ``pending`` charge and emits ``charge.pending`` and
  ``payment_intent.processing``. It stays so until the sandbox settles it:
  ``POST /_sandbox/payment_intents/{id}/settle`` (``outcome=succeeded|failed``,
  default from the account number) or ``POST /_sandbox/payment_intents/settle_all``
  (every processing debit, default outcomes: "a few business days passed").
* Settled: charge ``succeeded``, PaymentIntent ``succeeded``, events
  ``charge.succeeded`` + ``payment_intent.succeeded``. Failed: charge
  ``failed`` (``failure_code``), PaymentIntent ``requires_payment_method`` with
  ``last_payment_error``, events ``charge.failed`` + ``payment_intent.payment_failed``.

Part of :mod:`opentrain_desk.sandbox.emulator` (routes registered by
:mod:`.application`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from localstripe.errors import UserError
from localstripe.resources import (
    BalanceTransaction,
    Charge,
    PaymentIntent,
    PaymentMethod,
    StripeObject,
    fingerprint,
    random_id,
    store,
)

from .base import (
    _merge_metadata,
    _missing,
    _optional_str,
    _reject_unknown,
    stripe_error,
)
from .events import emit
from .lists import _stored
from .routing import Handler, _body, _json, _list_route, _pop_expand
from .wire import SANDBOX_PREFIX

TEST_ROUTING_NUMBER = "110000000"
SUCCEEDS = "000123456789"
#: account number -> (failure code, message) of a debit that fails later
FAILS_LATER = {
    "000111111113": ("account_closed", "The customer's bank account has been closed."),
    "000111111116": ("no_account", "The customer's bank account could not be located."),
}
TEST_IDS = {"pm_usBankAccount": SUCCEEDS, "pm_usBankAccount_failsLater": "000111111113"}
ACCOUNT_TYPES = frozenset({"checking", "savings"})
HOLDER_TYPES = frozenset({"individual", "company"})
_PM_PARAMS = frozenset({"type", "us_bank_account", "billing_details", "metadata", "expand"})
_BANK_PARAMS = frozenset({"routing_number", "account_number", "account_holder_type",
                          "account_type", "financial_connections_account"})


def _new_bank_account(numbers: Mapping[str, Any], billing_details: Mapping[str, Any],
                      metadata: dict[str, str]) -> PaymentMethod:
    """A ``us_bank_account`` PaymentMethod (localstripe knows only card and SEPA)."""
    routing = str(numbers.get("routing_number") or "")
    account = str(numbers.get("account_number") or "")
    if not (len(routing) == 9 and routing.isdigit()):
        raise stripe_error(400, "bank_account_bad_routing_numbers",
                           "Routing number must have 9 digits.",
                           param="us_bank_account[routing_number]")
    if not (4 <= len(account) <= 17 and account.isdigit()):
        raise stripe_error(400, "account_number_invalid",
                           "The account number must have 4 to 17 digits.",
                           param="us_bank_account[account_number]")
    holder = str(numbers.get("account_holder_type") or "individual")
    kind = str(numbers.get("account_type") or "checking")
    if holder not in HOLDER_TYPES:
        raise stripe_error(400, "parameter_invalid", f"Invalid account_holder_type: {holder}",
                           param="us_bank_account[account_holder_type]")
    if kind not in ACCOUNT_TYPES:
        raise stripe_error(400, "parameter_invalid", f"Invalid account_type: {kind}",
                           param="us_bank_account[account_type]")
    pm = PaymentMethod.__new__(PaymentMethod)
    StripeObject.__init__(pm)
    pm.type = "us_bank_account"
    pm.billing_details = {"address": None, "email": None, "name": None, "phone": None,
                          **billing_details}
    pm._bank_account_number = account
    pm.us_bank_account = {
        "account_holder_type": holder,
        "account_type": kind,
        "bank_name": "STRIPE TEST BANK",
        "financial_connections_account": None,
        "fingerprint": fingerprint(routing + account),
        "last4": account[-4:],
        "networks": {"preferred": "ach", "supported": ["ach"]},
        "routing_number": routing,
        "status_details": {},
    }
    pm.customer = None
    pm.metadata = metadata
    return pm


def _create_payment_method(data: dict[str, Any]) -> PaymentMethod:
    if data.get("type") != "us_bank_account":
        return PaymentMethod._api_create(**data)
    _reject_unknown(data, _PM_PARAMS)
    numbers = data.get("us_bank_account")
    if not isinstance(numbers, Mapping):
        raise stripe_error(400, "parameter_missing", "Missing required param: "
                           "us_bank_account.", param="us_bank_account")
    _reject_unknown(numbers, _BANK_PARAMS)
    if numbers.get("financial_connections_account"):
        raise stripe_error(400, "parameter_invalid", "The sandbox has no Financial "
                           "Connections: give routing and account numbers.",
                           param="us_bank_account[financial_connections_account]")
    billing = data.get("billing_details") or {}
    if not isinstance(billing, Mapping) or not billing.get("name"):
        raise stripe_error(400, "parameter_missing", "Missing required param: "
                           "billing_details[name].", param="billing_details[name]")
    return _new_bank_account(numbers, billing, _merge_metadata({}, data.get("metadata")))


def _patch_test_ids() -> None:
    """``pm_usBankAccount`` and ``pm_usBankAccount_failsLater``."""
    original = PaymentMethod._try_get_canonical_test_article.__func__

    def lookup(cls: type[PaymentMethod], id: str) -> PaymentMethod | None:  # noqa: A002
        if id in TEST_IDS:
            return _new_bank_account({"routing_number": TEST_ROUTING_NUMBER,
                                      "account_number": TEST_IDS[id]},
                                     {"name": "Jenny Rosen"}, {})
        return original(cls, id)

    PaymentMethod._try_get_canonical_test_article = classmethod(lookup)


def _patch_payment_intents() -> None:
    """Accept ``mandate_data``/``mandate``/``payment_method_types`` (shown as
    Stripe does), emit ``payment_intent.created`` and keep a bank debit
    ``processing``."""
    original_init = PaymentIntent.__init__
    original_create_charge = PaymentIntent._create_charge

    def __init__(self: PaymentIntent, *args: Any, mandate_data: Any = None,
                 mandate: Any = None, payment_method_types: Any = None, **kwargs: Any) -> None:
        if payment_method_types is not None and not isinstance(payment_method_types, list):
            payment_method_types = [payment_method_types]
        original_init(self, *args, payment_method_types=payment_method_types, **kwargs)
        if not payment_method_types:
            method = kwargs.get("payment_method")
            pm = store.get(f"payment_method:{method}") if method else None
            bank = pm is not None and pm.type == "us_bank_account" or method in TEST_IDS
            payment_method_types = ["us_bank_account" if bank else "card"]
        self.payment_method_types = [str(t) for t in payment_method_types]
        emit("payment_intent.created", self)  # here: after the fields above are set

    def _create_charge(self: PaymentIntent, on_failure_now: Callable[[], None]) -> None:
        pm = PaymentMethod._api_retrieve(self.payment_method)
        if pm.type != "us_bank_account":
            return original_create_charge(self, on_failure_now)
        if self.status != "requires_confirmation":
            raise UserError(400, "Bad request")
        charge = Charge(amount=self.amount, currency=self.currency, customer=self.customer,
                        source=pm.id, capture=True)
        charge.payment_intent = self.id
        charge.status = "pending"
        charge._bank_account_number = pm._bank_account_number
        details = {k: pm.us_bank_account[k] for k in ("account_holder_type", "account_type",
                                                      "bank_name", "fingerprint", "last4",
                                                      "routing_number")}
        charge.payment_method_details = {
            "type": "us_bank_account",
            "us_bank_account": {**details, "mandate": "mandate_" + random_id(24),
                                "payment_reference": None},
        }
        self.latest_charge = charge
        emit("charge.pending", charge)
        emit("payment_intent.processing", self)
        return None

    original_confirm = PaymentIntent._api_confirm.__func__

    def _api_confirm(cls: type[PaymentIntent], id: str,  # noqa: A002
                     **kwargs: Any) -> PaymentIntent:
        """localstripe refuses every confirm parameter; Stripe's off-session
        bank debit sends these."""
        for name in ("mandate_data", "mandate", "off_session", "payment_method_types"):
            kwargs.pop(name, None)
        return original_confirm(cls, id, **kwargs)

    PaymentIntent._api_confirm = classmethod(_api_confirm)  # type: ignore[method-assign]
    PaymentIntent.__init__ = __init__  # type: ignore[method-assign]
    PaymentIntent._create_charge = _create_charge  # type: ignore[method-assign]


if not getattr(PaymentIntent, "_sandbox_bank_debits", False):
    _patch_test_ids()
    _patch_payment_intents()
    PaymentIntent._sandbox_bank_debits = True


# --------------------------------------------------------------------------
# Settlement (sandbox only)
# --------------------------------------------------------------------------


def _is_processing_debit(intent: PaymentIntent) -> bool:
    charge = intent.latest_charge
    return (intent.status == "processing" and charge is not None
            and hasattr(charge, "_bank_account_number"))


def default_outcome(intent: PaymentIntent) -> str:
    return "failed" if intent.latest_charge._bank_account_number in FAILS_LATER else "succeeded"


def settle(intent: PaymentIntent, outcome: str | None = None) -> PaymentIntent:
    """End a processing bank debit. Must run on the server loop (emits events)."""
    if not _is_processing_debit(intent):
        raise stripe_error(400, "payment_intent_unexpected_state",
                           f"PaymentIntent {intent.id} is not a processing bank debit "
                           f"(status {intent.status}).")
    outcome = outcome or default_outcome(intent)
    if outcome not in ("succeeded", "failed"):
        raise stripe_error(400, "parameter_invalid", "outcome must be succeeded or failed",
                           param="outcome")
    charge = intent.latest_charge
    if outcome == "succeeded":
        txn = BalanceTransaction(amount=charge.amount, currency=charge.currency,
                                 description=charge.description, exchange_rate=1.0,
                                 reporting_category="charge", source=charge.id, type="charge")
        charge.balance_transaction = txn.id
        charge.status = "succeeded"
        emit("charge.succeeded", charge)
        intent._on_success()  # payment_intent.succeeded (+ its invoice, if any)
    else:
        code, message = FAILS_LATER.get(charge._bank_account_number, FAILS_LATER["000111111113"])
        charge.status = "failed"
        charge.failure_code = code
        charge.failure_message = message
        emit("charge.failed", charge)
        intent._report_async_failure()  # payment_intent.payment_failed (+ invoice)
    return intent


async def _settle(request: web.Request) -> web.Response:
    data = await _body(request)
    _reject_unknown(data, frozenset({"outcome"}))
    intent = store.get(f"{PaymentIntent.object}:{request.match_info['id']}")
    if intent is None:
        raise _missing("payment_intent", request.match_info["id"])
    return _json(settle(intent, _optional_str(data, "outcome"))._export())


async def _settle_all(request: web.Request) -> web.Response:
    _reject_unknown(await _body(request), frozenset())
    settled = [settle(pi) for pi in _stored(PaymentIntent) if _is_processing_debit(pi)]
    return _json({"object": "list", "data": [pi._export() for pi in settled]})


# --------------------------------------------------------------------------
# Payment method routes
# --------------------------------------------------------------------------


async def _create_pm(request: web.Request) -> web.Response:
    data = await _body(request)
    expand = _pop_expand(data)
    return _json(_create_payment_method(data)._export(expand=expand))


def _pm_list_predicate(query: Mapping[str, Any]) -> Callable[[StripeObject], bool]:
    _reject_unknown(query, frozenset({"customer", "type"}))
    customer, kind = query.get("customer"), query.get("type")
    if customer is not None and store.get(f"customer:{customer}") is None:
        raise _missing("customer", str(customer), param="customer")
    return lambda pm: ((customer is None or pm.customer == customer)
                       and (kind is None or pm.type == kind))


async def _confirm(request: web.Request) -> web.Response:
    """``POST /v1/payment_intents/{id}/confirm`` through the patched
    ``_api_confirm`` (localstripe's route holds the original function)."""
    data = await _body(request)
    expand = _pop_expand(data)
    intent = PaymentIntent._api_confirm(request.match_info["id"], **data)
    return _json(intent._export(expand=expand))


def routes() -> list[tuple[str, str, Handler]]:
    return [
        ("POST", "/v1/payment_intents/{id}/confirm", _confirm),
        ("POST", "/v1/payment_methods", _create_pm),
        ("GET", "/v1/payment_methods",
         _list_route(PaymentMethod, "/v1/payment_methods", _pm_list_predicate)),
        ("POST", SANDBOX_PREFIX + "payment_intents/settle_all", _settle_all),
        ("POST", SANDBOX_PREFIX + "payment_intents/{id}/settle", _settle),
    ]
