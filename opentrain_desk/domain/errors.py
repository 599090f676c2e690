"""Domain errors: every message is safe to show to a user as-is."""
from __future__ import annotations

from datetime import datetime, timezone


class DomainError(Exception):
    """A business rule refused an action."""


class InvalidAmount(DomainError, ValueError):
    """A money amount could not be parsed or is out of range."""


class ValidationError(DomainError, ValueError):
    """A field value is not acceptable (empty title, bad email, ...)."""


class IllegalTransition(DomainError):
    """An action is not allowed in the milestone's current state."""

    def __init__(self, state: str, action: str) -> None:
        self.state = state
        self.action = action
        super().__init__(f"Cannot {action} a milestone that is {state}.")


class ArchiveRefused(DomainError):
    """A job still has unresolved milestones."""

    def __init__(self, job_title: str, unresolved: list[str]) -> None:
        self.unresolved = unresolved
        lines = "\n".join(f"• {item}" for item in unresolved)
        count = len(unresolved)
        what = "1 milestone is" if count == 1 else f"{count} milestones are"
        super().__init__(f"“{job_title}” cannot be archived: {what} not resolved yet.\n{lines}")


class NotFound(DomainError, LookupError):
    """The record does not exist (deleted elsewhere?)."""


class ConcurrentChange(DomainError):
    """Another window, worker or team member changed the same record first.

    When the store knows who and when (``by``: the member's name, ``at``), the message
    says so — "Changed by Dana Finance at 14:02" — followed by ``detail`` (what it is now)
    and ``advice``. ``version`` is the record's version now: a form that showed the new
    values may save over it with that version."""

    def __init__(self, by: str | None = None, at: datetime | None = None,
                 detail: str = "", version: int | None = None, advice: str = "") -> None:
        self.by, self.at, self.detail, self.version = by, at, detail, version
        if not by:
            super().__init__("Someone else changed this at the same moment (another window, "
                             "the payment worker or a team member). Nothing was saved: look "
                             "at it again and retry.")
            return
        when = f" at {clock_time(at)}" if at is not None else ""
        text = f"Changed by {by}{when}" + (f": {detail}" if detail else "") + "."
        super().__init__(f"{text} {advice or 'Nothing was saved: look at it again.'}")


def clock_time(moment: datetime) -> str:
    """``14:02`` in this computer's time zone (naive moments are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone().strftime("%H:%M")
