"""Read models for payment history, the notification center and messages owed to trainers.

Same style as ``queries.py``: plain frozen rows, one short connection per call, SQL-side
filtering and paging. Every function takes the engine first so the UI can ``partial`` it
onto its background runner.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from ..domain.milestones import MilestoneStatus, PayoutStatus
from ..domain.operations import OperationKind, OperationStatus
from .orm import (contracts, jobs, milestones, notifications, outgoing_messages,
                  stripe_operations, trainers, workspace_settings)


# -- payment history --------------------------------------------------------------------------

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


def _transfer_id(kind: OperationKind = OperationKind.PAYOUT) -> sa.ScalarSelect:
    """The latest succeeded operation's Stripe object of ``kind`` (transfer, refund)."""
    op = stripe_operations.c
    return (sa.select(op.stripe_object_id)
            .where(op.milestone_id == milestones.c.id, op.kind == kind,
                   op.status == OperationStatus.SUCCEEDED, op.stripe_object_id != "")
            .order_by(op.updated_at.desc()).limit(1).scalar_subquery())


_HISTORY_FROM = (milestones.join(contracts, contracts.c.id == milestones.c.contract_id)
                 .join(jobs, jobs.c.id == contracts.c.job_id)
                 .join(trainers, trainers.c.id == contracts.c.trainer_id))
_LAST_EVENT = sa.func.coalesce(milestones.c.approved_at, milestones.c.funded_at)
#: "Approved by": the name the person gave in Settings for their login, else the login.
_PEOPLE = workspace_settings.alias("people")
_WITH_PEOPLE = _HISTORY_FROM.outerjoin(
    _PEOPLE, _PEOPLE.c.key == sa.literal("person_name:") + milestones.c.approved_by)
_APPROVED_BY = sa.func.coalesce(_PEOPLE.c.value, milestones.c.approved_by)


def _day_start(value: date | datetime) -> datetime:
    """Local midnight of a date (aware); datetimes are taken as given (naive = local)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.astimezone()
    return datetime.combine(value, time.min).astimezone()


def _history_where(contract_id: int | None, date_from: date | datetime | None,
                   date_to: date | datetime | None, trainer_text: str, job_text: str,
                   payout_status: PayoutStatus | Iterable[PayoutStatus] | None) -> list:
    m = milestones.c
    where = [sa.or_(m.funded_at.is_not(None), m.approved_at.is_not(None))]
    if contract_id is not None:
        where.append(m.contract_id == contract_id)
    if date_from is not None or date_to is not None:
        where.append(sa.or_(*(_in_range(column, date_from, date_to)
                              for column in (m.funded_at, m.approved_at))))
    if trainer_text.strip():
        pattern = _contains(trainer_text)
        where.append(sa.or_(trainers.c.name.ilike(pattern, escape="\\"),
                            trainers.c.email.ilike(pattern, escape="\\")))
    if job_text.strip():
        where.append(jobs.c.title.ilike(_contains(job_text), escape="\\"))
    if payout_status is not None:
        wanted = ([payout_status] if isinstance(payout_status, PayoutStatus)
                  else list(payout_status))
        where.append(m.payout_status.in_(wanted))
    return where


def _in_range(column, date_from, date_to):
    """``date_to`` is inclusive: a date means the whole (local) day."""
    parts = [column.is_not(None)]
    if date_from is not None:
        parts.append(column >= _day_start(date_from))
    if date_to is not None:
        if isinstance(date_to, datetime):
            parts.append(column <= _day_start(date_to))
        else:
            parts.append(column < _day_start(date_to + timedelta(days=1)))
    return sa.and_(*parts)


def payment_history(engine: sa.Engine, *, contract_id: int | None = None, offset: int = 0,
                    limit: int = 200, date_from: date | datetime | None = None,
                    date_to: date | datetime | None = None, trainer_text: str = "",
                    job_text: str = "",
                    payout_status: PayoutStatus | Iterable[PayoutStatus] | None = None,
                    ) -> list[PaymentHistoryRow]:
    """Funded and approved milestones, newest (approval, else funding) first.

    One contract when ``contract_id`` is given, every contract otherwise. Filters:
    ``date_from``/``date_to`` (inclusive; a row matches when it was funded or approved in
    the range), ``trainer_text`` (name or email contains), ``job_text`` (job title
    contains), ``payout_status`` (one status or several)."""
    m = milestones.c
    query = (sa.select(m.id, m.contract_id, contracts.c.job_id, contracts.c.trainer_id,
                       m.title, jobs.c.title, trainers.c.name, m.amount_cents, m.funded_at,
                       m.approved_at, _APPROVED_BY, m.status, m.payout_status,
                       m.payment_intent_id, m.charge_id, _transfer_id(),
                       _transfer_id(OperationKind.REFUND))
             .select_from(_WITH_PEOPLE)
             .where(*_history_where(contract_id, date_from, date_to, trainer_text, job_text,
                                    payout_status))
             .order_by(_LAST_EVENT.desc(), m.id.desc()).offset(offset).limit(limit))
    with engine.connect() as conn:
        return [PaymentHistoryRow(*row) for row in conn.execute(query)]


def count_payment_history(engine: sa.Engine, *, contract_id: int | None = None,
                          date_from: date | datetime | None = None,
                          date_to: date | datetime | None = None, trainer_text: str = "",
                          job_text: str = "",
                          payout_status: PayoutStatus | Iterable[PayoutStatus] | None = None,
                          ) -> int:
    return payment_history_totals(
        engine, contract_id=contract_id, date_from=date_from, date_to=date_to,
        trainer_text=trainer_text, job_text=job_text, payout_status=payout_status).count


def payment_history_totals(engine: sa.Engine, *, contract_id: int | None = None,
                           date_from: date | datetime | None = None,
                           date_to: date | datetime | None = None, trainer_text: str = "",
                           job_text: str = "",
                           payout_status: PayoutStatus | Iterable[PayoutStatus] | None = None,
                           ) -> HistoryTotals:
    """How many rows ``payment_history`` has with the same filters, and their sum."""
    query = (sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(
                milestones.c.amount_cents), 0))
             .select_from(_HISTORY_FROM)
             .where(*_history_where(contract_id, date_from, date_to, trainer_text, job_text,
                                    payout_status)))
    with engine.connect() as conn:
        count, total = conn.execute(query).one()
    return HistoryTotals(int(count or 0), int(total or 0))


# -- notifications ----------------------------------------------------------------------------

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


_NOTIFICATION_COLUMNS = (notifications.c.id, notifications.c.at, notifications.c.kind,
                         notifications.c.title, notifications.c.body, notifications.c.job_id,
                         notifications.c.contract_id, notifications.c.milestone_id,
                         notifications.c.read_at)


def notifications_page(engine: sa.Engine, offset: int = 0,
                       limit: int = 200) -> list[NotificationRow]:
    """Newest first."""
    query = (sa.select(*_NOTIFICATION_COLUMNS).order_by(notifications.c.id.desc())
             .offset(offset).limit(limit))
    with engine.connect() as conn:
        return [NotificationRow(*row) for row in conn.execute(query)]


def count_notifications(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(notifications)) or 0


#: Notifications that wait for a person (review, a declined card, a failed payout); the
#: others (paid out, …) are news. The badge counts only these.
NEEDS_A_PERSON = ("submitted", "funding failed", "payout failed", "disputed", "refund failed",
                  "payout reversed", "dispute lost")


def unread_count(engine: sa.Engine, kinds: tuple[str, ...] | None = None) -> int:
    query = (sa.select(sa.func.count()).select_from(notifications)
             .where(notifications.c.read_at.is_(None)))
    if kinds is not None:
        query = query.where(notifications.c.kind.in_(kinds))
    with engine.connect() as conn:
        return conn.scalar(query) or 0


def latest_notification_id(engine: sa.Engine) -> int:
    """The newest notification's id (0 when there is none)."""
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.max(notifications.c.id))) or 0


