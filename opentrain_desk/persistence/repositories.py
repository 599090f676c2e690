"""Repositories over one SQLAlchemy session. They load and add; they never commit."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..domain.disputes import CLOSED
from ..domain.errors import NotFound
from ..domain.jobs import AuditEntry, Contract, Job, Trainer
from ..domain.milestones import Milestone
from ..domain.operations import OperationKind, OperationStatus, StripeOperation
from .orm import (contracts, disputes, jobs, milestones, stripe_events, stripe_operations, trainers,
                  workspace_settings)
from .stripe_check_queries import books_for_check

T = TypeVar("T")


class Repository(Generic[T]):
    model: type
    label: str

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, obj: T) -> T:
        self.session.add(obj)
        self.session.flush()
        return obj

    def get(self, obj_id: int, *, for_update: bool = False) -> T:
        obj = self.session.get(self.model, obj_id, with_for_update=for_update or None)
        if obj is None:
            raise NotFound(f"That {self.label} no longer exists (id {obj_id}).")
        return obj

    def delete(self, obj: T) -> None:
        self.session.delete(obj)
        self.session.flush()


class JobRepository(Repository[Job]):
    model, label = Job, "job"


class TrainerRepository(Repository[Trainer]):
    model, label = Trainer, "trainer"

    def by_email(self, email: str) -> Trainer | None:
        return self.session.scalars(sa.select(Trainer).filter_by(email=email)).first()


class ContractRepository(Repository[Contract]):
    model, label = Contract, "contract"

    def find(self, job_id: int, trainer_id: int) -> Contract | None:
        query = sa.select(Contract).filter_by(job_id=job_id, trainer_id=trainer_id)
        return self.session.scalars(query).first()

    def for_job(self, job_id: int) -> list[Contract]:
        return list(self.session.scalars(sa.select(Contract).filter_by(job_id=job_id)))

    def labels(self, contract_id: int) -> sa.Row:
        """``(job_id, job_title, trainer_name)`` of a contract in one query, for invoices
        issued on the payment worker's hot path (the statement is built once)."""
        row = self.session.execute(_LABELS, {"contract_id": contract_id}).first()
        if row is None:
            raise NotFound(f"contract {contract_id} not found")
        return row


_LABELS = (sa.select(jobs.c.id.label("job_id"), jobs.c.title.label("job_title"),
                     trainers.c.name.label("trainer_name"))
           .select_from(contracts.join(jobs, jobs.c.id == contracts.c.job_id)
                        .join(trainers, trainers.c.id == contracts.c.trainer_id))
           .where(contracts.c.id == sa.bindparam("contract_id")))


class MilestoneRepository(Repository[Milestone]):
    model, label = Milestone, "milestone"

    def for_job(self, job_id: int) -> list[Milestone]:
        query = (sa.select(Milestone).join(Contract, Contract.id == Milestone.contract_id)
                 .where(Contract.job_id == job_id).order_by(Milestone.id))
        return list(self.session.scalars(query))

    def payment_intents(self) -> list[str]:
        """Every charge the books know (for re-scanning refunds at Stripe)."""
        return list(self.session.scalars(sa.select(Milestone.payment_intent_id).where(
            Milestone.payment_intent_id.is_not(None), Milestone.payment_intent_id != "")))

    def by_payment_intent(self, payment_intent_id: str) -> Milestone | None:
        if not payment_intent_id:
            return None
        return self.session.scalars(sa.select(Milestone).where(
            Milestone.payment_intent_id == payment_intent_id)).first()

    def next_position(self, contract_id: int) -> int:
        query = sa.select(sa.func.max(Milestone.position)).where(
            Milestone.contract_id == contract_id)
        return (self.session.scalar(query) or 0) + 1

    def books_for_check(self) -> tuple[dict, dict]:
        """Every milestone with its charge and payout, as plain tuples, and the trainers'
        connected accounts (what "Check against Stripe" compares)."""
        return books_for_check(self.session)


