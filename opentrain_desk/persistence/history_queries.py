"""Read models for payment history, the notification center and messages owed to trainers.

Same style as ``queries.py``: rows from ``services.read_models``, one short connection per
call, SQL-side filtering and keyset paging. The functions take the engine first;
``HistoryQueries`` binds them for ``read_side.SqlReadSide``, which is what the UI sees.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from ..domain.milestones import PayoutStatus
from ..domain.operations import OperationKind, OperationStatus
from ..services.workspace_settings import PERSON_NAME_PREFIX
from ..services.read_models.history import (NEEDS_A_PERSON, HistoryTotals, NotificationRow,  # noqa: F401,E501
                                            PaymentHistoryRow, TrainerMessageRow,
                                            UnreadSummary)
from .orm import (contracts, jobs, members, milestones, notifications, outgoing_messages,
                  stripe_operations_read, trainers, workspace_settings)


# -- payment history --------------------------------------------------------------------------

def _transfer_id(kind: OperationKind = OperationKind.PAYOUT) -> sa.ScalarSelect:
    """The latest succeeded operation's Stripe object of ``kind`` (transfer, refund); blank
    for a team member whose role may not read Stripe ids (the read view)."""
    op = stripe_operations_read.c
    return (sa.select(op.stripe_object_id)
            .where(op.milestone_id == milestones.c.id, op.kind == kind,
                   op.status == OperationStatus.SUCCEEDED, op.stripe_object_id != "")
            .order_by(op.updated_at.desc()).limit(1).scalar_subquery())


_HISTORY_FROM = (milestones.join(contracts, contracts.c.id == milestones.c.contract_id)
                 .join(jobs, jobs.c.id == contracts.c.job_id)
                 .join(trainers, trainers.c.id == contracts.c.trainer_id))
_LAST_EVENT = sa.func.coalesce(milestones.c.approved_at, milestones.c.funded_at)
#: "Approved by": the member's name, else the name the person gave in Settings for their
#: login (before teams), else the login.
_PEOPLE = workspace_settings.alias("people")
_APPROVER = members.alias("approver")
_WITH_PEOPLE = _HISTORY_FROM.outerjoin(
    _PEOPLE, _PEOPLE.c.key == sa.literal(PERSON_NAME_PREFIX) + milestones.c.approved_by
).outerjoin(_APPROVER, _APPROVER.c.login == milestones.c.approved_by)
_APPROVED_BY = sa.func.coalesce(_APPROVER.c.name, _PEOPLE.c.value, milestones.c.approved_by)


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


def payment_history(engine: sa.Engine, *, contract_id: int | None = None,
                    after: PaymentHistoryRow | None = None, limit: int = 200,
                    date_from: date | datetime | None = None,
                    date_to: date | datetime | None = None, trainer_text: str = "",
                    job_text: str = "",
                    payout_status: PayoutStatus | Iterable[PayoutStatus] | None = None,
                    ) -> list[PaymentHistoryRow]:
    """Funded and approved milestones, newest (approval, else funding) first.

    One contract when ``contract_id`` is given, every contract otherwise. Filters:
    ``date_from``/``date_to`` (inclusive; a row matches when it was funded or approved in
    the range), ``trainer_text`` (name or email contains), ``job_text`` (job title
    contains), ``payout_status`` (one status or several). Paged by keyset: the rows after
    the row ``after`` in this order, so rows added meanwhile never show twice."""
    m = milestones.c
    where = _history_where(contract_id, date_from, date_to, trainer_text, job_text,
                           payout_status)
    if after is not None:  # (last event, id) < (after's), both descending
        last = after.last_event_at
        where.append(sa.or_(_LAST_EVENT < last,
                            sa.and_(_LAST_EVENT == last, m.id < after.milestone_id)))
    query = (sa.select(m.id, m.contract_id, contracts.c.job_id, contracts.c.trainer_id,
                       m.title, jobs.c.title, trainers.c.name, m.amount_cents, m.funded_at,
                       m.approved_at, _APPROVED_BY, m.status, m.payout_status,
                       m.payment_intent_id, m.charge_id, _transfer_id(),
                       _transfer_id(OperationKind.REFUND))
             .select_from(_WITH_PEOPLE).where(*where)
             .order_by(_LAST_EVENT.desc(), m.id.desc()).limit(limit))
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

_NOTIFICATION_COLUMNS = (notifications.c.id, notifications.c.at, notifications.c.kind,
                         notifications.c.title, notifications.c.body, notifications.c.job_id,
                         notifications.c.contract_id, notifications.c.milestone_id,
                         notifications.c.read_at)


def notifications_page(engine: sa.Engine, after: NotificationRow | None = None,
                       limit: int = 200) -> list[NotificationRow]:
    """Newest first; the page after the row ``after`` (keyset)."""
    query = sa.select(*_NOTIFICATION_COLUMNS).order_by(notifications.c.id.desc()).limit(limit)
    if after is not None:
        query = query.where(notifications.c.id < after.id)
    with engine.connect() as conn:
        return [NotificationRow(*row) for row in conn.execute(query)]


def count_notifications(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(notifications)) or 0


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

def trainer_messages(engine: sa.Engine, trainer_id: int) -> list[TrainerMessageRow]:
    """Every message logged for one trainer, newest first."""
    c = outgoing_messages.c
    query = (sa.select(c.id, c.trainer_id, c.at, c.kind, c.subject, c.body, c.link, c.sent_at,
                       c.status, c.last_error)
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


class HistoryQueries:
    """The functions above bound to one engine (part of ``read_side.SqlReadSide``)."""

    engine: sa.Engine

    def payment_history(self, **filters) -> list[PaymentHistoryRow]:
        return payment_history(self.engine, **filters)

    def count_payment_history(self, **filters) -> int:
        return count_payment_history(self.engine, **filters)

    def payment_history_totals(self, **filters) -> HistoryTotals:
        return payment_history_totals(self.engine, **filters)

    def notifications_page(self, after: NotificationRow | None = None,
                           limit: int = 200) -> list[NotificationRow]:
        return notifications_page(self.engine, after, limit)

    def count_notifications(self) -> int:
        return count_notifications(self.engine)

    def unread_count(self, kinds: tuple[str, ...] | None = None) -> int:
        return unread_count(self.engine, kinds)

    def latest_notification_id(self) -> int:
        return latest_notification_id(self.engine)

    def unread_after(self, after_id: int, limit: int = 20) -> list[NotificationRow]:
        return unread_after(self.engine, after_id, limit)

    def unread_summary(self, after_id: int | None = None) -> UnreadSummary:
        """Counts for the badge, and the unread notifications newer than ``after_id``
        (none when ``after_id`` is None: the first look raises no alerts)."""
        fresh = unread_after(self.engine, after_id) if after_id is not None else []
        return UnreadSummary(unread_count(self.engine),
                             unread_count(self.engine, NEEDS_A_PERSON),
                             latest_notification_id(self.engine), tuple(fresh))

    def trainer_messages(self, trainer_id: int) -> list[TrainerMessageRow]:
        return trainer_messages(self.engine, trainer_id)

    def unsent_message_count(self, trainer_id: int | None = None) -> int:
        return unsent_message_count(self.engine, trainer_id)
