"""Telling a seat that another one changed the record first (optimistic versioning).

Jobs and milestones carry a ``version`` and ``updated_by``/``updated_at``. A form sends
the version it showed; when the record moved on meanwhile the save is refused with
:class:`ConcurrentChange` — "Changed by Dana Finance at 14:02: now “Batch 1”, $1,300.00,
no due date" — and the version it has now, so the form (which keeps what was typed) can
save over it once the person has seen the new values. Money actions (approve, fund) that
another seat already took are refused the same way: exactly one seat wins.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..domain.errors import ConcurrentChange
from ..domain.money import Money

if TYPE_CHECKING:
    from .unit_of_work import UnitOfWork

FORM_ADVICE = ("Your changes were not saved and are still in the form: save again to "
               "replace these values, or cancel.")


def member_name(uow: UnitOfWork, login: str) -> str:
    """The member's name for a database login (the login itself when unknown)."""
    if not login:
        return "another seat"
    row = uow.members.by_login(login)
    return row.name if row is not None else login


def describe_milestone(title: str, amount_cents: int, due_date, status: str) -> str:
    due = f"due {due_date.isoformat()}" if due_date else "no due date"
    return f"now “{title}”, {Money(amount_cents).format()}, {due} ({status})"


def describe_job(title: str) -> str:
    return f"now “{title}”"


def describe(obj) -> str:
    """What a job or milestone (domain object or row) is now, in words."""
    if hasattr(obj, "amount_cents"):
        status = getattr(obj.status, "label", None) or str(obj.status)
        return describe_milestone(obj.title, obj.amount_cents, obj.due_date, status)
    return describe_job(obj.title)


def changed_by(uow: UnitOfWork, login: str, at: datetime | None, detail: str,
               version: int | None = None, advice: str = "") -> ConcurrentChange:
    return ConcurrentChange(member_name(uow, login), at, detail, version, advice)


def check_version(uow: UnitOfWork, obj, expected: int | None) -> None:
    """Refuse the save when ``obj`` (read in this unit of work) is no longer at the
    version the person saw (``expected``; None: no check, e.g. scripts)."""
    if expected is None or obj.version == expected:
        return
    raise changed_by(uow, obj.updated_by, obj.updated_at, describe(obj), obj.version,
                     FORM_ADVICE)


def already_taken(uow: UnitOfWork, milestone, what: str) -> ConcurrentChange:
    """``milestone`` (locked) moved on before this seat's approve/fund got to it."""
    status = milestone.status.label
    return changed_by(uow, milestone.updated_by, milestone.updated_at,
                      f"“{milestone.title}” is {status} now", milestone.version,
                      f"Nothing was {what} twice.")