class AuditRepository(Repository[AuditEntry]):
    model, label = AuditEntry, "audit entry"

    def for_entity(self, entity: str, entity_id: int) -> list[AuditEntry]:
        query = (sa.select(AuditEntry).filter_by(entity=entity, entity_id=entity_id)
                 .order_by(AuditEntry.id))
        return list(self.session.scalars(query))


def _claim_statement() -> sa.Update:
    """The claim UPDATE, built once: the payment worker runs it for every operation, and
    with bound parameters SQLAlchemy reuses its compiled form."""
    t = stripe_operations.c
    now = sa.bindparam("now", type_=t.sent_at.type)
    queued = sa.bindparam("queued", type_=t.status.type)
    due = (sa.select(t.id).where(t.status == queued,
                                 t.kind.in_(sa.bindparam("kinds", expanding=True)),
                                 sa.or_(t.next_attempt_at.is_(None), t.next_attempt_at <= now))
           .order_by(t.created_at, t.id).limit(1).scalar_subquery())
    return (stripe_operations.update()
            .where(t.id == due, t.status == queued)
            .values(status=sa.bindparam("sending", type_=t.status.type),
                    attempts=t.attempts + 1, sent_at=now, updated_at=now,
                    version=t.version + 1,
                    next_attempt_at=sa.bindparam("lease_end", type_=t.next_attempt_at.type))
            .returning(t.id))


_CLAIM = _claim_statement()


def _claim_details_statement() -> sa.Select:
    t, m, c = stripe_operations.c, milestones.c, contracts.c
    return (sa.select(t.id, t.kind, t.idempotency_key, t.amount_cents, t.customer_id,
                      t.payment_method_id, t.destination, t.attempts, t.purpose,
                      m.id.label("mid"),
                      m.charge_id, c.id.label("cid"), c.job_id)
            .select_from(stripe_operations.outerjoin(milestones, m.id == t.milestone_id)
                         .outerjoin(contracts, c.id == m.contract_id))
            .where(t.id == sa.bindparam("op_id")))


_CLAIM_DETAILS = _claim_details_statement()


class OperationRepository(Repository[StripeOperation]):
    model, label = StripeOperation, "payment operation"

    def claim_due(self, now: datetime, kinds: tuple[OperationKind, ...],
                  lease: timedelta) -> str | None:
        """Atomically move the oldest due operation from queued to sending.

        One conditional UPDATE (``… AND status = 'QUEUED'``): of several senders, in this
        process or another sharing the workspace, exactly one wins each operation."""
        return self.session.execute(_CLAIM, {
            "kinds": list(kinds), "now": now, "queued": OperationStatus.QUEUED,
            "sending": OperationStatus.SENDING, "lease_end": now + lease}).scalar()

    def claim_details(self, operation_id: str) -> sa.Row:
        """The operation with the ids its Stripe metadata needs, in one query."""
        return self.session.execute(_CLAIM_DETAILS, {"op_id": operation_id}).one()

    def with_status(self, *statuses: OperationStatus) -> list[StripeOperation]:
        S = StripeOperation
        query = sa.select(S).where(S.status.in_(statuses)).order_by(S.created_at, S.id)
        return list(self.session.scalars(query))

    def open_for_milestone(self, milestone_id: int,
                           kind: OperationKind) -> StripeOperation | None:
        S = StripeOperation
        query = (sa.select(S).where(S.milestone_id == milestone_id, S.kind == kind,
                                    S.status.in_([s for s in OperationStatus if s.open]))
                 .order_by(S.created_at.desc()))
        return self.session.scalars(query).first()

    def for_milestone(self, milestone_id: int) -> list[StripeOperation]:
        S = StripeOperation
        return list(self.session.scalars(sa.select(S).where(S.milestone_id == milestone_id)
                                         .order_by(S.created_at, S.id)))

    def get_or_none(self, operation_id: str) -> StripeOperation | None:
        return self.session.get(StripeOperation, operation_id)

    def by_stripe_object(self, object_id: str) -> StripeOperation | None:
        S = StripeOperation
        return self.session.scalars(sa.select(S).where(S.stripe_object_id == object_id)
                                    .limit(1)).first()

    def refunds_of(self, payment_intent_id: str) -> list[StripeOperation]:
        """Refund operations of one charge (any status)."""
        S = StripeOperation
        return list(self.session.scalars(sa.select(S).where(
            S.kind == OperationKind.REFUND, S.destination == payment_intent_id)))

    def earliest_due(self) -> datetime | None:
        S = StripeOperation
        return self.session.scalar(sa.select(sa.func.min(S.next_attempt_at)).where(
            S.status.in_([OperationStatus.QUEUED, OperationStatus.SENDING])))

    def count_pending(self) -> int:
        S = StripeOperation
        return self.session.scalar(sa.select(sa.func.count()).select_from(S).where(
            S.status.in_([OperationStatus.QUEUED, OperationStatus.SENDING]))) or 0

    def count_attention(self) -> int:
        S = StripeOperation
        return self.session.scalar(sa.select(sa.func.count()).select_from(S).where(
            S.status == OperationStatus.ATTENTION)) or 0


