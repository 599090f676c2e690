"""Read models for the UI: SQL-side filtering and paging, plain row objects."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import sqlalchemy as sa

from ..domain.milestones import MilestoneStatus, PayoutStatus
from ..domain.operations import ErrorKind, OperationKind, OperationStatus
from ..domain.payout_requirements import requirements_in_words
from ..domain.disputes import CLOSED, countdown
from .orm import contracts, disputes, jobs, milestones, stripe_operations, trainers

SETTLED_PAYOUTS = [p.name for p in PayoutStatus if p.settled]


def unresolved(c=milestones.c):
    """SQL for ``not is_resolved(status, payout_status)`` (domain/milestones.py)."""
    return sa.not_(sa.or_(c.status == MilestoneStatus.REFUNDED.name,
                          sa.and_(c.status == MilestoneStatus.PAID.name,
                                  c.payout_status.in_(SETTLED_PAYOUTS))))


@dataclass(frozen=True, slots=True)
class JobRow:
    id: int
    title: str
    archived: bool
    created_at: datetime
    contracts: int = 0
    open_milestones: int = 0


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
    def can_cancel_funding(self) -> bool:
        return (self.operation_status is OperationStatus.QUEUED
                and not self.operation_maybe_sent)


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


class Queries:
    """Read-only queries; each call uses its own short connection."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _jobs_filter(self, text: str, include_archived: bool) -> list:
        where = []
        if not include_archived:
            where.append(jobs.c.archived.is_(False))
        if text.strip():
            where.append(jobs.c.title.ilike(f"%{_escape_like(text.strip())}%", escape="\\"))
        return where

    def count_jobs(self, text: str = "", include_archived: bool = True) -> int:
        query = sa.select(sa.func.count()).select_from(jobs).where(
            *self._jobs_filter(text, include_archived))
        with self.engine.connect() as conn:
            return conn.scalar(query) or 0

    def list_jobs(self, text: str = "", include_archived: bool = True, offset: int = 0,
                  limit: int = 200) -> list[JobRow]:
        query = (sa.select(jobs.c.id, jobs.c.title, jobs.c.archived, jobs.c.created_at)
                 .where(*self._jobs_filter(text, include_archived))
                 .order_by(jobs.c.archived, jobs.c.id.desc()).offset(offset).limit(limit))
        with self.engine.connect() as conn:
            page = conn.execute(query).all()
            counts = self._job_counts(conn, [row.id for row in page])
        return [JobRow(r.id, r.title, r.archived, r.created_at, *counts.get(r.id, (0, 0)))
                for r in page]

    @staticmethod
    def _job_counts(conn: sa.Connection, job_ids: list[int]) -> dict[int, tuple[int, int]]:
        if not job_ids:
            return {}
        open_count = sa.func.count(milestones.c.id).filter(unresolved())
        query = (sa.select(contracts.c.job_id, sa.func.count(sa.distinct(contracts.c.id)),
                           open_count)
                 .select_from(contracts.outerjoin(milestones,
                                                  milestones.c.contract_id == contracts.c.id))
                 .where(contracts.c.job_id.in_(job_ids)).group_by(contracts.c.job_id))
        return {job_id: (n_contracts, n_open)
                for job_id, n_contracts, n_open in conn.execute(query)}

    def job(self, job_id: int) -> JobRow | None:
        query = sa.select(jobs.c.id, jobs.c.title, jobs.c.archived, jobs.c.created_at).where(
            jobs.c.id == job_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
            counts = self._job_counts(conn, [job_id])
        return JobRow(row.id, row.title, row.archived, row.created_at,
                      *counts.get(job_id, (0, 0))) if row else None

    def job_contracts(self, job_id: int) -> list[ContractRow]:
        query = (sa.select(contracts.c.id, contracts.c.job_id, contracts.c.trainer_id,
                           trainers.c.name, trainers.c.email, contracts.c.hired_on)
                 .join(trainers, trainers.c.id == contracts.c.trainer_id)
                 .where(contracts.c.job_id == job_id).order_by(contracts.c.id))
        with self.engine.connect() as conn:
            return [ContractRow(*row) for row in conn.execute(query)]

    def count_milestones(self, contract_id: int) -> int:
        query = sa.select(sa.func.count()).select_from(milestones).where(
            milestones.c.contract_id == contract_id)
        with self.engine.connect() as conn:
            return conn.scalar(query) or 0

    @staticmethod
    def _milestone_select() -> sa.Select:
        c, op = milestones.c, stripe_operations.c
        open_funding = sa.and_(op.milestone_id == c.id,
                               op.kind == OperationKind.FUND_MILESTONE,
                               op.status.in_([s for s in OperationStatus if s.open]))
        payout = stripe_operations.alias("payout")
        dispute = disputes.alias("open_dispute")
        payout_error = (sa.select(payout.c.last_error)
                        .where(payout.c.milestone_id == c.id,
                               payout.c.kind == OperationKind.PAYOUT)
                        .order_by(payout.c.created_at.desc()).limit(1)
                        .scalar_subquery())
        return (sa.select(c.id, c.position, c.title, c.description, c.amount_cents,
                          c.due_date, c.status, c.payout_status, c.status_note, op.status,
                          op.error_kind, c.submission_note, c.deliverable_url,
                          sa.func.coalesce(payout_error, ""),
                          sa.func.coalesce(op.maybe_sent, sa.false()),
                          sa.func.coalesce(op.last_error, ""),
                          sa.func.coalesce(dispute.c.status, ""), dispute.c.due_by,
                          sa.func.coalesce(dispute.c.amount_cents, 0))
                .select_from(milestones.outerjoin(stripe_operations, open_funding)
                             .outerjoin(dispute, sa.and_(dispute.c.milestone_id == c.id,
                                                         dispute.c.status.not_in(CLOSED)))))

    def milestone_page(self, contract_id: int, offset: int = 0,
                       limit: int = 200) -> list[MilestoneRow]:
        c = milestones.c
        query = (self._milestone_select().where(c.contract_id == contract_id)
                 .order_by(c.position, c.id).offset(offset).limit(limit))
        with self.engine.connect() as conn:
            return [MilestoneRow(*row) for row in conn.execute(query)]

    def milestone(self, milestone_id: int) -> MilestoneRow | None:
        query = self._milestone_select().where(milestones.c.id == milestone_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return MilestoneRow(*row) if row else None

    def trainer(self, trainer_id: int) -> TrainerRow | None:
        t = trainers.c
        query = sa.select(t.id, t.name, t.email, t.stripe_account_id, t.payouts_enabled,
                          t.requirements_due, t.disabled_reason, t.account_checked_at).where(
            t.id == trainer_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return TrainerRow(*row) if row else None

    def largest_contract(self) -> int | None:
        query = (sa.select(milestones.c.contract_id).group_by(milestones.c.contract_id)
                 .order_by(sa.func.count().desc()).limit(1))
        with self.engine.connect() as conn:
            return conn.scalar(query)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
