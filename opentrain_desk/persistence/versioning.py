"""Who changed a job or milestone last, and who won a lost compare-and-set.

:func:`stamp_writes` makes every flush of a unit of work set ``updated_by`` (the
member's database login, the unit of work's actor) on the jobs and milestones it writes,
and ``updated_at`` on jobs. :func:`latest` reads, on a fresh connection, the row as
another seat left it after an optimistic UPDATE lost (``StaleDataError``), so the
services can say "Changed by Dana Finance at 14:02" with the new values.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..domain.jobs import Job
from ..domain.milestones import Milestone
from .orm import jobs, milestones

VERSIONED = (Job, Milestone)


def stamp_writes(session: Session, actor: str, now: Callable[[], datetime]) -> None:
    def before_flush(sess: Session, _context, _instances) -> None:
        writing = sess.info["writing"] = []
        for obj in list(sess.new) + list(sess.dirty):
            if isinstance(obj, VERSIONED) and (obj in sess.new or sess.is_modified(obj)):
                writing.append(obj)
                obj.updated_by = actor
                if isinstance(obj, Job):
                    obj.updated_at = now()
    sa.event.listen(session, "before_flush", before_flush)


def pending_versioned(session: Session) -> list[object]:
    """Jobs and milestones the session's last flush wrote (or tried to: a failed flush
    rolls back and forgets what was dirty)."""
    return list(session.info.get("writing", ()))


def latest(engine: sa.Engine, obj: object) -> sa.Row | None:
    """The row of ``obj`` (a job or milestone) as it is now in the store."""
    table = jobs if isinstance(obj, Job) else milestones
    ident = sa.inspect(obj).identity
    if not ident:
        return None
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.id == ident[0])).first()
