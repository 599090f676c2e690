"""Embedded Stripe emulator for ``--sandbox`` mode and integration tests.

Built on localstripe (GPL-3.0: a sandbox/test dependency only, never bundled in
the frozen build). localstripe covers customers, payment methods, payment
intents, charges, refunds, ...; this module runs it *in-process* on 127.0.0.1
in a daemon thread with its own asyncio loop and adds what the app needs and
localstripe lacks, shaped like Stripe's real API:

* Connect: ``/v1/accounts`` (Express accounts, not ready until onboarded),
  ``/v1/account_links`` and the sandbox-only onboarding routes.
* ``/v1/transfers`` with Stripe's balance rules (see :class:`Transfer`).
* ``GET /v1/payment_intents?customer=...`` (localstripe rejects that filter),
  newest-first with Stripe list semantics.
* ``GET /v1/balance`` computed from charges and transfers.
* Refunds with Stripe's limits (no refund beyond what is left of the charge)
  and ``GET /v1/refunds|charges?payment_intent=...`` lists, newest first.
* Stripe's ``Idempotency-Key`` semantics and fault injection before or after
  execution (``/_sandbox/faults``), as aiohttp middleware: see
  :mod:`opentrain_desk.sandbox.faults`.
* Extension modules, imported at the end of this one: :mod:`.events` (the
  event list, newest first, that the app reads instead of webhooks),
  :mod:`.disputes`, :mod:`.transfer_reversals`, :mod:`.bank_debits` (US bank
  account debits that stay ``processing`` until the sandbox settles them) and
  :mod:`.refund_failures`.
* Optional persistence (``state_path``): the state is written to disk after
  each write request, *before* the answer is sent, so a killed emulator
  restarts with every object it ever acknowledged.

Process-wide changes made on import (localstripe keeps module-global state):

* localstripe's pickling to the shared file ``/tmp/localstripe.pickle`` (and
  reloading it) is disabled.
* ``PaymentIntent.latest_charge`` is exported as a charge *id* like real Stripe
  (localstripe inlines the whole charge); ``expand=["latest_charge"]`` still
  returns the object.

Because localstripe's store is process-global, only one :class:`SandboxStripe`
may run at a time in a process (the idempotency records are process-global too).
"""

from __future__ import annotations

import asyncio
import html
import os
import pickle
import operator
import socket
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, TypeVar

from aiohttp import web
from localstripe import webhooks as ls_webhooks
from localstripe.errors import UserError
from localstripe.resources import (
    Charge,
    Event,
    PaymentIntent,
    PaymentMethod,
    Refund,
    StripeObject,
    Subscription,
    Store,
    random_id,
    schedule_webhook,
    store,
)

with warnings.catch_warnings():
    # localstripe registers plain (non-async) handlers on its module-level app.
    warnings.filterwarnings("ignore", "Bare functions are deprecated", DeprecationWarning)
    from localstripe import server as ls_server

from .faults import (  # noqa: F401 - re-exported: the emulator's public API
    AFTER,
    API_KEY_STATE,
    BEFORE,
    CONFIG_PREFIX,
    MAX_FAULT_DELAY_SECONDS,
    SANDBOX_PREFIX,
    Fault,
    FaultInjector,
    IdempotencyStore,
    api_middleware,
)

__all__ = ["Account", "Fault", "FaultInjector", "IdempotencyStore", "SandboxStripe", "Transfer"]

HOST = "127.0.0.1"
DEFAULT_LIST_LIMIT = 10
MAX_LIST_LIMIT = 100
ACCOUNT_LINK_TTL_SECONDS = 300

Handler = Callable[[web.Request], Any]
_T = TypeVar("_T")


# --------------------------------------------------------------------------
# Process-wide localstripe adjustments
# --------------------------------------------------------------------------


def _skip_disk(_store: Store) -> None:
    """Replacement for Store.dump_to_disk / try_load_from_disk: do nothing."""


def _disable_disk_persistence() -> None:
    """Stop localstripe from writing or reading /tmp/localstripe.pickle.

    ``Store.__setitem__``/``__delitem__`` and localstripe's own middleware call
    ``dump_to_disk`` on every write; patching the class covers all of them.
    """
    Store.dump_to_disk = _skip_disk  # type: ignore[method-assign]
    Store.try_load_from_disk = _skip_disk  # type: ignore[method-assign]


def _add_test_payment_methods() -> None:
    """Stripe's ``pm_card_authenticationRequired`` (3-D Secure on every payment),
    which localstripe does not know, backed by its always-authenticate test card."""
    original = PaymentMethod._try_get_canonical_test_article.__func__

    def lookup(cls: type[PaymentMethod], id: str) -> PaymentMethod | None:  # noqa: A002
        if id == "pm_card_authenticationRequired":
            return PaymentMethod(type="card", card=dict(
                number="4000002760003184", exp_month="12", exp_year="2030", cvc="123"))
        return original(cls, id)

    PaymentMethod._try_get_canonical_test_article = classmethod(lookup)


def _is_expanded(field: str, expand: list[str] | None) -> bool:
    return any(path == field or path.startswith(field + ".") for path in expand or [])


