"""Repositories over plain-row tables (no mapped domain class): invoices, notifications,
messages to trainers, the subscription mirror. Like the others they share the unit of
work's session, read and write, and never commit."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..domain.errors import NotFound
from .orm import invoice_counters, invoices, notifications, outgoing_messages, subscriptions


class InvoiceRepository:
    """Issued invoices (immutable snapshots, except their payment status) and the
    gapless per-series counters."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def next_seq(self, series: str) -> int:
        """Reserve the next number of ``series`` (row-locked / write-locked until commit:
        concurrent issuers queue up, and a rolled-back issue releases its number)."""
        seq = self.session.execute(_NEXT_SEQ, {"b_series": series}).scalar()
        if seq is None:  # first invoice of the series: create the counter race-free
            dialect = self.session.get_bind().dialect.name
            self.session.execute(_create_counter(dialect), {"series": series, "last_seq": 0})
            seq = self.session.execute(_NEXT_SEQ, {"b_series": series}).scalar_one()
        return seq

    def add(self, **values) -> None:
        self.session.execute(_INSERT_INVOICE, values)

    def get(self, invoice_id: int) -> sa.Row:
        row = self.session.execute(sa.select(invoices).where(invoices.c.id == invoice_id)).first()
        if row is None:
            raise NotFound(f"That invoice no longer exists (id {invoice_id}).")
        return row

    def latest_for_milestone(self, milestone_id: int, kind_prefix: str) -> sa.Row | None:
        """``(number, amount_cents, bill_to, project_name)`` of the milestone's newest
        invoice of one kind."""
        t = invoices.c
        return self.session.execute(
            sa.select(t.number, t.amount_cents, t.bill_to, t.project_name)
            .where(t.milestone_id == milestone_id, t.kind == kind_prefix)
            .order_by(t.id.desc()).limit(1)).first()

    def set_payment_status(self, milestone_id: int, kind_prefix: str, status: str) -> None:
        """On the milestone's newest invoice of that kind."""
        t = invoices.c
        newest = (sa.select(sa.func.max(t.id))
                  .where(t.milestone_id == milestone_id, t.kind == kind_prefix)
                  .scalar_subquery())
        self.session.execute(invoices.update().where(t.id == newest)
                             .values(payment_status=status))

    def has_external_ref(self, external_ref: str) -> bool:
        return self.session.execute(sa.select(invoices.c.id).where(
            invoices.c.external_ref == external_ref).limit(1)).first() is not None

    def for_milestone(self, milestone_id: int) -> list[sa.Row]:
        """``(number, issue_date, amount_cents, stripe_refs)``, oldest first."""
        c = invoices.c
        return list(self.session.execute(
            sa.select(c.number, c.issue_date, c.amount_cents, c.stripe_refs)
            .where(c.milestone_id == milestone_id).order_by(c.id)))


def _create_counter(dialect: str) -> sa.Insert:
    """``INSERT … ON CONFLICT DO NOTHING``: of two transactions issuing a series' first
    invoice at once, one creates the row and the other waits for it, then both take the
    next number with ``UPDATE … RETURNING`` (no UniqueViolation)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(invoice_counters).on_conflict_do_nothing(index_elements=["series"])


# Built once (issued on the payment worker's hot path): compiled once, reused.
_NEXT_SEQ = (invoice_counters.update()
             .where(invoice_counters.c.series == sa.bindparam("b_series"))
             .values(last_seq=invoice_counters.c.last_seq + 1)
             .returning(invoice_counters.c.last_seq))
_INSERT_INVOICE = invoices.insert()


class NotificationRepository:
    """The employer's in-app notifications."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, **values) -> None:
        self.session.execute(notifications.insert().values(**values))

    def resolve(self, milestone_id: int, kinds: tuple[str, ...], at: datetime) -> None:
        """The milestone's unread notifications of these kinds become read."""
        c = notifications.c
        self.session.execute(notifications.update().where(
            c.milestone_id == milestone_id, c.kind.in_(kinds), c.read_at.is_(None)
        ).values(read_at=at))

    def mark_read(self, notification_ids: list[int] | None, at: datetime) -> None:
        """Some (or, with None, all) unread notifications become read."""
        query = notifications.update().where(notifications.c.read_at.is_(None))
        if notification_ids is not None:
            query = query.where(notifications.c.id.in_(notification_ids))
        self.session.execute(query.values(read_at=at))


class MessageRepository:
    """The log of messages owed (and sent) to trainers."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, **values) -> None:
        self.session.execute(outgoing_messages.insert().values(**values))

    def rename_unsent(self, trainer_id: int, kind: str, new_kind: str) -> None:
        c = outgoing_messages.c
        self.session.execute(outgoing_messages.update().where(
            c.trainer_id == trainer_id, c.kind == kind, c.sent_at.is_(None)
        ).values(kind=new_kind))

    def count_since(self, trainer_id: int, kinds: tuple[str, ...], since: datetime) -> int:
        c = outgoing_messages.c
        return self.session.execute(sa.select(sa.func.count()).select_from(outgoing_messages)
                                    .where(c.trainer_id == trainer_id, c.kind.in_(kinds),
                                           c.at >= since)).scalar() or 0

    def mark_sent(self, message_id: int, at: datetime) -> None:
        self.session.execute(outgoing_messages.update().where(
            outgoing_messages.c.id == message_id).values(sent_at=at))

    def subjects_for(self, trainer_id: int) -> list[sa.Row]:
        """``(at, subject)`` of every message to the trainer, oldest first."""
        c = outgoing_messages.c
        return list(self.session.execute(sa.select(c.at, c.subject)
                                         .where(c.trainer_id == trainer_id).order_by(c.id)))


class SubscriptionRepository:
    """The mirror of the workspace's Stripe subscription (newest row is current)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self) -> sa.Row | None:
        return self.session.execute(sa.select(subscriptions).order_by(
            subscriptions.c.id.desc()).limit(1)).first()

    def add(self, **values) -> None:
        self.session.execute(subscriptions.insert().values(**values))

    def update(self, subscription_id: int, **values) -> None:
        self.session.execute(subscriptions.update().where(
            subscriptions.c.id == subscription_id).values(**values))
