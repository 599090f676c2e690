"""Read side of the audit log: newest first, keyset-paged, filtered by member and object,
each entry with the member's name (``members.name`` for its login)."""
from __future__ import annotations

import sqlalchemy as sa

from ..services.read_models.audit import AuditFilters, AuditRow, MemberRow
from .orm import audit_log, members

_FROM = audit_log.outerjoin(members, members.c.login == audit_log.c.actor)
_COLUMNS = (audit_log.c.id, audit_log.c.at, audit_log.c.actor,
            sa.func.coalesce(members.c.name, "").label("member_name"), audit_log.c.entity,
            audit_log.c.entity_id, audit_log.c.action, audit_log.c.before, audit_log.c.after)


def _where(filters: AuditFilters) -> list:
    a, where = audit_log.c, []
    if filters.actor:
        where.append(a.actor == filters.actor)
    if filters.entity:
        where.append(a.entity == filters.entity)
    if filters.entity_id is not None:
        where.append(a.entity_id == filters.entity_id)
    return where


def audit_page(engine: sa.Engine, filters: AuditFilters, after: AuditRow | None = None,
               limit: int = 200) -> list[AuditRow]:
    """Newest first (by id: the order entries were written); the page after ``after``."""
    query = (sa.select(*_COLUMNS).select_from(_FROM).where(*_where(filters))
             .order_by(audit_log.c.id.desc()).limit(limit))
    if after is not None:
        query = query.where(audit_log.c.id < after.id)
    with engine.connect() as conn:
        return [AuditRow(*row) for row in conn.execute(query)]


def count_audit(engine: sa.Engine, filters: AuditFilters) -> int:
    query = sa.select(sa.func.count()).select_from(audit_log).where(*_where(filters))
    with engine.connect() as conn:
        return conn.scalar(query) or 0


def audit_entities(engine: sa.Engine) -> list[str]:
    query = sa.select(audit_log.c.entity).distinct().order_by(audit_log.c.entity)
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(query)]


def audit_actors(engine: sa.Engine) -> list[MemberRow]:
    """Everyone who appears in the log or is a member: members first (by name)."""
    with engine.connect() as conn:
        rows = [MemberRow(r.login, r.name, r.role, r.active) for r in conn.execute(
            sa.select(members).order_by(members.c.name, members.c.login))]
        known = {row.login for row in rows}
        logins = conn.execute(sa.select(audit_log.c.actor).distinct()
                              .order_by(audit_log.c.actor)).scalars()
    return rows + [MemberRow(login, "", "", False) for login in logins if login not in known]


class AuditQueries:
    engine: sa.Engine

    def audit_page(self, filters: AuditFilters, after: AuditRow | None = None,
                   limit: int = 200) -> list[AuditRow]:
        return audit_page(self.engine, filters, after, limit)

    def count_audit(self, filters: AuditFilters) -> int:
        return count_audit(self.engine, filters)

    def audit_entities(self) -> list[str]:
        return audit_entities(self.engine)

    def audit_actors(self) -> list[MemberRow]:
        return audit_actors(self.engine)