def _export_latest_charge_as_id() -> None:
    """Make ``PaymentIntent.latest_charge`` an id unless expanded (as Stripe)."""
    original = PaymentIntent._export
    if getattr(original, "_sandbox_patched", False):
        return

    def _export(self: PaymentIntent, expand: list[str] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = original(self, expand=expand)
        if self.latest_charge is not None and not _is_expanded("latest_charge", expand):
            data["latest_charge"] = self.latest_charge.id
        return data

    _export._sandbox_patched = True  # type: ignore[attr-defined]
    PaymentIntent._export = _export  # type: ignore[method-assign]


_disable_disk_persistence()
_export_latest_charge_as_id()
_add_test_payment_methods()


# --------------------------------------------------------------------------
# Stripe-shaped errors and parameter parsing
# --------------------------------------------------------------------------


def stripe_error(
    status: int,
    code: str | None,
    message: str,
    *,
    param: str | None = None,
    error_type: str = "invalid_request_error",
) -> UserError:
    """Build an error that localstripe's error middleware renders as
    ``{"error": {"type", "code", "message"[, "param"]}}`` with ``status``."""
    contents: dict[str, Any] = {"code": code}
    if param is not None:
        contents["param"] = param
    error = UserError(status, message, contents)
    error.body["error"]["type"] = error_type
    return error


def _missing(kind: str, object_id: str, param: str | None = None) -> UserError:
    status = 400 if param else 404
    return stripe_error(status, "resource_missing", f"No such {kind}: '{object_id}'", param=param)


def _reject_unknown(data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise stripe_error(
            400, "parameter_unknown", f"Received unknown parameter: {unknown[0]}", param=unknown[0]
        )


def _require(data: Mapping[str, Any], name: str) -> Any:
    value = data.get(name)
    if value is None or value == "":
        raise stripe_error(400, "parameter_missing", f"Missing required param: {name}.", param=name)
    return value


def _as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise stripe_error(
            400, "parameter_invalid_integer", f"Invalid integer: {value}", param=name
        ) from None


def _positive_int(value: Any, name: str) -> int:
    number = _as_int(value, name)
    if number <= 0:
        raise stripe_error(
            400, "parameter_invalid_integer", "This value must be greater than or equal to 1.", param=name
        )
    return number


def _optional_str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise stripe_error(400, "parameter_invalid_string", f"Invalid string: {name}", param=name)
    return value


def _currency(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
        raise stripe_error(400, "parameter_invalid", f"Invalid currency: {value}", param="currency")
    return value.lower()


def _merge_metadata(current: Mapping[str, str], update: Any) -> dict[str, str]:
    """Stripe metadata semantics: merge keys, ``""`` deletes a key, and
    ``metadata=""`` clears everything."""
    if update is None:
        return dict(current)
    if update == "":
        return {}
    if not isinstance(update, Mapping):
        raise stripe_error(400, "parameter_invalid", "Invalid metadata: must be an object", param="metadata")
    merged = dict(current)
    for key, value in update.items():
        if value in ("", None):
            merged.pop(key, None)
        else:
            merged[str(key)] = str(value)
    return merged


_CREATED_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _created_predicate(value: Any) -> Callable[[StripeObject], bool]:
    """``created=TS`` or ``created[gt|gte|lt|lte]=TS`` as a filter."""
    if value is None:
        return lambda _obj: True
    if not isinstance(value, Mapping):
        exact = _as_int(value, "created")
        return lambda obj: obj.created == exact
    for key in value:
        if key not in _CREATED_OPERATORS:
            raise stripe_error(400, "parameter_unknown",
                               f"Received unknown parameter: created[{key}]", param=f"created[{key}]")
    bounds = [(_CREATED_OPERATORS[k], _as_int(v, f"created[{k}]")) for k, v in value.items()]
    return lambda obj: all(compare(obj.created, bound) for compare, bound in bounds)


# --------------------------------------------------------------------------
# Stripe list semantics (newest first, cursors, has_more)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    limit: int
    starting_after: str | None
    ending_before: str | None
    expand: list[str]


_PAGE_PARAMS = frozenset({"limit", "starting_after", "ending_before", "expand"})


def _pop_page(query: dict[str, Any]) -> _Page:
    """Remove and validate the pagination/expand parameters of a list call."""
    limit = _as_int(query.pop("limit", DEFAULT_LIST_LIMIT), "limit")
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise stripe_error(
            400, "parameter_invalid_integer", "limit must be between 1 and 100.", param="limit"
        )
    expand = query.pop("expand", None) or []
    if not isinstance(expand, list):
        expand = [expand]
    page = _Page(
        limit=limit,
        starting_after=query.pop("starting_after", None) or None,
        ending_before=query.pop("ending_before", None) or None,
        expand=[str(path) for path in expand],
    )
    if page.starting_after and page.ending_before:
        raise stripe_error(
            400, "parameter_invalid", "starting_after and ending_before are mutually exclusive."
        )
    return page


def _cursor_index(items: list[StripeObject], cursor: str, param: str) -> int:
    for index, item in enumerate(items):
        if item.id == cursor:
            return index
    raise _missing("object", cursor, param=param)


def _list_response(
    items: list[StripeObject],
    keep: Callable[[StripeObject], bool],
    url: str,
    page: _Page,
) -> dict[str, Any]:
    """Render ``items`` (newest first, unfiltered) as a Stripe list object.

    Cursors are located in the unfiltered sequence, so ``starting_after`` may
    name any object of the type, as with Stripe.
    """
    if page.starting_after:
        start = _cursor_index(items, page.starting_after, "starting_after") + 1
        candidates = [item for item in items[start:] if keep(item)]
        window, has_more = candidates[: page.limit], len(candidates) > page.limit
    elif page.ending_before:
        end = _cursor_index(items, page.ending_before, "ending_before")
        candidates = [item for item in items[:end] if keep(item)]
        window, has_more = candidates[-page.limit :], len(candidates) > page.limit
    else:
        candidates = [item for item in items if keep(item)]
        window, has_more = candidates[: page.limit], len(candidates) > page.limit
    item_expand = _item_expand_paths(page.expand)
    return {
        "object": "list",
        "url": url,
        "has_more": has_more,
        "data": [item._export(expand=item_expand) for item in window],
    }


def _item_expand_paths(paths: list[str]) -> list[str]:
    for path in paths:
        if not path.startswith("data."):
            raise stripe_error(400, "parameter_invalid", f"Cannot expand {path} on a list", param="expand")
    return [path[len("data.") :] for path in paths]


def _stored(cls: type[_T]) -> list[_T]:
    """All stored objects of a localstripe resource class, oldest first."""
    prefix = f"{cls.object}:"  # type: ignore[attr-defined]
    return [value for key, value in store.items() if key.startswith(prefix)]


def _newest_first(cls: type[_T]) -> list[_T]:
    return list(reversed(_stored(cls)))


# --------------------------------------------------------------------------
# Connect resources
# --------------------------------------------------------------------------

#: What a freshly created Express account still has to provide.
_ONBOARDING_REQUIREMENTS = (
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "individual.address.city",
    "individual.address.line1",
    "individual.address.postal_code",
    "individual.dob.day",
    "individual.dob.month",
    "individual.dob.year",
    "individual.email",
    "individual.first_name",
    "individual.last_name",
    "individual.phone",
    "tos_acceptance.date",
    "tos_acceptance.ip",
)


def _requirements(due: tuple[str, ...], disabled_reason: str | None) -> dict[str, Any]:
    return {
        "currently_due": list(due),
        "eventually_due": list(due),
        "past_due": [],
        "pending_verification": [],
        "errors": [],
        "current_deadline": None,
        "disabled_reason": disabled_reason,
    }


class Account(StripeObject):  # type: ignore[misc]
    """A Connect account. New accounts cannot receive transfers until
    ``POST /_sandbox/accounts/{id}/complete_onboarding``."""

    object = "account"
    _id_prefix = "acct_"
    _create_params = frozenset(
        {"type", "country", "email", "metadata", "capabilities", "business_type",
         "business_profile", "default_currency", "controller", "expand"}
    )
    _update_params = frozenset({"email", "metadata", "business_profile", "expand"})

    def __init__(self, *, account_type: str, email: str | None, country: str,
                 default_currency: str, metadata: dict[str, str],
                 requested_capabilities: list[str], business_type: str | None,
                 business_profile: dict[str, Any]) -> None:
        super().__init__()
        self.type = account_type
        self.email = email
        self.country = country
        self.default_currency = default_currency
        self.metadata = metadata
        self.business_type = business_type
        self.business_profile = business_profile
        self.charges_enabled = False
        self.payouts_enabled = False
        self.details_submitted = False
        self.capabilities = {name: "inactive" for name in ["transfers", *requested_capabilities]}
        self.requirements = _requirements(_ONBOARDING_REQUIREMENTS, "requirements.past_due")

    @classmethod
    def _api_create(cls, **data: Any) -> Account:
        _reject_unknown(data, cls._create_params)
        account_type = data.get("type") or "express"
        if account_type not in ("express", "standard", "custom"):
            raise stripe_error(400, "parameter_invalid", f"Invalid type: {account_type}", param="type")
        capabilities = data.get("capabilities") or {}
        business_profile = data.get("business_profile") or {}
        if not isinstance(capabilities, Mapping) or not isinstance(business_profile, Mapping):
            raise stripe_error(400, "parameter_invalid", "Invalid object", param="capabilities")
        return cls(
            account_type=account_type,
            email=_optional_str(data, "email"),
            country=(_optional_str(data, "country") or "US").upper(),
            default_currency=_currency(data.get("default_currency") or "usd"),
            metadata=_merge_metadata({}, data.get("metadata")),
            requested_capabilities=[str(name) for name in capabilities],
            business_type=_optional_str(data, "business_type"),
            business_profile=dict(business_profile),
        )

    @classmethod
    def _api_retrieve(cls, id: str) -> Account:  # noqa: A002 - localstripe's signature
        account = store.get(f"{cls.object}:{id}")
        if account is None:
            raise _missing("account", id)
        return account

    @classmethod
    def _api_update(cls, id: str, **data: Any) -> Account:  # noqa: A002
        _reject_unknown(data, cls._update_params)
        account = cls._api_retrieve(id)
        account.metadata = _merge_metadata(account.metadata, data.get("metadata"))
        if "email" in data:
            account.email = _optional_str(data, "email")
        if isinstance(data.get("business_profile"), Mapping):
            account.business_profile = {**account.business_profile, **data["business_profile"]}
        return account

    @classmethod
    def _api_complete_onboarding(cls, id: str) -> Account:  # noqa: A002
        """Sandbox-only: make the account able to receive transfers.

        Must run on the server loop (it emits an ``account.updated`` event)."""
        account = cls._api_retrieve(id)
        account.charges_enabled = True
        account.payouts_enabled = True
        account.details_submitted = True
        account.capabilities = {name: "active" for name in account.capabilities}
        account.requirements = _requirements((), None)
        schedule_webhook(Event("account.updated", account))
        return account

    @property
    def _can_receive_transfers(self) -> bool:
        return self.capabilities.get("transfers") == "active"


def _account_link(data: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    _reject_unknown(data, frozenset({"account", "refresh_url", "return_url", "type", "collect",
                                     "collection_options", "expand"}))
    account = Account._api_retrieve(str(_require(data, "account")))
    link_type = _require(data, "type")
    if link_type not in ("account_onboarding", "account_update"):
        raise stripe_error(400, "parameter_invalid", f"Invalid type: {link_type}", param="type")
    _require(data, "return_url")
    _require(data, "refresh_url")
    created = int(time.time())
    return {
        "object": "account_link",
        "created": created,
        "expires_at": created + ACCOUNT_LINK_TTL_SECONDS,
        "url": f"{base_url}{SANDBOX_PREFIX}onboarding/{account.id}",
    }


# --------------------------------------------------------------------------
# Transfers and the platform balance
# --------------------------------------------------------------------------


def _charge_available(charge: Charge) -> int:
    """Funds a charge brought to the platform: captured, succeeded, net of refunds."""
    if charge.status != "succeeded" or not charge.captured:
        return 0
    return int(charge.amount) - int(charge.amount_refunded)


def platform_available(currency: str) -> int:
    """Platform balance = succeeded charges (net of refunds) - transfers (net
    of reversals) - what disputes withdrew.

    The emulator has no pending funds: a succeeded charge is available at once.
    Must run on the server loop (reads the store)."""
    charged = sum(_charge_available(c) for c in _stored(Charge) if c.currency == currency)
    transferred = sum(t.amount - t.amount_reversed for t in _stored(Transfer)
                      if t.currency == currency)
    return charged - transferred - disputes.disputed_amount(currency)


def _insufficient(message: str) -> UserError:
    return stripe_error(400, "balance_insufficient", message)


class Transfer(StripeObject):  # type: ignore[misc]
    """A transfer from the platform to a connected account.

    Rules (emulator choice, documented):

    * the destination must exist (``resource_missing``) and have
      ``capabilities.transfers == "active"`` (``insufficient_capabilities_for_transfer``);
    * with ``source_transaction``, the charge must exist (``resource_missing``),
      have the transfer's currency, and the transfers against it may not exceed
      its captured amount net of refunds (``balance_insufficient``);
    * every transfer, with or without ``source_transaction``, must also fit in
      the platform balance (:func:`platform_available`, ``balance_insufficient``).
    """

    object = "transfer"
    _id_prefix = "tr_"
    _create_params = frozenset(
        {"amount", "currency", "destination", "source_transaction", "transfer_group",
         "description", "metadata", "source_type", "expand"}
    )
    _update_params = frozenset({"description", "metadata", "expand"})
    _list_filters = frozenset({"destination", "transfer_group", "created"})

    def __init__(self, *, amount: int, currency: str, destination: str,
                 source_transaction: str | None, transfer_group: str | None,
                 description: str | None, metadata: dict[str, str]) -> None:
        super().__init__()
        self.amount = amount
        self.amount_reversed = 0
        self.balance_transaction = None
        self.currency = currency
        self.description = description
        self.destination = destination
        self.destination_payment = "py_" + random_id(24)
        self.metadata = metadata
        self.reversals = {"object": "list", "data": [], "has_more": False, "total_count": 0,
                          "url": f"/v1/transfers/{self.id}/reversals"}
        self.reversed = False
        self.source_transaction = source_transaction
        self.source_type = "card"
        self.transfer_group = transfer_group

    @classmethod
    def _api_create(cls, **data: Any) -> Transfer:
        _reject_unknown(data, cls._create_params)
        amount = _positive_int(_require(data, "amount"), "amount")
        currency = _currency(_require(data, "currency"))
        destination = _ready_destination(str(_require(data, "destination")))
        source_transaction = _optional_str(data, "source_transaction")
        if source_transaction is not None:
            _check_source_transaction(source_transaction, amount, currency)
        if amount > platform_available(currency):
            raise _insufficient(
                "You have insufficient available funds in your Stripe account. "
                "Try adding funds directly to your available balance by creating Charges "
                "using the 4000000000000077 test card."
            )
        transfer = cls(
            amount=amount,
            currency=currency,
            destination=destination.id,
            source_transaction=source_transaction,
            transfer_group=_optional_str(data, "transfer_group"),
            description=_optional_str(data, "description"),
            metadata=_merge_metadata({}, data.get("metadata")),
        )
        schedule_webhook(Event("transfer.created", transfer))
        return transfer

    @classmethod
    def _api_retrieve(cls, id: str) -> Transfer:  # noqa: A002
        transfer = store.get(f"{cls.object}:{id}")
        if transfer is None:
            raise _missing("transfer", id)
        return transfer

    @classmethod
    def _api_update(cls, id: str, **data: Any) -> Transfer:  # noqa: A002
        _reject_unknown(data, cls._update_params)
        transfer = cls._api_retrieve(id)
        transfer.metadata = _merge_metadata(transfer.metadata, data.get("metadata"))
        if "description" in data:
            transfer.description = _optional_str(data, "description")
        return transfer

    @classmethod
    def _list_predicate(cls, query: Mapping[str, Any]) -> Callable[[StripeObject], bool]:
        _reject_unknown(query, cls._list_filters)
        destination = query.get("destination")
        group = query.get("transfer_group")
        created = _created_predicate(query.get("created"))
        return lambda t: (
            (destination is None or t.destination == destination)
            and (group is None or t.transfer_group == group)
            and created(t)
        )


def _ready_destination(account_id: str) -> Account:
    account = store.get(f"{Account.object}:{account_id}")
    if account is None:
        raise _missing("destination", account_id, param="destination")
    if not account._can_receive_transfers:
        raise stripe_error(
            400,
            "insufficient_capabilities_for_transfer",
            "Your destination account needs to have at least one of the following "
            "capabilities enabled: transfers, crypto_transfers, legacy_payments",
            param="destination",
        )
    return account


def _check_source_transaction(charge_id: str, amount: int, currency: str) -> None:
    charge = store.get(f"{Charge.object}:{charge_id}")
    if charge is None:
        raise _missing("charge", charge_id, param="source_transaction")
    if charge.currency != currency:
        raise stripe_error(
            400, "parameter_invalid",
            f"The currency of source_transaction's balance transaction ({charge.currency}) "
            f"must be the same as the transfer currency ({currency})",
            param="currency",
        )
    already = sum(t.amount - t.amount_reversed for t in _stored(Transfer)
                  if t.source_transaction == charge_id)
    if already + amount > _charge_available(charge):
        raise _insufficient(
            f"The transfer amount exceeds the remaining amount of source_transaction "
            f"{charge_id} ({_charge_available(charge) - already} {currency} left)."
        )


def _balance() -> dict[str, Any]:
    currencies = sorted({c.currency for c in _stored(Charge)} | {t.currency for t in _stored(Transfer)})
    available = [
        {"amount": platform_available(cur), "currency": cur,
         "source_types": {"card": platform_available(cur)}}
        for cur in currencies or ["usd"]
    ]
    pending = [{"amount": 0, "currency": entry["currency"], "source_types": {"card": 0}}
               for entry in available]
    return {"object": "balance", "livemode": False, "available": available, "pending": pending}


# --------------------------------------------------------------------------
# Refunds
# --------------------------------------------------------------------------

_REFUND_PARAMS = frozenset({"charge", "payment_intent", "amount", "metadata", "reason", "expand"})
_REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


def _money(amount: int, currency: str) -> str:
    return f"{amount // 100}.{amount % 100:02d} {currency.upper()}"


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


def _charge_list_predicate(query: Mapping[str, Any]) -> Callable[[StripeObject], bool]:
    _reject_unknown(query, frozenset({"customer", "payment_intent", "created"}))
    customer, intent = query.get("customer"), query.get("payment_intent")
    created = _created_predicate(query.get("created"))
    return lambda c: ((customer is None or c.customer == customer)
                      and (intent is None or c.payment_intent == intent) and created(c))


def _assert_unique_id_prefixes() -> None:
    """localstripe's ``expand`` finds a class by id prefix: no prefix may be a
    prefix of another one."""
    prefixes = [c._id_prefix for c in StripeObject.__subclasses__() if hasattr(c, "_id_prefix")]
    for a in prefixes:
        for b in prefixes:
            if a is not b and b.startswith(a):
                raise RuntimeError(f"localstripe id prefix clash: {a!r} / {b!r}")


_assert_unique_id_prefixes()


# --------------------------------------------------------------------------
# HTTP routes
# --------------------------------------------------------------------------


def _json(data: Any, status: int = 200) -> web.Response:
    return ls_server.json_response(data, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    """Form-encoded (as the SDK sends) or JSON body, unflattened."""
    return dict(await ls_server.get_post_data(request) or {})


def _query(request: web.Request) -> dict[str, Any]:
    return dict(ls_server.unflatten_data(request.query) or {})


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _pop_expand(data: dict[str, Any]) -> list[str] | None:
    expand = data.pop("expand", None)
    return expand if isinstance(expand, list) or expand is None else [expand]


def _resource_routes(cls: type[Account] | type[Transfer], collection: str,
                     list_predicate: Callable[[dict[str, Any]], Callable[[StripeObject], bool]]
                     ) -> list[tuple[str, str, Handler]]:
    """create / retrieve / update / list routes for an extension resource."""

    async def create(request: web.Request) -> web.Response:
        data = await _body(request)
        expand = _pop_expand(data)
        return _json(cls._api_create(**data)._export(expand=expand))

    async def retrieve(request: web.Request) -> web.Response:
        query = _query(request)
        return _json(cls._api_retrieve(request.match_info["id"])._export(expand=_pop_expand(query)))

    async def update(request: web.Request) -> web.Response:
        data = await _body(request)
        expand = _pop_expand(data)
        return _json(cls._api_update(request.match_info["id"], **data)._export(expand=expand))

    async def list_all(request: web.Request) -> web.Response:
        query = _query(request)
        page = _pop_page(query)
        keep = list_predicate(query)
        return _json(_list_response(_newest_first(cls), keep, collection, page))

    return [
        ("POST", collection, create),
        ("GET", collection, list_all),
        ("GET", collection + "/{id}", retrieve),
        ("POST", collection + "/{id}", update),
    ]


def _account_list_predicate(query: Mapping[str, Any]) -> Callable[[StripeObject], bool]:
    _reject_unknown(query, frozenset({"created"}))
    return _created_predicate(query.get("created"))


def _payment_intent_list_predicate(query: Mapping[str, Any]) -> Callable[[StripeObject], bool]:
    _reject_unknown(query, frozenset({"customer", "created"}))
    customer = query.get("customer")
    created = _created_predicate(query.get("created"))
    return lambda pi: (customer is None or pi.customer == customer) and created(pi)


def _list_route(cls: type[StripeObject], url: str,
                predicate: Callable[[dict[str, Any]], Callable[[StripeObject], bool]]) -> Handler:
    """A Stripe list (newest first, cursors) replacing localstripe's."""
    async def list_all(request: web.Request) -> web.Response:
        query = _query(request)
        page = _pop_page(query)
        return _json(_list_response(_newest_first(cls), predicate(query), url, page))

    return list_all


async def _create_refund(request: web.Request) -> web.Response:
    data = await _body(request)
    expand = _pop_expand(data)
    return _json(_create_refund_object(data)._export(expand=expand))


async def _get_balance(_request: web.Request) -> web.Response:
    return _json(_balance())


async def _create_account_link(request: web.Request) -> web.Response:
    return _json(_account_link(await _body(request), _base_url(request)))


async def _complete_onboarding(request: web.Request) -> web.Response:
    return _json(Account._api_complete_onboarding(request.match_info["id"])._export())


async def _renew_subscription(request: web.Request) -> web.Response:
    """Sandbox only: the subscription's period ends now; Stripe bills the next one
    (charging the customer's default payment method; a failure makes it past_due)."""
    subscription = Subscription._api_retrieve(request.match_info["id"])
    if subscription.status == "canceled":
        raise UserError(400, "This subscription is canceled.")
    if subscription.cancel_at_period_end:
        subscription.status = "canceled"
        subscription.ended_at = subscription.canceled_at = int(time.time())
        schedule_webhook(Event("customer.subscription.deleted", subscription))
        return _json(subscription._export())
    subscription.start_date = subscription.current_period_end
    subscription._create_invoice()
    schedule_webhook(Event("customer.subscription.updated", subscription))
    return _json(subscription._export())


_PAGE_TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Stripe sandbox onboarding</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Stripe sandbox onboarding</h1>
<p>This is the <strong>OpenTrain Desk sandbox</strong> onboarding page for account
<code>{account}</code>. No real data is collected and no money moves.</p>
{body}
</body></html>
"""


def _onboarding_page(account_id: str, body: str, status: int = 200) -> web.Response:
    text = _PAGE_TEMPLATE.format(account=html.escape(account_id), body=body)
    return web.Response(text=text, content_type="text/html", status=status)


async def _show_onboarding(request: web.Request) -> web.Response:
    account_id = request.match_info["id"]
    if store.get(f"{Account.object}:{account_id}") is None:
        return _onboarding_page(account_id, "<p>Unknown account.</p>", status=404)
    form = ('<form method="post"><button type="submit">Complete onboarding</button></form>')
    return _onboarding_page(account_id, form)


async def _submit_onboarding(request: web.Request) -> web.Response:
    account_id = request.match_info["id"]
    if store.get(f"{Account.object}:{account_id}") is None:
        return _onboarding_page(account_id, "<p>Unknown account.</p>", status=404)
    Account._api_complete_onboarding(account_id)
    return _onboarding_page(account_id, "<p>Onboarding complete. You can close this window.</p>")


def _fault_routes(faults: FaultInjector) -> list[tuple[str, str, Handler]]:
    async def add(request: web.Request) -> web.Response:
        faults.add(Fault.from_params(await _body(request)))
        return _json({"object": "list", "data": faults.pending()})

    async def show(_request: web.Request) -> web.Response:
        return _json({"object": "list", "data": faults.pending()})

    async def clear(_request: web.Request) -> web.Response:
        faults.clear()
        return _json({"object": "list", "data": []})

    path = SANDBOX_PREFIX + "faults"
    return [("POST", path, add), ("GET", path, show), ("DELETE", path, clear)]


#: Idempotency-Key records (process-global like localstripe's store); cleared by reset().
IDEMPOTENCY = IdempotencyStore()


def _clear_all_state(faults: FaultInjector) -> None:
    """localstripe store (includes accounts and transfers), idempotency records,
    webhook registrations (kept outside the store), fault rules and revocations."""
    store.clear()
    IDEMPOTENCY.clear()
    ls_webhooks._webhooks.clear()
    faults.clear()
    REVOKED_KEYS.clear()


async def _expire_idempotency_keys(request: web.Request) -> web.Response:
    """``POST /_sandbox/idempotency_keys/expire`` [``older_than`` seconds]: forget
    completed keys, as Stripe does after 24 h (for a separate-process emulator)."""
    data = await _body(request)
    _reject_unknown(data, frozenset({"older_than"}))
    older_than = float(_as_int(data.get("older_than", 0), "older_than"))
    return _json({"expired": IDEMPOTENCY.expire(older_than)})


async def _flush_data(_request: web.Request) -> web.Response:
    """``DELETE /_config/data`` (localstripe's reset) also forgets idempotency keys."""
    store.clear()
    IDEMPOTENCY.clear()
    return web.Response()


def _extension_routes(faults: FaultInjector) -> list[tuple[str, str, Handler]]:
    async def reset(_request: web.Request) -> web.Response:
        _clear_all_state(faults)
        return web.Response()

    return [
        *_resource_routes(Account, "/v1/accounts", _account_list_predicate),
        *_resource_routes(Transfer, "/v1/transfers", Transfer._list_predicate),
        ("POST", "/v1/account_links", _create_account_link),
        ("GET", "/v1/payment_intents",
         _list_route(PaymentIntent, "/v1/payment_intents", _payment_intent_list_predicate)),
        ("GET", "/v1/charges", _list_route(Charge, "/v1/charges", _charge_list_predicate)),
        ("POST", "/v1/refunds", _create_refund),
        ("GET", "/v1/refunds", _list_route(Refund, "/v1/refunds", _refund_list_predicate)),
        ("GET", "/v1/balance", _get_balance),
        ("DELETE", CONFIG_PREFIX + "data", _flush_data),
        ("POST", SANDBOX_PREFIX + "accounts/{id}/complete_onboarding", _complete_onboarding),
        ("POST", SANDBOX_PREFIX + "subscriptions/{id}/renew", _renew_subscription),
        ("GET", SANDBOX_PREFIX + "onboarding/{id}", _show_onboarding),
        ("POST", SANDBOX_PREFIX + "onboarding/{id}", _submit_onboarding),
        ("POST", SANDBOX_PREFIX + "reset", reset),
        ("POST", SANDBOX_PREFIX + "idempotency_keys/expire", _expire_idempotency_keys),
        *_fault_routes(faults),
        *events.routes(),
        *disputes.routes(),
        *transfer_reversals.routes(),
        *bank_debits.routes(),
        *refund_failures.routes(),
    ]


#: Keys the sandbox treats as revoked (``SandboxStripe.revoke_key``); cleared by reset().
REVOKED_KEYS: set[str] = set()


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip()


def _invalid_key(key: str) -> web.Response:
    shown = f"{key[:8]}{'*' * 4}{key[-4:]}" if len(key) > 12 else "****"
    return _json({"error": {"type": "invalid_request_error", "code": "api_key_invalid",
                            "message": f"Invalid API Key provided: {shown}"}}, status=401)


@web.middleware
async def _auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """localstripe's auth (any ``sk_...`` key), except for sandbox-only routes,
    which a browser opens without a key. Revoked keys and live-mode keys (the
    sandbox is a test-mode account) get Stripe's 401."""
    if request.path.startswith(SANDBOX_PREFIX):
        return await handler(request)
    key = _bearer(request)
    request[API_KEY_STATE] = key  # scope of idempotency keys (kept by clone below)
    if key in REVOKED_KEYS or key.startswith(("sk_live_", "rk_live_")):
        return _invalid_key(key)
    if key.startswith("rk_test_"):  # restricted keys: localstripe only knows sk_
        request = request.clone(headers={**request.headers,
                                         "Authorization": "Bearer sk_test_restricted"})
    return await ls_server.auth_middleware(request, handler)


def build_app(faults: FaultInjector, idempotency: IdempotencyStore | None = None,
              persist: Callable[[], None] | None = None) -> web.Application:
    """A fresh aiohttp app: our routes first, then localstripe's (minus the
    ones we replace). localstripe's global ``server.app`` is never started, so
    it stays unfrozen and a new app can be built for every start.

    Authentication runs before idempotency and faults (401s are never saved);
    ``persist`` is called after each write, before its answer is sent."""
    api = api_middleware(faults, IDEMPOTENCY if idempotency is None else idempotency, persist)
    app = web.Application(middlewares=[ls_server.error_middleware, _auth_middleware, api,
                                       events.request_context_middleware])
    app.on_response_prepare.append(ls_server.add_cors_headers)
    ours = _extension_routes(faults)
    for method, path, handler in ours:
        app.router.add_route(method, path, handler)
    replaced = {(method, path) for method, path, _ in ours}
    for route in ls_server.app.router.routes():
        path = route.resource.canonical if route.resource is not None else None
        if path is not None and (route.method, path) not in replaced:
            app.router.add_route(route.method, path, _async_handler(route.handler))
    return app


def _async_handler(handler: Handler) -> Handler:
    """aiohttp deprecates plain-function handlers; localstripe uses some."""
    if asyncio.iscoroutinefunction(handler):
        return handler

    async def call(request: web.Request) -> web.StreamResponse:
        return handler(request)

    return call


# --------------------------------------------------------------------------
# The embedded server
# --------------------------------------------------------------------------


_STATE_FORMAT_KEY = "__format__"  # no store key: those are "object:id"
_STATE_FORMAT = "opentrain-desk-sandbox/2"


def _dump_state() -> bytes:
    """localstripe's store and the completed idempotency records, pickled
    (on the server loop: a consistent snapshot)."""
    state = {_STATE_FORMAT_KEY: _STATE_FORMAT, "store": dict(store),
             "idempotency": IDEMPOTENCY.snapshot()}
    return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


def _write_state(path: Path) -> None:
    """Atomically replace ``path`` (tmp file, fsync, rename, fsync the folder)."""
    data = _dump_state()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    return sock


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class SandboxStripe:
    """In-process Stripe emulator (localstripe + Connect/transfer extensions).

    Usage::

        with SandboxStripe() as sandbox:
            client = stripe.StripeClient(SandboxStripe.api_key,
                                         base_addresses={"api": sandbox.base_url})

    State lives in localstripe's process-global store: it survives
    ``stop()``/``start()`` and is cleared only by :meth:`reset`. With
    ``state_path`` it is also written to that file after every write request,
    before the answer is sent, and loaded from it by :meth:`start`.
    """

    #: Fixed, obviously non-secret key; localstripe accepts any ``sk_...``.
    api_key: ClassVar[str] = "sk_test_sandbox_localstripe"

    _active: ClassVar[SandboxStripe | None] = None
    _active_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, port: int = 0, *, state_path: Path | None = None,
                 shutdown_timeout: float = 2.0) -> None:
        """``port=0`` picks a free port on the first start; later starts
        re-bind the same port. ``state_path``: see the class docstring."""
        self._port = port
        self._state_path = Path(state_path) if state_path is not None else None
        self._shutdown_timeout = shutdown_timeout
        self.faults = FaultInjector()
        self.idempotency = IDEMPOTENCY
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle --------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def port(self) -> int:
        """The bound port (the requested one before the first start)."""
        return self._port

    @property
    def base_url(self) -> str:
        if self._port == 0:
            raise RuntimeError("SandboxStripe has no port yet: call start() first")
        return f"http://{HOST}:{self._port}"

    def start(self, timeout: float = 10.0) -> SandboxStripe:
        """Serve on 127.0.0.1; returns once the server accepts connections."""
        if self.running:
            raise RuntimeError("SandboxStripe is already running")
        self._claim()
        try:
            if self._state_path is not None and self._state_path.exists():
                if not self.load_state(self._state_path):
                    raise RuntimeError(f"unreadable sandbox state file: {self._state_path}")
            self._start_server(timeout)
        except BaseException:
            self._teardown(timeout)
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (connections are refused); state is kept. Idempotent."""
        if self._loop is None:
            return
        self._teardown(timeout)

    def __enter__(self) -> SandboxStripe:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- state ------------------------------------------------------------

    def reset(self) -> None:
        """Clear ALL state: localstripe objects (customers, payment intents,
        charges, ... and our accounts, transfers, reversals, disputes and
        events, all in its store), webhook
        registrations, fault rules and idempotency records."""
        self._call(self._changed_by, _clear_all_state, self.faults)

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        """Python shortcut for ``POST /_sandbox/accounts/{id}/complete_onboarding``."""
        if not self.running:
            raise RuntimeError("complete_onboarding needs the server running (it emits events)")
        return self._call(self._changed_by,
                          lambda: Account._api_complete_onboarding(account_id)._export())

    def inject_fault(self, path_prefix: str, *, status: int | None = None, count: int = 1,
                     delay: float = 0.0, code: str | None = None, method: str | None = None,
                     should_retry: bool | None = None, when: str = BEFORE, drop: bool = False,
                     sticky: bool = False) -> None:
        """Python shortcut for ``POST /_sandbox/faults`` (see :class:`Fault`)."""
        params = {"path_prefix": path_prefix, "status": status, "count": count, "delay": delay,
                  "code": code, "method": method, "should_retry": should_retry, "when": when,
                  "drop": drop, "sticky": sticky}
        self.faults.add(Fault.from_params({k: v for k, v in params.items() if v is not None}))

    def clear_faults(self) -> None:
        self.faults.clear()

    def wait_faults_consumed(self, timeout: float = 5.0) -> bool:
        """Block until every injected fault rule has been used up (a request
        held by a ``delay`` fault is then in progress, holding its key)."""
        return self.faults.wait_until_consumed(timeout)

    def expire_idempotency_keys(self, older_than: float = 0.0) -> int:
        """Forget completed idempotency keys at least ``older_than`` seconds old
        (Stripe prunes them after 24 h); returns how many were forgotten."""
        return self._call(self._changed_by, self.idempotency.expire, older_than)

    def save_state(self, path: Path) -> None:
        """Write every emulated object and idempotency record to ``path``
        (atomically) so a later start can continue where this one stopped (the
        app's sandbox workspaces use this)."""
        self._call(_write_state, Path(path))

    @staticmethod
    def load_state(path: Path) -> bool:
        """Replace the emulator's objects and idempotency records with those
        saved in ``path`` (before start). Also reads files that hold only
        localstripe's store (written before idempotency records were saved)."""
        try:
            saved = pickle.loads(Path(path).read_bytes())
        except (FileNotFoundError, pickle.UnpicklingError, EOFError, AttributeError,
                ImportError, ValueError, TypeError):
            return False
        if not isinstance(saved, dict):
            return False
        objects, records = (saved["store"], saved["idempotency"]) \
            if saved.get(_STATE_FORMAT_KEY) == _STATE_FORMAT else (saved, {})
        dict.clear(store)
        dict.update(store, objects)
        IDEMPOTENCY.restore(records)
        return True

    def renew_subscription(self, subscription_id: str) -> dict[str, Any]:
        """Python shortcut for ``POST /_sandbox/subscriptions/{id}/renew``."""
        import requests
        response = requests.post(f"{self.base_url}{SANDBOX_PREFIX}subscriptions/"
                                 f"{subscription_id}/renew", timeout=10)
        response.raise_for_status()
        return response.json()

    # Python shortcuts for the /_sandbox/ routes of the extension modules
    # (they emit events, so the server must be running).

    def open_dispute(self, charge: str | None = None, *, payment_intent: str | None = None,
                     **params: Any) -> dict[str, Any]:
        """``POST /_sandbox/disputes`` (``amount``, ``reason``, ``due_in``)."""
        data = {"charge": charge, "payment_intent": payment_intent, **params}
        return self._emitting(lambda: disputes.Dispute._sandbox_open(
            {k: v for k, v in data.items() if v is not None})._export())

    def resolve_dispute(self, dispute_id: str, outcome: str = "won") -> dict[str, Any]:
        """``POST /_sandbox/disputes/{id}/resolve``."""
        return self._emitting(lambda: disputes.Dispute._api_retrieve(dispute_id)
                              ._sandbox_resolve(outcome)._export())

    def settle_payment_intent(self, intent_id: str, outcome: str | None = None) -> dict[str, Any]:
        """``POST /_sandbox/payment_intents/{id}/settle``."""
        return self._emitting(lambda: bank_debits.settle(
            PaymentIntent._api_retrieve(intent_id), outcome)._export())

    def settle_all_payment_intents(self) -> list[str]:
        """``POST /_sandbox/payment_intents/settle_all``: ids of the settled intents."""
        return self._emitting(lambda: [bank_debits.settle(pi).id for pi in _stored(PaymentIntent)
                                       if bank_debits._is_processing_debit(pi)])

    def fail_refund(self, refund_id: str,
                    failure_reason: str = "expired_or_canceled_card") -> dict[str, Any]:
        """``POST /_sandbox/refunds/{id}/fail``."""
        return self._emitting(lambda: refund_failures.fail(
            Refund._api_retrieve(refund_id), failure_reason)._export())

    def expire_events(self, older_than: float = 0.0) -> int:
        """``POST /_sandbox/events/expire``: drop events at least ``older_than``
        seconds old (0: all); returns how many."""
        return self._call(self._changed_by, events.expire, older_than)

    def _emitting(self, func: Callable[[], _T]) -> _T:
        if not self.running:
            raise RuntimeError("this sandbox action needs the server running (it emits events)")
        return self._call(self._changed_by, func)

    def revoke_key(self, key: str) -> None:
        """From now on requests with ``key`` get 401 (as a revoked key does)."""
        REVOKED_KEYS.add(key)

    # -- internals --------------------------------------------------------

    def _claim(self) -> None:
        with SandboxStripe._active_lock:
            if SandboxStripe._active is not None and SandboxStripe._active is not self:
                raise RuntimeError(
                    "another SandboxStripe is running in this process "
                    "(localstripe's store is process-global)"
                )
            SandboxStripe._active = self

    def _release(self) -> None:
        with SandboxStripe._active_lock:
            if SandboxStripe._active is self:
                SandboxStripe._active = None

    def _start_server(self, timeout: float) -> None:
        sock = _bind(self._port)
        self._port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=_run_loop, args=(loop,), name=f"sandbox-stripe-{self._port}", daemon=True
        )
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(sock), loop)
        self._runner = future.result(timeout)
        self._check_accepting(timeout)

    async def _serve(self, sock: socket.socket) -> web.AppRunner:
        app = build_app(self.faults, self.idempotency, self._persist)
        runner = web.AppRunner(app, shutdown_timeout=self._shutdown_timeout)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            sock.close()
            raise
        return runner

    def _check_accepting(self, timeout: float) -> None:
        with socket.create_connection((HOST, self._port), timeout=timeout):
            pass

    def _teardown(self, timeout: float) -> None:
        loop, thread = self._loop, self._thread
        try:
            if loop is not None and thread is not None and thread.is_alive():
                self._stop_loop(loop, thread, timeout)
        finally:
            self._loop = self._thread = self._runner = None
            self._release()

    def _stop_loop(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread,
                   timeout: float) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError("SandboxStripe loop thread did not stop")

    async def _shutdown(self) -> None:
        """Close the listener and connections, then cancel leftover tasks
        (localstripe's delayed webhook sends)."""
        if self._runner is not None:
            await self._runner.cleanup()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _changed_by(self, func: Callable[..., _T], *args: Any) -> _T:
        """Run ``func`` (a change made outside a request) and persist."""
        result = func(*args)
        self._persist()
        return result

    def _persist(self) -> None:
        """With ``state_path``: write the state (called on the server loop
        after each write request, before its answer is sent)."""
        if self._state_path is not None:
            _write_state(self._state_path)

    def _call(self, func: Callable[..., _T], *args: Any) -> _T:
        """Run ``func`` on the server loop (the store's owner) when running,
        else directly."""
        if self._loop is None:
            return func(*args)

        async def invoke() -> _T:
            return func(*args)

        try:
            return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(10.0)
        except FutureTimeoutError:
            raise RuntimeError("SandboxStripe loop did not answer within 10 s") from None



def main(argv: list[str] | None = None) -> None:
    """``python -m opentrain_desk.sandbox.emulator [--port N] [--state FILE]``:
    serve until stdin closes (or the process is killed).

    Prints ``ready <base_url>`` once it accepts connections (benchmarks run the
    emulator in its own process, as Stripe is a remote service). With
    ``--state`` every write is on disk before it is answered, and a restart on
    the same file continues with the same objects and idempotency keys."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Embedded Stripe emulator (sandbox)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state", type=Path, default=None, metavar="FILE",
                        help="load the state from FILE and write it there after every write")
    args = parser.parse_args(argv)
    server = SandboxStripe(port=args.port, state_path=args.state).start()
    print(f"ready {server.base_url}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        server.stop()


# Extension modules (they import this one): events, disputes, transfer
# reversals, US bank account debits, refunds failing later. Imported last, as modules, so importing
# any of them first works too.
from . import bank_debits, disputes, events, refund_failures, transfer_reversals  # noqa: E402

_assert_unique_id_prefixes()


if __name__ == "__main__":
    main()
