"""The milestone lifecycle: one explicit transition table, names from the product."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

from .errors import IllegalTransition, ValidationError
from .money import Money


class MilestoneStatus(enum.Enum):
    NOT_FUNDED = "Not Funded"
    FUNDING = "Funding"
    ACTIVE_FUNDED = "Active & Funded"
    PENDING_APPROVAL = "Pending approval"
    PAID = "Paid"
    REFUNDING = "Refunding"   # cancel & refund: the refund is on its way to Stripe
    REFUNDED = "Refunded"     # the unreleased money went back to the employer

    @property
    def label(self) -> str:
        return self.value


class PayoutStatus(enum.Enum):
    NOT_STARTED = "—"
    PENDING_SETUP = "Pending – trainer setup"
    PENDING_RETRY = "Pending – retrying"
    PAID_OUT = "Paid out"
    FAILED = "Failed"
    REVERSED = "Reversed"   # the transfer was reversed at Stripe (money back from the trainer)
    REFUNDED = "Refunded"   # a failed payout's money went back to the employer instead

    @property
    def label(self) -> str:
        return self.value

    @property
    def settled(self) -> bool:
        """No money of this payout is pending, failed or disputed any more."""
        return self in (PayoutStatus.PAID_OUT, PayoutStatus.REFUNDED, PayoutStatus.REVERSED)


def is_resolved(status: MilestoneStatus, payout: PayoutStatus) -> bool:
    """Resolved milestones do not block archiving the job: Paid with its payout settled,
    or Refunded. A pending, failed or disputed payout keeps the job open."""
    return (status is MilestoneStatus.REFUNDED
            or (status is MilestoneStatus.PAID and payout.settled))


class Action(enum.Enum):
    START_FUNDING = "fund"
    FUNDING_SUCCEEDED = "confirm funding of"
    FUNDING_FAILED = "record a failed funding of"
    CANCEL_FUNDING = "cancel funding of"
    SUBMIT = "record a submission for"
    REQUEST_CHANGES = "request changes on"
    APPROVE = "approve"
    ADOPT_CHARGE = "adopt a Stripe charge for"
    REFUND = "cancel and refund"
    REFUND_SUCCEEDED = "confirm the refund of"
    REFUND_FAILED = "record a failed refund of"
    REFUNDED_AT_STRIPE = "record a refund made at Stripe for"

    @property
    def verb(self) -> str:
        return self.value


S, A = MilestoneStatus, Action

#: The whole lifecycle. Anything not listed here is illegal.
TRANSITIONS: dict[tuple[MilestoneStatus, Action], MilestoneStatus] = {
    (S.NOT_FUNDED, A.START_FUNDING): S.FUNDING,
    (S.FUNDING, A.FUNDING_SUCCEEDED): S.ACTIVE_FUNDED,
    (S.FUNDING, A.FUNDING_FAILED): S.NOT_FUNDED,
    (S.FUNDING, A.CANCEL_FUNDING): S.NOT_FUNDED,
    (S.ACTIVE_FUNDED, A.SUBMIT): S.PENDING_APPROVAL,
    (S.PENDING_APPROVAL, A.REQUEST_CHANGES): S.ACTIVE_FUNDED,
    (S.PENDING_APPROVAL, A.APPROVE): S.PAID,
    # Check against Stripe: a charge Stripe made that the books missed is taken in
    (S.NOT_FUNDED, A.ADOPT_CHARGE): S.ACTIVE_FUNDED,
    (S.FUNDING, A.ADOPT_CHARGE): S.ACTIVE_FUNDED,
    # cancel & refund (from Pending approval only once the trainer agreed: the service)
    (S.ACTIVE_FUNDED, A.REFUND): S.REFUNDING,
    (S.PENDING_APPROVAL, A.REFUND): S.REFUNDING,
    (S.REFUNDING, A.REFUND_SUCCEEDED): S.REFUNDED,
    (S.REFUNDING, A.REFUND_FAILED): S.ACTIVE_FUNDED,
    # the whole charge refunded outside the app (Stripe Dashboard, a lost dispute)
    (S.ACTIVE_FUNDED, A.REFUNDED_AT_STRIPE): S.REFUNDED,
    (S.PENDING_APPROVAL, A.REFUNDED_AT_STRIPE): S.REFUNDED,
    (S.REFUNDING, A.REFUNDED_AT_STRIPE): S.REFUNDED,
    # a refund that Stripe reports failed days later: the money is with the agency again
    (S.REFUNDED, A.REFUND_FAILED): S.ACTIVE_FUNDED,
}


def next_status(current: MilestoneStatus, action: Action) -> MilestoneStatus:
    """The state after ``action``; raises :class:`IllegalTransition` if not allowed."""
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise IllegalTransition(current.label, action.verb) from None


def allowed_actions(current: MilestoneStatus) -> frozenset[Action]:
    return frozenset(action for (state, action) in TRANSITIONS if state is current)


@dataclass(frozen=True)
class MilestoneDraft:
    """What a person fills in to create a milestone; validated on construction."""

    title: str
    amount: Money
    description: str = ""
    due_date: date | None = None

    def __post_init__(self) -> None:
        title = (self.title or "").strip()
        if not title:
            raise ValidationError("Give the milestone a name.")
        if len(title) > 200:
            raise ValidationError("The milestone name is too long (200 characters at most).")
        if len(self.description or "") > 5000:
            raise ValidationError("The description is too long (5,000 characters at most).")
        object.__setattr__(self, "title", title)
        object.__setattr__(self, "description", (self.description or "").strip())


@dataclass(eq=False)
class Milestone:
    """A milestone of a contract. Amounts are integer cents."""

    contract_id: int
    title: str
    amount_cents: int
    description: str = ""
    due_date: date | None = None
    position: int = 0
    status: MilestoneStatus = MilestoneStatus.NOT_FUNDED
    payout_status: PayoutStatus = PayoutStatus.NOT_STARTED
    status_note: str = ""
    submission_note: str = ""
    deliverable_url: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    funded_at: datetime | None = None
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    approved_by: str | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None
    updated_by: str = ""   # the member (database login) who changed it last
    id: int | None = field(default=None)

    @classmethod
    def from_draft(cls, contract_id: int, draft: MilestoneDraft, position: int,
                   now: datetime) -> Milestone:
        return cls(contract_id=contract_id, title=draft.title, amount_cents=draft.amount.cents,
                   description=draft.description, due_date=draft.due_date, position=position,
                   created_at=now, updated_at=now)

    @property
    def amount(self) -> Money:
        return Money(self.amount_cents)

    def snapshot(self) -> dict:
        """Audit view of the fields a person cares about."""
        return {
            "title": self.title, "description": self.description,
            "amount_cents": self.amount_cents,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "status": self.status.label, "payout": self.payout_status.label,
            "note": self.status_note or None,
        }

    def apply(self, action: Action, now: datetime, note: str = "") -> MilestoneStatus:
        """Move through the lifecycle; ``note`` keeps a failure reason or reviewer note."""
        self.status = next_status(self.status, action)
        self.status_note = note.strip()
        self.updated_at = now
        if action in (Action.FUNDING_SUCCEEDED, Action.ADOPT_CHARGE):
            self.funded_at = now
        elif action is Action.SUBMIT:
            self.submitted_at = now
        return self.status

    def submit(self, now: datetime, note: str = "", deliverable_url: str = "") -> None:
        self.apply(Action.SUBMIT, now)
        self.submission_note = note.strip()
        self.deliverable_url = deliverable_url.strip()

    def approve(self, now: datetime, actor: str) -> None:
        self.apply(Action.APPROVE, now)
        self.approved_at = now
        self.approved_by = actor

    def _require_editable(self, what: str) -> None:
        if self.status is not MilestoneStatus.NOT_FUNDED:
            raise IllegalTransition(self.status.label, what)

    def edit(self, draft: MilestoneDraft, now: datetime) -> None:
        """Amount and description change only while Not Funded."""
        self._require_editable("edit")
        self.title, self.amount_cents = draft.title, draft.amount.cents
        self.description, self.due_date = draft.description, draft.due_date
        self.updated_at = now

    @property
    def resolved(self) -> bool:
        return is_resolved(self.status, self.payout_status)

    @property
    def unresolved_label(self) -> str:
        """Why it blocks archiving, e.g. ``Paid, payout Failed``."""
        if self.status is MilestoneStatus.PAID:
            payout = ("not sent yet" if self.payout_status is PayoutStatus.NOT_STARTED
                      else self.payout_status.label)
            return f"{self.status.label}, payout {payout}"
        return self.status.label

    def ensure_deletable(self) -> None:
        self._require_editable("delete")
