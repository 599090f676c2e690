"""Read models for the UI: SQL-side filtering and paging, plain row objects."""
from __future__ import annotations

import sqlalchemy as sa

from ..domain.milestones import MilestoneStatus, PayoutStatus
from ..domain.operations import OperationKind, OperationStatus
from ..domain.disputes import CLOSED
from ..services.read_models.jobs import ContractRow, JobRow, MilestoneRow, TrainerRow
from .orm import contracts, disputes, jobs, milestones, stripe_operations, trainers

SETTLED_PAYOUTS = [p.name for p in PayoutStatus if p.settled]


def unresolved(c=milestones.c):
    """SQL for ``not is_resolved(status, payout_status)`` (domain/milestones.py)."""
    return sa.not_(sa.or_(c.status == MilestoneStatus.REFUNDED.name,
                          sa.and_(c.status == MilestoneStatus.PAID.name,
                                  c.payout_status.in_(SETTLED_PAYOUTS))))


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

    def list_jobs(self, text: str = "", include_archived: bool = True,
                  after: JobRow | None = None, limit: int = 200) -> list[JobRow]:
        """Open jobs first, newest first; the page after the row ``after`` (keyset)."""
        where = self._jobs_filter(text, include_archived)
        if after is not None:  # (archived, -id) > (after.archived, -after.id)
            same = sa.and_(jobs.c.archived.is_(after.archived), jobs.c.id < after.id)
            where.append(same if after.archived else sa.or_(jobs.c.archived.is_(True), same))
        query = (sa.select(jobs.c.id, jobs.c.title, jobs.c.archived, jobs.c.created_at,
                           jobs.c.version)
                 .where(*where).order_by(jobs.c.archived, jobs.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            page = conn.execute(query).all()
            counts = self._job_counts(conn, [row.id for row in page])
        return [JobRow(r.id, r.title, r.archived, r.created_at, *counts.get(r.id, (0, 0)),
                       r.version) for r in page]

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
        query = sa.select(jobs.c.id, jobs.c.title, jobs.c.archived, jobs.c.created_at,
                          jobs.c.version).where(jobs.c.id == job_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
            counts = self._job_counts(conn, [job_id])
        return JobRow(row.id, row.title, row.archived, row.created_at,
                      *counts.get(job_id, (0, 0)), row.version) if row else None

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
                          sa.func.coalesce(dispute.c.amount_cents, 0), c.version)
                .select_from(milestones.outerjoin(stripe_operations, open_funding)
                             .outerjoin(dispute, sa.and_(dispute.c.milestone_id == c.id,
                                                         dispute.c.status.not_in(CLOSED)))))

    def milestone_page(self, contract_id: int, after: MilestoneRow | None = None,
                       limit: int = 200) -> list[MilestoneRow]:
        """A contract's milestones in order; the page after the row ``after`` (keyset)."""
        c = milestones.c
        where = [c.contract_id == contract_id]
        if after is not None:
            where.append(sa.tuple_(c.position, c.id) > sa.tuple_(after.position, after.id))
        query = (self._milestone_select().where(*where).order_by(c.position, c.id)
                 .limit(limit))
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

    def operation_counts(self) -> tuple[int, int]:
        """Stripe operations waiting to be sent, and those set aside for a person."""
        status = stripe_operations.c.status
        waiting = [OperationStatus.QUEUED, OperationStatus.SENDING]
        query = sa.select(sa.func.count().filter(status.in_(waiting)),
                          sa.func.count().filter(status == OperationStatus.ATTENTION))
        with self.engine.connect() as conn:
            pending, attention = conn.execute(query).one()
        return int(pending or 0), int(attention or 0)

    def largest_contract(self) -> int | None:
        query = (sa.select(milestones.c.contract_id).group_by(milestones.c.contract_id)
                 .order_by(sa.func.count().desc()).limit(1))
        with self.engine.connect() as conn:
            return conn.scalar(query)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
