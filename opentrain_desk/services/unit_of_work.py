"""Unit of work: one transaction per user action; leaving without commit rolls back.

This module is the services' one seam to the persistence adapter: it opens the session,
hands out the repositories (``uow.jobs``, ``uow.invoices``, ``uow.notifications`` …) and
translates the store's own exceptions into the services' (a lost optimistic
compare-and-set → ``ConcurrentChange``, a broken constraint → ``WriteConflict``). No other
service module imports ``persistence`` or ``sqlalchemy`` (tests/unit/test_layering.py).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from ..domain.errors import ConcurrentChange
from ..domain.jobs import AuditEntry
from ..persistence import members, outgoing_mail, records, versioning
from ..persistence import repositories as repos
from ..persistence.orm import start_mappers


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class WriteConflict(Exception):
    """A write broke a constraint of the store, typically a unique key another
    transaction took first (e.g. the same Stripe event recorded by two workers)."""


class UnitOfWork:
    """Repositories sharing one session; ``audit()`` records in the same transaction."""

    def __init__(self, session_factory: Callable[[], Session], actor: str,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._session_factory = session_factory
        self.actor = actor
        self.clock = clock

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        versioning.stamp_writes(self.session, self.actor, self.clock)
        self.jobs = repos.JobRepository(self.session)
        self.trainers = repos.TrainerRepository(self.session)
        self.contracts = repos.ContractRepository(self.session)
        self.milestones = repos.MilestoneRepository(self.session)
        self.audit_log = repos.AuditRepository(self.session)
        self.operations = repos.OperationRepository(self.session)
        self.settings = repos.SettingsRepository(self.session)
        self.events = repos.EventRepository(self.session)
        self.disputes = repos.DisputeRepository(self.session)
        self.invoices = records.InvoiceRepository(self.session)
        self.notifications = records.NotificationRepository(self.session)
        self.messages = outgoing_mail.OutgoingMailRepository(self.session)
        self.subscriptions = records.SubscriptionRepository(self.session)
        self.members = members.MemberRepository(self.session)
        self.now = self.clock()
        return self

    def __exit__(self, exc_type, exc, _tb) -> None:
        lost = (versioning.pending_versioned(self.session)
                if isinstance(exc, StaleDataError) else [])
        # close() rolls back anything uncommitted; loaded objects stay readable.
        self.session.close()
        if isinstance(exc, StaleDataError):  # a compare-and-set lost (optimistic version)
            raise self._lost_to(lost) from exc
        if isinstance(exc, IntegrityError):
            raise WriteConflict(str(exc.orig)) from exc

    def _lost_to(self, objs: list) -> ConcurrentChange:
        """Who won: the first job or milestone this unit was writing, as it is now."""
        from .conflicts import changed_by, describe
        for obj in objs:
            try:
                row = versioning.latest(self.session.get_bind(), obj)
                if row is None:
                    continue
                with UnitOfWork(self._session_factory, self.actor, self.clock) as fresh:
                    return changed_by(fresh, row.updated_by, row.updated_at, describe(row),
                                      row.version)
            except Exception:  # noqa: BLE001 - the plain message is still true
                break
        return ConcurrentChange()

    def commit(self) -> None:
        self.session.commit()

    def flush(self) -> None:
        """Send pending changes now (e.g. detach rows before deleting what they point at)."""
        self.session.flush()

    def audit(self, entity: str, entity_id: int | None, action: str,
              before: dict | None = None, after: dict | None = None) -> None:
        self.session.add(AuditEntry(
            at=self.now, actor=self.actor, entity=entity, entity_id=entity_id, action=action,
            before=_json(before), after=_json(after)))


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


class UnitOfWorkFactory:
    """Makes a fresh unit of work per action, all on one engine."""

    def __init__(self, engine: Engine, actor: str,
                 clock: Callable[[], datetime] = utcnow) -> None:
        start_mappers()
        self.engine = engine
        self.actor = actor
        self.clock = clock
        self.session_factory = sessionmaker(engine, expire_on_commit=False)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.actor, self.clock)
