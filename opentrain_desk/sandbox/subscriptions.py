"""Subscriptions for the sandbox emulator: localstripe's, plus the
sandbox-only ``POST /_sandbox/subscriptions/{id}/renew`` (the period ends now
and the next one is billed).

Part of :mod:`opentrain_desk.sandbox.emulator`.
"""

from __future__ import annotations

import time

from aiohttp import web
from localstripe.errors import UserError
from localstripe.resources import Event, Subscription, schedule_webhook

from .routing import Handler, _json
from .wire import SANDBOX_PREFIX


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


def routes() -> list[tuple[str, str, Handler]]:
    return [("POST", SANDBOX_PREFIX + "subscriptions/{id}/renew", _renew_subscription)]
