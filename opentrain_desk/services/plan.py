"""The plan gate: agency workspaces hire and fund only with an active plan.

Read by hiring and funding, written by ``subscriptions`` (which bills the plan); kept apart
so that neither side imports the other."""
from __future__ import annotations

from ..domain.subscriptions import AccountType, SubscriptionStatus, check_plan
from .unit_of_work import UnitOfWork
from .workspace_settings import ACCOUNT_TYPE


def account_type(uow: UnitOfWork) -> AccountType:
    value = uow.settings.get(ACCOUNT_TYPE)
    return AccountType[value] if value in AccountType.__members__ else AccountType.DIRECT


def subscription_status(uow: UnitOfWork) -> SubscriptionStatus:
    """The status of the workspace's plan at Stripe, as last mirrored."""
    row = uow.subscriptions.current()
    return SubscriptionStatus.from_stripe(row.status) if row else SubscriptionStatus.NONE


def require_plan(uow: UnitOfWork) -> None:
    """Raises PlanRequired when hiring/funding must wait for an active plan."""
    check_plan(account_type(uow), subscription_status(uow))
