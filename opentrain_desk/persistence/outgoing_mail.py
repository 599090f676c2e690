"""The mail outbox's side of ``outgoing_messages``: claims and outcomes as compare-and-set
updates (``WHERE status = <the state it was read in>``), so two workers, or a worker and a
person clicking Re-send, never both act on one message."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from .orm import outgoing_messages, trainers
from .records import MessageRepository

UNSENT = ("draft", "queued", "failed", "withheld")


class OutgoingMailRepository(MessageRepository):
    """Messages owed to trainers, and their journey through the mail outbox."""

    def add(self, **values) -> int | None:
        """Insert one message; with an ``event_key`` already used, nothing (returns None):
        one message per event, however often the event is applied."""
        key = values.get("event_key")
        if key and self.session.execute(sa.select(outgoing_messages.c.id).where(
                outgoing_messages.c.event_key == key)).first():
            return None
        result = self.session.execute(outgoing_messages.insert().values(**values))
        return result.inserted_primary_key[0]

    def rename_unsent(self, trainer_id: int, kind: str, new_kind: str) -> None:
        c = outgoing_messages.c
        self.session.execute(outgoing_messages.update().where(
            c.trainer_id == trainer_id, c.kind == kind, c.sent_at.is_(None),
            c.status.in_(UNSENT)).values(kind=new_kind, status="withdrawn"))

    def mark_sent(self, message_id: int, at: datetime) -> None:
        """Sent by hand (the mail-client way)."""
        c = outgoing_messages.c
        self.session.execute(outgoing_messages.update().where(
            c.id == message_id, c.status != "sending").values(sent_at=at, status="sent",
                                                               last_error=""))

    def get(self, message_id: int) -> sa.Row | None:
        return self.session.execute(sa.select(outgoing_messages).where(
            outgoing_messages.c.id == message_id)).first()

    def due(self, now: datetime, limit: int = 20) -> list[int]:
        c = outgoing_messages.c
        return list(self.session.execute(
            sa.select(c.id).where(c.status == "queued", sa.or_(
                c.next_attempt_at.is_(None), c.next_attempt_at <= now))
            .order_by(c.id).limit(limit)).scalars())

    def next_due_at(self) -> datetime | None:
        c = outgoing_messages.c
        return self.session.execute(sa.select(sa.func.min(c.next_attempt_at)).where(
            c.status == "queued")).scalar()

    def count_status(self, status: str) -> int:
        return self.session.execute(sa.select(sa.func.count()).select_from(
            outgoing_messages).where(outgoing_messages.c.status == status)).scalar() or 0

    def set_status(self, row_id: int, expected: tuple[str, ...], /, **values) -> bool:
        """Compare-and-set: change the row only if its status is still one of
        ``expected``. True when this caller won."""
        c = outgoing_messages.c
        result = self.session.execute(outgoing_messages.update().where(
            c.id == row_id, c.status.in_(expected)).values(**values))
        return result.rowcount == 1

    def stale_sending(self, before: datetime) -> list[int]:
        c = outgoing_messages.c
        return list(self.session.execute(sa.select(c.id).where(
            c.status == "sending", sa.or_(c.claimed_at.is_(None),
                                          c.claimed_at < before))).scalars())

    def withhold_queued(self, trainer_id: int, reason: str) -> int:
        c = outgoing_messages.c
        return self.session.execute(outgoing_messages.update().where(
            c.trainer_id == trainer_id, c.status == "queued").values(
            status="withheld", last_error=reason)).rowcount

    def trainer_do_not_email(self, trainer_id: int) -> bool:
        return bool(self.session.execute(sa.select(trainers.c.do_not_email).where(
            trainers.c.id == trainer_id)).scalar())
