"""Rows for payment history, the notification center and messages owed to trainers."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ...domain.milestones import MilestoneStatus, PayoutStatus


@dataclass(frozen=True, slots=True)
class PaymentHistoryRow:
    milestone_id: int
    contract_id: int
    job_id: int
    trainer_id: int
    milestone_title: str
    job_title: str
    trainer_name: str
    amount_cents: int
    funded_at: datetime | None
    approved_at: datetime | None
    approved_by: str | None
    status: MilestoneStatus
    payout_status: PayoutStatus
    payment_intent_id: str | None
    charge_id: str | None
    transfer_id: str | None  # the succeeded payout's Stripe transfer
    refund_id: str | None = None  # the latest succeeded refund (cancel, remainder, payout)

    @property
    def last_event_at(self) -> datetime | None:
        """What the history is ordered by: approval, else funding."""
        return self.approved_at or self.funded_at

    @property
    def stripe_refs(self) -> tuple[str, ...]:
        return tuple(ref for ref in (self.payment_intent_id, self.charge_id, self.transfer_id,
                                     self.refund_id) if ref)


@dataclass(frozen=True, slots=True)
class HistoryTotals:
    count: int
    amount_cents: int


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: int
    at: datetime
    kind: str
    title: str
    body: str
    job_id: int | None
    contract_id: int | None
    milestone_id: int | None
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None

    @property
    def first_line(self) -> str:
        return next((line.strip() for line in self.body.splitlines() if line.strip()), "")


#: Notifications that wait for a person (review, a declined card, a failed payout); the
#: others (paid out, …) are news. The badge counts only these.
NEEDS_A_PERSON = ("submitted", "funding failed", "payout failed", "disputed", "refund failed",
                  "payout reversed", "dispute lost")


@dataclass(frozen=True, slots=True)
class TrainerMessageRow:
    id: int
    trainer_id: int
    at: datetime
    kind: str
    subject: str
    body: str
    link: str
    sent_at: datetime | None
    status: str = "draft"      # the mail outbox's (services/mail.py)
    reason: str = ""           # why it is not sent (yet), when it is not

    @property
    def sent(self) -> bool:
        return self.sent_at is not None

    @property
    def withdrawn(self) -> bool:
        """A prompt that no longer applies (the trainer already did it): not to be sent."""
        return self.kind.endswith(" (withdrawn)")

    @property
    def owed(self) -> bool:
        return not self.sent and not self.withdrawn and self.status != "withdrawn"

    @property
    def resendable(self) -> bool:
        """Failed, may have been sent, or held back: a person may send it (again)."""
        return self.status in ("failed", "unknown", "withheld", "draft")


@dataclass(frozen=True, slots=True)
class UnreadSummary:
    """The notification center's counters, read in one go."""

    unread: int                          # every unread notification
    needing: int                         # unread ones that wait for a person (the badge)
    latest_id: int                       # the newest notification's id (0: none)
    fresh: tuple[NotificationRow, ...]   # unread ones newer than the id asked about
