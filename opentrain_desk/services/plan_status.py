"""What Settings → Plan shows, read in one unit of work, and the sandbox's "end the period now".

A small read use case so the UI holds no unit of work of its own: the account type and the
newest subscription, as a plain typed row (no database row objects leave the service).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import requests

from ..domain.subscriptions import AccountType
from . import subscriptions
from .unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """The workspace's newest subscription as the Plan section shows it."""

    plan_id: str
    plan_name: str
    amount_cents: int
    interval: str
    status: str
    stripe_subscription_id: str | None = None
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False


@dataclass(frozen=True, slots=True)
class PlanState:
    account: AccountType
    subscription: SubscriptionView | None


def plan_state(factory: UnitOfWorkFactory) -> PlanState:
    with factory() as uow:
        account = subscriptions.account_type(uow)
        row = subscriptions.current(uow)
    if row is None:
        return PlanState(account, None)
    return PlanState(account, SubscriptionView(
        plan_id=row.plan_id, plan_name=row.plan_name, amount_cents=int(row.amount_cents),
        interval=row.interval, status=row.status,
        stripe_subscription_id=row.stripe_subscription_id,
        current_period_end=row.current_period_end,
        cancel_at_period_end=bool(row.cancel_at_period_end)))


def end_sandbox_period(sandbox_url: str, subscription_id: str) -> None:
    """Sandbox only: the emulator ends the billing period now (Stripe renews or cancels)."""
    requests.post(f"{sandbox_url}/_sandbox/subscriptions/{subscription_id}/renew",
                  timeout=10).raise_for_status()
