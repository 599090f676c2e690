"""The workspace's members (who signs in, with which role): a plain-row repository."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .orm import members


class MemberRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_login(self, login: str) -> sa.Row | None:
        return self.session.execute(sa.select(members).where(members.c.login == login)).first()

    def all(self) -> list[sa.Row]:
        return list(self.session.execute(sa.select(members).order_by(members.c.id)))

    def count_active(self, role: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(members).where(members.c.active)
        if role is not None:
            query = query.where(members.c.role == role)
        return self.session.scalar(query) or 0

    def add(self, login: str, name: str, role: str, now: datetime) -> int:
        return self.session.execute(members.insert().values(
            login=login, name=name, role=role, active=True, created_at=now,
            updated_at=now)).inserted_primary_key[0]

    def update(self, member_id: int, version: int, now: datetime, **values) -> bool:
        """Compare-and-set on ``version``; False when another seat changed it first."""
        done = self.session.execute(
            members.update().where(members.c.id == member_id, members.c.version == version)
            .values(updated_at=now, version=version + 1, **values))
        return done.rowcount == 1
