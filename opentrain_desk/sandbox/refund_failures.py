"""Refunds that fail later, as Stripe's sometimes do (closed card, ...).

``POST /_sandbox/refunds/{id}/fail`` [``failure_reason``]: the refund becomes
``failed`` with ``failure_reason`` and ``failure_balance_transaction``; its
amount no longer counts in the charge's ``amount_refunded`` (so ``refunded``
may turn false again and the money is back in the platform balance); emits
``refund.updated``, ``refund.failed`` and ``charge.refund.updated`` (each with
the refund as ``data.object``).

Part of :mod:`opentrain_desk.sandbox.emulator` (routes registered by
:mod:`.application`).
"""

from __future__ import annotations

from aiohttp import web
from localstripe.resources import Charge, Refund, random_id, store

from .base import _missing, _optional_str, _reject_unknown, stripe_error
from .events import emit
from .routing import Handler, _body, _json
from .wire import SANDBOX_PREFIX

#: Stripe's documented ``failure_reason`` values.
FAILURE_REASONS = frozenset({"charge_for_pending_refund_disputed", "declined",
                             "expired_or_canceled_card", "insufficient_funds",
                             "lost_or_stolen_card", "merchant_request", "unknown"})
_NOT_COUNTED = frozenset({"failed", "canceled"})


def _amount_refunded(charge: Charge) -> int:
    """Successful (and pending) refunds only, as Stripe counts them."""
    return sum(int(r.amount) for r in charge.refunds._list
               if getattr(r, "status", "succeeded") not in _NOT_COUNTED)


Charge.amount_refunded = property(_amount_refunded)  # type: ignore[assignment]


def fail(refund: Refund, reason: str = "expired_or_canceled_card") -> Refund:
    """Must run on the server loop (emits events)."""
    if reason not in FAILURE_REASONS:
        raise stripe_error(400, "parameter_invalid", f"Invalid failure_reason: {reason}",
                           param="failure_reason")
    if refund.status in _NOT_COUNTED:
        raise stripe_error(400, None, f"Refund {refund.id} is already {refund.status}.")
    refund.status = "failed"
    refund.failure_reason = reason
    refund.failure_balance_transaction = "txn_" + random_id(24)
    emit("refund.updated", refund)
    emit("refund.failed", refund)
    emit("charge.refund.updated", refund)
    return refund


async def _fail(request: web.Request) -> web.Response:
    data = await _body(request)
    _reject_unknown(data, frozenset({"failure_reason"}))
    refund_id = request.match_info["id"]
    refund = store.get(f"{Refund.object}:{refund_id}")
    if refund is None:
        raise _missing("refund", refund_id)
    reason = _optional_str(data, "failure_reason") or "expired_or_canceled_card"
    return _json(fail(refund, reason)._export())


def routes() -> list[tuple[str, str, Handler]]:
    return [("POST", SANDBOX_PREFIX + "refunds/{id}/fail", _fail)]
