"""In-app notifications for the employer, and the log of messages owed to trainers.

Both are written in the same transaction as the event they describe."""
from __future__ import annotations

import sqlalchemy as sa

from ..persistence.orm import notifications, outgoing_messages
from .unit_of_work import UnitOfWork


def notify(uow: UnitOfWork, kind: str, title: str, body: str = "", *, job_id=None,
           contract_id=None, milestone_id=None) -> None:
    uow.session.execute(notifications.insert().values(
        at=uow.now, kind=kind, title=title[:300], body=body, job_id=job_id,
        contract_id=contract_id, milestone_id=milestone_id))


def resolve(uow: UnitOfWork, milestone_id: int, kinds: tuple[str, ...] = ("submitted",)
            ) -> None:
    """The milestone's open requests (e.g. "review and approve") were dealt with: done."""
    uow.session.execute(notifications.update().where(
        notifications.c.milestone_id == milestone_id, notifications.c.kind.in_(kinds),
        notifications.c.read_at.is_(None)).values(read_at=uow.now))


def notify_funding_failed(uow: UnitOfWork, milestone, reason: str) -> None:
    """A declined card (or any refused charge) is news for the employer at once."""
    from ..domain.money import format_cents
    labels = uow.contracts.labels(milestone.contract_id)
    notify(uow, "funding failed", f"Funding of {format_cents(milestone.amount_cents)} for "
           f"“{milestone.title}” failed", reason, job_id=labels.job_id,
           contract_id=milestone.contract_id, milestone_id=milestone.id)


def message_trainer(uow: UnitOfWork, trainer_id: int, kind: str, subject: str, body: str,
                    link: str = "") -> None:
    uow.session.execute(outgoing_messages.insert().values(
        trainer_id=trainer_id, at=uow.now, kind=kind, subject=subject[:300], body=body,
        link=link))


WITHDRAWN = " (withdrawn)"  # appended to the kind of a prompt that no longer applies


def withdraw_unsent(uow: UnitOfWork, trainer_id: int, kinds: tuple[str, ...]) -> None:
    """Prompts not sent yet that no longer apply (e.g. "finish your payout setup" once the
    setup is done) stay in the log, marked withdrawn, and are no longer offered to send."""
    c = outgoing_messages.c
    for kind in kinds:
        uow.session.execute(outgoing_messages.update().where(
            c.trainer_id == trainer_id, c.kind == kind, c.sent_at.is_(None)
        ).values(kind=kind + WITHDRAWN))


def was_prompted_since(uow: UnitOfWork, trainer_id: int, kind: str, since) -> bool:
    """Whether the trainer was sent (or owed) a ``kind`` message at or after ``since``."""
    c = outgoing_messages.c
    query = sa.select(sa.func.count()).select_from(outgoing_messages).where(
        c.trainer_id == trainer_id, c.kind.in_((kind, kind + WITHDRAWN)), c.at >= since)
    return bool(uow.session.execute(query).scalar())


def mark_read(uow: UnitOfWork, notification_ids: list[int] | None = None) -> None:
    """Mark some (or all) notifications read."""
    with uow:
        query = notifications.update().where(notifications.c.read_at.is_(None))
        if notification_ids is not None:
            query = query.where(notifications.c.id.in_(notification_ids))
        uow.session.execute(query.values(read_at=uow.now))
        uow.commit()


def mark_sent(uow: UnitOfWork, message_id: int) -> None:
    with uow:
        uow.session.execute(outgoing_messages.update().where(
            outgoing_messages.c.id == message_id).values(sent_at=uow.now))
        uow.audit("message", message_id, "marked sent")
        uow.commit()