def unread_after(engine: sa.Engine, after_id: int, limit: int = 20) -> list[NotificationRow]:
    """Unread notifications newer than ``after_id``, newest first (for desktop alerts)."""
    query = (sa.select(*_NOTIFICATION_COLUMNS)
             .where(notifications.c.id > after_id, notifications.c.read_at.is_(None))
             .order_by(notifications.c.id.desc()).limit(limit))
    with engine.connect() as conn:
        return [NotificationRow(*row) for row in conn.execute(query)]


# -- messages owed to trainers ------------------------------------------------------------------

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

    @property
    def sent(self) -> bool:
        return self.sent_at is not None

    @property
    def withdrawn(self) -> bool:
        """A prompt that no longer applies (the trainer already did it): not to be sent."""
        return self.kind.endswith(" (withdrawn)")

    @property
    def owed(self) -> bool:
        return not self.sent and not self.withdrawn


def trainer_messages(engine: sa.Engine, trainer_id: int) -> list[TrainerMessageRow]:
    """Every message logged for one trainer, newest first."""
    c = outgoing_messages.c
    query = (sa.select(c.id, c.trainer_id, c.at, c.kind, c.subject, c.body, c.link, c.sent_at)
             .where(c.trainer_id == trainer_id).order_by(c.id.desc()))
    with engine.connect() as conn:
        return [TrainerMessageRow(*row) for row in conn.execute(query)]


def unsent_message_count(engine: sa.Engine, trainer_id: int | None = None) -> int:
    """Messages not yet marked sent, for one trainer or all."""
    c = outgoing_messages.c
    query = sa.select(sa.func.count()).select_from(outgoing_messages).where(
        c.sent_at.is_(None), c.kind.not_like("% (withdrawn)"))
    if trainer_id is not None:
        query = query.where(c.trainer_id == trainer_id)
    with engine.connect() as conn:
        return conn.scalar(query) or 0


def _contains(text: str) -> str:
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
