"""In-app notifications for the employer, and the log of messages owed to trainers.

Both are written in the same transaction as the event they describe."""
from __future__ import annotations

import json

from ..domain.money import format_cents
from .mail import DO_NOT_EMAIL, read_config
from .unit_of_work import UnitOfWork
from ..domain.roles import Capability
from .team import require


def notify(uow: UnitOfWork, kind: str, title: str, body: str = "", *, job_id=None,
           contract_id=None, milestone_id=None) -> None:
    uow.notifications.add(at=uow.now, kind=kind, title=title[:300], body=body, job_id=job_id,
                          contract_id=contract_id, milestone_id=milestone_id)


def resolve(uow: UnitOfWork, milestone_id: int, kinds: tuple[str, ...] = ("submitted",)
            ) -> None:
    """The milestone's open requests (e.g. "review and approve") were dealt with: done."""
    uow.notifications.resolve(milestone_id, kinds, uow.now)


def notify_funding_failed(uow: UnitOfWork, milestone, reason: str) -> None:
    """A declined card (or any refused charge) is news for the employer at once."""
    labels = uow.contracts.labels(milestone.contract_id)
    notify(uow, "funding failed", f"Funding of {format_cents(milestone.amount_cents)} for "
           f"“{milestone.title}” failed", reason, job_id=labels.job_id,
           contract_id=milestone.contract_id, milestone_id=milestone.id)


def message_trainer(uow: UnitOfWork, trainer_id: int, kind: str, subject: str, body: str,
                    link: str = "", *, event: str | None = None, **fields) -> None:
    """Log a message owed to the trainer, in the event's transaction. With e-mail set up
    it is queued for the mail outbox (``services/mail.py``), else a draft for the
    mail-client way; ``event`` (e.g. ``payout:<operation>:sent``) makes it one message
    per event however often the event is applied; ``fields`` feed the mail templates."""
    trainer = uow.trainers.get(trainer_id)
    status, reason = ("withheld", DO_NOT_EMAIL) if trainer.do_not_email else (
        "queued" if read_config(uow).configured else "draft", "")
    data = {"trainer_name": trainer.name, "trainer_email": trainer.email,
            **{name: str(value) for name, value in fields.items()}}
    uow.messages.add(trainer_id=trainer_id, at=uow.now, kind=kind, subject=subject[:300],
                     body=body, link=link, status=status, last_error=reason,
                     to_address=trainer.email, event_key=event,
                     data=json.dumps(data, ensure_ascii=False))


WITHDRAWN = " (withdrawn)"  # appended to the kind of a prompt that no longer applies


def withdraw_unsent(uow: UnitOfWork, trainer_id: int, kinds: tuple[str, ...]) -> None:
    """Prompts not sent yet that no longer apply (e.g. "finish your payout setup" once the
    setup is done) stay in the log, marked withdrawn, and are no longer offered to send."""
    for kind in kinds:
        uow.messages.rename_unsent(trainer_id, kind, kind + WITHDRAWN)


def was_prompted_since(uow: UnitOfWork, trainer_id: int, kind: str, since) -> bool:
    """Whether the trainer was sent (or owed) a ``kind`` message at or after ``since``."""
    return bool(uow.messages.count_since(trainer_id, (kind, kind + WITHDRAWN), since))


def mark_read(uow: UnitOfWork, notification_ids: list[int] | None = None) -> None:
    """Mark some (or all) notifications read."""
    with uow:
        require(uow, Capability.READ)
        uow.notifications.mark_read(notification_ids, uow.now)
        uow.commit()


def mark_sent(uow: UnitOfWork, message_id: int) -> None:
    """Sent by hand (the mail-client way)."""
    with uow:
        require(uow, Capability.MESSAGES)
        uow.messages.mark_sent(message_id, uow.now)
        uow.audit("message", message_id, "marked sent")
        uow.commit()
