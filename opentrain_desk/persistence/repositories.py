"""Repositories over one SQLAlchemy session. They load and add; they never commit."""
from __future__ import annotations

from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..domain.errors import NotFound
from ..domain.jobs import AuditEntry, Contract, Job, Trainer
from ..domain.milestones import Milestone

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


class MilestoneRepository(Repository[Milestone]):
    model, label = Milestone, "milestone"

    def for_job(self, job_id: int) -> list[Milestone]:
        query = (sa.select(Milestone).join(Contract, Contract.id == Milestone.contract_id)
                 .where(Contract.job_id == job_id).order_by(Milestone.id))
        return list(self.session.scalars(query))

    def next_position(self, contract_id: int) -> int:
        query = sa.select(sa.func.max(Milestone.position)).where(
            Milestone.contract_id == contract_id)
        return (self.session.scalar(query) or 0) + 1


class AuditRepository(Repository[AuditEntry]):
    model, label = AuditEntry, "audit entry"

    def for_entity(self, entity: str, entity_id: int) -> list[AuditEntry]:
        query = (sa.select(AuditEntry).filter_by(entity=entity, entity_id=entity_id)
                 .order_by(AuditEntry.id))
        return list(self.session.scalars(query))