class EventRepository:
    """Stripe events applied to the books (each once, in the same transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def seen(self, event_id: str) -> bool:
        return self.session.scalar(sa.select(stripe_events.c.id).where(
            stripe_events.c.id == event_id)) is not None

    def record(self, event_id: str, event_type: str, created: int, at: datetime,
               outcome: str) -> None:
        self.session.execute(stripe_events.insert().values(
            id=event_id, type=event_type, created=created, applied_at=at, outcome=outcome))


class DisputeRepository:
    """Disputes (chargebacks) on funding charges, as plain rows."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, dispute_id: str) -> sa.Row | None:
        return self.session.execute(sa.select(disputes).where(
            disputes.c.id == dispute_id)).first()

    def save(self, dispute_id: str, **values) -> None:
        if self.get(dispute_id) is None:
            self.session.execute(disputes.insert().values(id=dispute_id, **values))
        else:
            values.pop("created_at", None)
            self.session.execute(disputes.update().where(disputes.c.id == dispute_id)
                                 .values(**values))

    def lost_intents(self) -> set[str]:
        """Charges whose dispute was lost (the money went back to the card)."""
        return set(self.session.scalars(sa.select(disputes.c.payment_intent_id).where(
            disputes.c.status == "lost")))

    def lost_for(self, payment_intent_id: str) -> list[sa.Row]:
        return list(self.session.execute(sa.select(disputes).where(
            disputes.c.payment_intent_id == payment_intent_id, disputes.c.status == "lost")))

    def open_for_milestones(self, milestone_ids: list[int]) -> list[sa.Row]:
        if not milestone_ids:
            return []
        return list(self.session.execute(sa.select(disputes).where(
            disputes.c.milestone_id.in_(milestone_ids), disputes.c.status.not_in(CLOSED))))


class SettingsRepository:
    """Non-secret workspace settings (ids, mode, company details)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, key: str, default: str | None = None) -> str | None:
        value = self.session.scalar(sa.select(workspace_settings.c.value).where(
            workspace_settings.c.key == key))
        return default if value is None else value

    def get_many(self, keys: tuple[str, ...]) -> dict[str, str]:
        """Several settings in one query (absent keys are left out)."""
        t = workspace_settings.c
        return dict(self.session.execute(sa.select(t.key, t.value).where(t.key.in_(keys))).all())

    def set(self, key: str, value: str) -> None:
        table = workspace_settings
        updated = self.session.execute(table.update().where(table.c.key == key).values(
            value=value)).rowcount
        if not updated:
            self.session.execute(table.insert().values(key=key, value=value))

    def delete(self, key: str) -> None:
        self.session.execute(workspace_settings.delete().where(workspace_settings.c.key == key))
