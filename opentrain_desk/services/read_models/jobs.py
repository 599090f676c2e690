"""Rows the UI shows for jobs, contracts, milestones and trainers (the read side).

Plain frozen dataclasses with no database in sight: ``persistence`` fills them, the UI
formats them. What a row *means* (its status words, whether funding can still be
cancelled) comes from the domain, so the UI never restates a rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from ...domain.disputes import countdown
from ...domain.milestones import MilestoneStatus, PayoutStatus
from ...domain.operations import ErrorKind, OperationStatus, cancellable
from ...domain.payout_requirements import requirements_in_words


@dataclass(frozen=True, slots=True)
class JobRow:
    id: int
    title: str
    archived: bool
    created_at: datetime
    contracts: int = 0
    open_milestones: int = 0
    version: int = 0  # optimistic version: an edit form sends it back


@dataclass(frozen=True, slots=True)
class ContractRow:
    id: int
    job_id: int
    trainer_id: int
    trainer_name: str
    trainer_email: str
    hired_on: date


@dataclass(frozen=True, slots=True)
class MilestoneRow:
    id: int
    position: int
    title: str
    description: str
    amount_cents: int
    due_date: date | None
    status: MilestoneStatus
    payout_status: PayoutStatus
    status_note: str
    operation_status: OperationStatus | None = None  # the open funding operation, if any
    operation_error: ErrorKind | None = None
    submission_note: str = ""
    deliverable_url: str = ""
    payout_error: str = ""  # why the latest payout attempt failed, if it did
    operation_maybe_sent: bool = False  # the open funding may have reached Stripe
    operation_message: str = ""  # the open funding's last error or why it was set aside
    dispute_status: str = ""     # an open dispute on its charge, if any (Stripe's status)
    dispute_due_by: datetime | None = None
    dispute_amount_cents: int = 0
    version: int = 0  # optimistic version: the edit form sends it back

    @property
    def disputed(self) -> bool:
        return bool(self.dispute_status)

    @property
    def status_label(self) -> str:
        """``Disputed`` while a dispute on the charge is open, else the lifecycle state."""
        return "Disputed" if self.disputed else self.status.label

    @property
    def status_qualifier(self) -> str:
        """``queued offline``, ``action needed``, … for the Status column."""
        if self.disputed:
            return countdown(self.dispute_due_by, datetime.now(timezone.utc))
        if self.status is not MilestoneStatus.FUNDING or self.operation_status is None:
            return ""
        if self.operation_error is ErrorKind.PROCESSING:
            return "bank debit processing"
        if self.operation_status is OperationStatus.NEEDS_ACTION:
            return "action needed"
        if self.operation_status is OperationStatus.ATTENTION:
            return "needs attention"
        if self.operation_maybe_sent or (self.operation_error is not None
                                         and self.operation_error.outcome_unknown):
            return "checking with Stripe"
        if self.operation_error is ErrorKind.NETWORK:
            return "queued offline"
        if self.operation_error is ErrorKind.KEY_REJECTED:
            return "waiting for a valid Stripe key"
        if self.operation_error is not None:
            return "retrying"
        return "sending" if self.operation_status is OperationStatus.SENDING else "queued"

    @property
    def funding_set_aside(self) -> bool:
        """The open funding was set aside for a person (recording it failed)."""
        return (self.status is MilestoneStatus.FUNDING and not self.disputed
                and self.operation_status is OperationStatus.ATTENTION
                and self.operation_error is not ErrorKind.PROCESSING)

    @property
    def funding_being_checked(self) -> bool:
        """The open funding may have reached Stripe: a lookup settles it first."""
        if (self.status is not MilestoneStatus.FUNDING or self.disputed
                or self.operation_status in (None, OperationStatus.NEEDS_ACTION,
                                             OperationStatus.ATTENTION)
                or self.operation_error is ErrorKind.PROCESSING):
            return False
        return self.operation_maybe_sent or (self.operation_error is not None
                                             and self.operation_error.outcome_unknown)

    @property
    def can_cancel_funding(self) -> bool:
        return cancellable(self.operation_status, self.operation_maybe_sent)

    @property
    def needs_authentication(self) -> bool:
        """The bank asks the agency to confirm the open funding (3-D Secure)."""
        return (self.status is MilestoneStatus.FUNDING and not self.disputed
                and self.operation_status is OperationStatus.NEEDS_ACTION
                and self.operation_error is not ErrorKind.PROCESSING)


@dataclass(frozen=True, slots=True)
class TrainerRow:
    id: int
    name: str
    email: str
    stripe_account_id: str | None
    payouts_enabled: bool
    requirements_due: str
    disabled_reason: str
    account_checked_at: datetime | None

    @property
    def readiness(self) -> str:
        if not self.stripe_account_id:
            return "No payout account yet"
        if self.payouts_enabled:
            return "Payouts enabled"
        due = requirements_in_words(self.requirements_due, limit=3)
        return "Payout setup incomplete" + (f" — due: {due}" if due else "")
