"""Shared helpers for the mail tests: a workspace with trainers, the mail link, a worker."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from opentrain_desk.mail.link import MailConnection
from opentrain_desk.mail.outbox import MailWorker
from opentrain_desk.persistence.orm import outgoing_messages
from opentrain_desk.secrets import KeyringSecretStore
from opentrain_desk.services import mail as mail_service
from opentrain_desk.services.mail import MailConfig
from opentrain_desk.services.notifications import message_trainer


def configure(factory, server, security="none", user="", password=None, timeout=5.0):
    link = MailConnection(factory, KeyringSecretStore(), timeout=timeout)
    link.save(MailConfig(server.host if hasattr(server, "host") else "127.0.0.1",
                         server.port, security, user, "Acme Agency", "payouts@acme.test"),
              password)
    return link


def worker(factory, link, **kw):
    kw.setdefault("lease", timedelta(0))
    return MailWorker(factory, link, **kw)


def add_trainer(factory, name="Ana Lima", email="ana@example.com") -> int:
    from opentrain_desk.domain.jobs import Trainer
    from opentrain_desk.services.unit_of_work import utcnow
    with factory() as uow:
        trainer = Trainer(name=name, email=email, created_at=utcnow())
        uow.trainers.add(trainer)
        uow.flush()
        trainer_id = trainer.id
        uow.commit()
    return trainer_id


def owe(factory, trainer_id, kind="payment sent", event=None, **fields):
    with factory() as uow:
        message_trainer(uow, trainer_id, kind, f"Subject of {kind}",
                        f"Hi Ana,\n\nBody of {kind}.", "https://example.com/link"
                        if kind in ("setup needed", "onboarding link") else "",
                        event=event, **fields)
        uow.commit()


def rows(factory):
    with factory.engine.connect() as conn:
        return conn.execute(sa.select(outgoing_messages).order_by(outgoing_messages.c.id)).all()


def force_due(factory):
    """Make every queued message due now (instead of waiting for its backoff)."""
    with factory.engine.begin() as conn:
        conn.execute(outgoing_messages.update().where(outgoing_messages.c.status == "queued")
                     .values(next_attempt_at=None))


__all__ = ["mail_service"]
