"""Agency plans: which account types need one, and what counts as active."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import DomainError
from .money import Money


class AccountType(enum.Enum):
    DIRECT = "Direct employer"
    AGENCY = "Agency"
    RECRUITING = "Recruiting"

    @property
    def requires_plan(self) -> bool:
        return self is not AccountType.DIRECT


class SubscriptionStatus(enum.Enum):
    NONE = "none"
    INCOMPLETE = "incomplete"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    INCOMPLETE_EXPIRED = "incomplete_expired"

    @property
    def label(self) -> str:
        return {"none": "No plan", "past_due": "Past due",
                "incomplete_expired": "Expired"}.get(self.value, self.value.capitalize())

    @property
    def usable(self) -> bool:
        """Hiring and funding are allowed."""
        return self in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)

    @classmethod
    def from_stripe(cls, value: str | None) -> SubscriptionStatus:
        try:
            return cls(value or "none")
        except ValueError:
            return cls.NONE


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    amount_cents: int
    interval: str  # month | year | week | day

    @property
    def label(self) -> str:
        return f"{self.name} — {Money(self.amount_cents).format()} / {self.interval}"


class PlanRequired(DomainError):
    def __init__(self, account_type: AccountType, status: SubscriptionStatus) -> None:
        self.account_type, self.status = account_type, status
        state = ("has no plan" if status is SubscriptionStatus.NONE else
                 f"plan is {status.label.lower()}")
        super().__init__(
            f"{account_type.value} accounts need an active plan to hire and fund, and this "
            f"workspace's {state}. Choose or fix the plan in Settings → Plan. Reports, "
            "history and exports keep working.")


def check_plan(account_type: AccountType, status: SubscriptionStatus) -> None:
    if account_type.requires_plan and not status.usable:
        raise PlanRequired(account_type, status)
