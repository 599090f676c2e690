"""Transfers and the platform balance for the sandbox emulator:
``/v1/transfers`` with Stripe's balance rules (see :class:`Transfer`) and
``GET /v1/balance`` computed from charges, transfers and disputes.

Part of :mod:`opentrain_desk.sandbox.emulator`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from localstripe.errors import UserError
from localstripe.resources import (
    Charge,
    Event,
    StripeObject,
    random_id,
    schedule_webhook,
    store,
)

from . import disputes
from .base import (
    _created_predicate,
    _currency,
    _merge_metadata,
    _missing,
    _optional_str,
    _positive_int,
    _reject_unknown,
    _require,
    stripe_error,
)
from .connect import Account
from .lists import _stored
from .routing import Handler, _json, _resource_routes


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
    currencies = sorted({c.currency for c in _stored(Charge)}
                        | {t.currency for t in _stored(Transfer)})
    available = [
        {"amount": platform_available(cur), "currency": cur,
         "source_types": {"card": platform_available(cur)}}
        for cur in currencies or ["usd"]
    ]
    pending = [{"amount": 0, "currency": entry["currency"], "source_types": {"card": 0}}
               for entry in available]
    return {"object": "balance", "livemode": False, "available": available, "pending": pending}

async def _get_balance(_request: web.Request) -> web.Response:
    return _json(_balance())


def routes() -> list[tuple[str, str, Handler]]:
    return [
        *_resource_routes(Transfer, "/v1/transfers", Transfer._list_predicate),
        ("GET", "/v1/balance", _get_balance),
    ]
