"""Read side of the mail outbox: every outgoing message, newest first, paged by keyset."""
from __future__ import annotations

import sqlalchemy as sa

from ..services.read_models.mail import MailCounts, OutgoingMailRow
from .orm import outgoing_messages, trainers

_STATUSES = {"all": None, "attention": ("failed", "unknown"),
             "queued": ("queued", "sending"), "sent": ("sent",)}


def _where(status: str) -> list:
    wanted = _STATUSES.get(status)
    return [] if wanted is None else [outgoing_messages.c.status.in_(wanted)]


class MailQueries:
    """Bound to ``self.engine`` (part of ``read_side.SqlReadSide``)."""

    engine: sa.Engine

    def outgoing_mail(self, status: str = "all", after: OutgoingMailRow | None = None,
                      limit: int = 200) -> list[OutgoingMailRow]:
        m, t = outgoing_messages.c, trainers.c
        query = (sa.select(m.id, m.at, m.trainer_id, t.name, sa.func.coalesce(
                    sa.func.nullif(m.to_address, ""), t.email), m.kind, m.subject, m.status,
                    m.last_error, m.sent_at, m.attempts, m.next_attempt_at)
                 .join(trainers, trainers.c.id == m.trainer_id)
                 .where(*_where(status)).order_by(m.id.desc()).limit(limit))
        if after is not None:
            query = query.where(m.id < after.id)
        with self.engine.connect() as conn:
            return [OutgoingMailRow(*row) for row in conn.execute(query)]

    def count_outgoing_mail(self, status: str = "all") -> int:
        query = sa.select(sa.func.count()).select_from(outgoing_messages).where(
            *_where(status))
        with self.engine.connect() as conn:
            return conn.scalar(query) or 0

    def mail_counts(self) -> MailCounts:
        c = outgoing_messages.c
        query = sa.select(c.status, sa.func.count()).where(
            c.status.in_(("queued", "sending", "failed", "unknown"))).group_by(c.status)
        with self.engine.connect() as conn:
            found = dict(conn.execute(query).all())
        return MailCounts(found.get("queued", 0) + found.get("sending", 0),
                          found.get("failed", 0), found.get("unknown", 0))

    def trainer_do_not_email(self, trainer_id: int) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.scalar(sa.select(trainers.c.do_not_email).where(
                trainers.c.id == trainer_id)))
