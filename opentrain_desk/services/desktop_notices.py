"""Desktop notices for the employer: which notifications to show, and each one only once.

A notice interrupts someone, so only notifications that wait for a person are shown
(:data:`NOTICE_KINDS`: work submitted for review, a failed payout or bank debit, a dispute…);
news such as "paid out" stays in the notification center. Each seat (a login) keeps the id
of the newest notification it has been told about in a workspace setting
(``notices_seen_key``), so nothing is shown twice for one event, also not after a restart
or in a second window on the same workspace; the first look of a seat at a workspace only
sets the mark (what was already there is not news). Several new ones at once make one
summary notice.

Pure decision (:func:`plan_notice`) plus one use case (:func:`take_notice`); the tray
itself is a thin adapter in ``ui/desktop_notices.py``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .read_models import NEEDS_A_PERSON, NotificationRow
from .unit_of_work import UnitOfWorkFactory
from .workspace_settings import notices_seen_key

#: What is worth a desktop notice: exactly what the badge counts as needing a person.
NOTICE_KINDS = NEEDS_A_PERSON
SUMMARY_LINES = 3
FETCH_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Notice:
    """One desktop message; clicking it opens the milestone (or, for a summary, the list)."""

    title: str
    body: str
    notification_ids: tuple[int, ...]
    job_id: int = 0
    contract_id: int = 0
    milestone_id: int = 0

    @property
    def opens_milestone(self) -> bool:
        return self.job_id != 0


def plan_notice(rows: Sequence[NotificationRow], seen_id: int) -> Notice | None:
    """The notice for ``rows`` newer than ``seen_id`` that need a person; None when none."""
    fresh = sorted((row for row in rows if row.id > seen_id and row.unread
                    and row.kind in NOTICE_KINDS), key=lambda row: row.id)
    if not fresh:
        return None
    ids = tuple(row.id for row in fresh)
    if len(fresh) == 1:
        row = fresh[0]
        return Notice(row.title, row.first_line, ids, row.job_id or 0, row.contract_id or 0,
                      row.milestone_id or 0)
    newest = fresh[::-1]
    lines = [row.title for row in newest[:SUMMARY_LINES]]
    if len(newest) > SUMMARY_LINES:
        lines.append(f"and {len(newest) - SUMMARY_LINES} more")
    return Notice(f"{len(fresh)} new notifications need you", "\n".join(lines), ids)


def seen_mark(factory: UnitOfWorkFactory) -> int | None:
    """This seat's mark; None when it has never looked at this workspace."""
    with factory() as uow:
        value = uow.settings.get(notices_seen_key(uow.actor))
    return None if value is None else int(value)


def claim(factory: UnitOfWorkFactory, rows: Sequence[NotificationRow], latest_id: int,
          enabled: bool = True) -> Notice | None:
    """Move this seat's mark past ``rows`` and ``latest_id`` and return the notice for what
    was not shown yet (None when turned off). The mark is read and written in one unit of
    work, so two windows of one seat racing for the same rows show them once."""
    with factory() as uow:
        key = notices_seen_key(uow.actor)
        stored = uow.settings.get(key)
        newest = max([latest_id, *(row.id for row in rows)])
        if stored is None:  # the seat's first look: what is there is not news
            uow.settings.set(key, str(newest))
            uow.commit()
            return None
        seen = int(stored)
        if newest > seen:
            uow.settings.set(key, str(newest))
            uow.commit()
    return plan_notice(rows, seen) if enabled else None


def take_notice(factory: UnitOfWorkFactory,
                unread_after: Callable[[int, int], list[NotificationRow]], latest_id: int,
                enabled: bool = True) -> Notice | None:
    """The use case the window runs (on the DB thread) whenever notifications arrive:
    read what is new since this seat's mark (``unread_after`` is the read side's query),
    then :func:`claim` it."""
    seen = seen_mark(factory)
    rows = unread_after(seen, FETCH_LIMIT) if seen is not None else []
    return claim(factory, rows, latest_id, enabled)
