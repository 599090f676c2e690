"""Transfer reversals for the sandbox emulator, shaped like Stripe's.

``POST|GET /v1/transfers/{id}/reversals`` and
``GET|POST /v1/transfers/{transfer}/reversals/{id}``: what the SDK calls for
``client.v1.transfers.reversals.create/list/retrieve/update``.

A reversal takes money back from the connected account to the platform: the
platform balance grows by the amount (:func:`reversed_amount` feeds
``platform_available``), the transfer gets ``amount_reversed``, ``reversals``
(newest first) and ``reversed`` (true once fully reversed), and
``transfer.reversed`` is emitted with the transfer as ``data.object`` on every
reversal, partial or full (as Stripe does).

Part of :mod:`opentrain_desk.sandbox.emulator` (routes registered by
:mod:`.application`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from localstripe.resources import StripeObject, random_id, store

from .base import (
    _merge_metadata,
    _missing,
    _money,
    _positive_int,
    _reject_unknown,
    stripe_error,
)
from .events import emit
from .lists import DEFAULT_LIST_LIMIT, _list_response, _newest_first, _pop_page, _stored
from .routing import Handler, _body, _json, _pop_expand, _query
from .transfers import Transfer


class TransferReversal(StripeObject):  # type: ignore[misc]
    object = "transfer_reversal"
    _id_prefix = "trr_"
    _create_params = frozenset({"amount", "description", "metadata", "refund_application_fee",
                                "expand"})
    _update_params = frozenset({"metadata", "expand"})

    def __init__(self, *, transfer: Transfer, amount: int, metadata: dict[str, str]) -> None:
        super().__init__()
        self.amount = amount
        self.balance_transaction = "txn_" + random_id(24)
        self.currency = transfer.currency
        self.destination_payment_refund = "pyr_" + random_id(24)
        self.metadata = metadata
        self.source_refund = None
        self.transfer = transfer.id

    @classmethod
    def _api_create(cls, transfer_id: str, data: Mapping[str, Any]) -> TransferReversal:
        _reject_unknown(data, cls._create_params)
        transfer = Transfer._api_retrieve(transfer_id)
        left = int(transfer.amount) - int(transfer.amount_reversed)
        amount = left if data.get("amount") in (None, "") else _positive_int(
            data["amount"], "amount")
        if left <= 0:
            raise stripe_error(400, "amount_too_large",
                               f"Transfer {transfer.id} has already been fully reversed.",
                               param="amount")
        if amount > left:
            raise stripe_error(
                400, "amount_too_large",
                f"Reversal amount ({_money(amount, transfer.currency)}) is greater than the "
                f"amount left on the transfer ({_money(left, transfer.currency)}).",
                param="amount")
        metadata = _merge_metadata({}, data.get("metadata"))
        reversal = cls(transfer=transfer, amount=amount, metadata=metadata)
        transfer.amount_reversed = int(transfer.amount_reversed) + amount
        transfer.reversed = transfer.amount_reversed >= int(transfer.amount)
        _refresh_embedded_list(transfer)
        emit("transfer.reversed", transfer)
        return reversal

    @classmethod
    def _api_retrieve_for(cls, transfer_id: str, reversal_id: str) -> TransferReversal:
        Transfer._api_retrieve(transfer_id)
        reversal = store.get(f"{cls.object}:{reversal_id}")
        if reversal is None or reversal.transfer != transfer_id:
            raise _missing("transfer_reversal", reversal_id)
        return reversal

    @classmethod
    def _api_update_for(cls, transfer_id: str, reversal_id: str,
                        data: Mapping[str, Any]) -> TransferReversal:
        _reject_unknown(data, cls._update_params)
        reversal = cls._api_retrieve_for(transfer_id, reversal_id)
        reversal.metadata = _merge_metadata(reversal.metadata, data.get("metadata"))
        _refresh_embedded_list(Transfer._api_retrieve(transfer_id))
        return reversal


def _of_transfer(transfer_id: str) -> list[TransferReversal]:
    """Newest first."""
    return [r for r in _newest_first(TransferReversal) if r.transfer == transfer_id]


def _refresh_embedded_list(transfer: Transfer) -> None:
    """``transfer.reversals``: Stripe embeds the first page (10, newest first)."""
    reversals = _of_transfer(transfer.id)
    transfer.reversals = {
        "object": "list", "data": [r._export() for r in reversals[:DEFAULT_LIST_LIMIT]],
        "has_more": len(reversals) > DEFAULT_LIST_LIMIT, "total_count": len(reversals),
        "url": f"/v1/transfers/{transfer.id}/reversals",
    }


def reversed_amount(currency: str) -> int:
    """Money brought back to the platform by reversals."""
    return sum(int(r.amount) for r in _stored(TransferReversal) if r.currency == currency)


# --------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------


async def _create(request: web.Request) -> web.Response:
    data = await _body(request)
    expand = _pop_expand(data)
    reversal = TransferReversal._api_create(request.match_info["id"], data)
    return _json(reversal._export(expand=expand))


async def _list(request: web.Request) -> web.Response:
    transfer_id = request.match_info["id"]
    Transfer._api_retrieve(transfer_id)
    query = _query(request)
    page = _pop_page(query)
    _reject_unknown(query, frozenset())
    keep: Callable[[StripeObject], bool] = lambda r: r.transfer == transfer_id  # noqa: E731
    return _json(_list_response(_newest_first(TransferReversal), keep,
                                f"/v1/transfers/{transfer_id}/reversals", page))


async def _retrieve(request: web.Request) -> web.Response:
    query = _query(request)
    reversal = TransferReversal._api_retrieve_for(request.match_info["transfer"],
                                                  request.match_info["id"])
    return _json(reversal._export(expand=_pop_expand(query)))


async def _update(request: web.Request) -> web.Response:
    data = await _body(request)
    expand = _pop_expand(data)
    reversal = TransferReversal._api_update_for(request.match_info["transfer"],
                                                request.match_info["id"], data)
    return _json(reversal._export(expand=expand))


def routes() -> list[tuple[str, str, Handler]]:
    return [
        ("POST", "/v1/transfers/{id}/reversals", _create),
        ("GET", "/v1/transfers/{id}/reversals", _list),
        ("GET", "/v1/transfers/{transfer}/reversals/{id}", _retrieve),
        ("POST", "/v1/transfers/{transfer}/reversals/{id}", _update),
    ]
