"""Jobs, trainers and contracts."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterable

from .errors import ArchiveRefused, ValidationError
from .milestones import Milestone
from .payout_requirements import requirements_in_words

#: An address a mail server accepts and a person could type: RFC 5321 limits (64 characters
#: before the @, 254 in all), an unquoted local part of letters (any script), digits and
#: ``!#$%&'*+/=?^_`{|}~-`` in dot-separated runs, and a domain of dot-separated labels
#: (letters, digits, inner hyphens) ending in a label of two or more letters.
#: ``<script>@x.yz``, quoted local parts and IP-literal domains are refused.
_ATOM = r"(?:\w|[!#$%&'*+/=?^`{|}~-])+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+[^\W\d_]{{2,63}}")
MAX_EMAIL, MAX_LOCAL = 254, 64


def clean_required(value: str, what: str, limit: int = 200) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError(f"Enter the {what}.")
    if len(text) > limit:
        raise ValidationError(f"The {what} is too long ({limit} characters at most).")
    return text


def clean_email(value: str) -> str:
    email = (value or "").strip()
    if not email:
        raise ValidationError("Enter the trainer's email address.")
    local, at, domain = email.rpartition("@")
    if len(email) > MAX_EMAIL or len(local) > MAX_LOCAL:
        raise ValidationError(f"That email address is too long ({MAX_LOCAL} characters at most "
                              f"before the @, {MAX_EMAIL} in all).")
    if not (at and _LOCAL.fullmatch(local) and _DOMAIN.fullmatch(domain)):
        raise ValidationError(f"“{email}” is not an email address.")
    return email.lower()


@dataclass(eq=False)
class Job:
    """A posted job; its title is the project name on invoices."""

    title: str
    description: str = ""
    archived: bool = False
    created_at: datetime | None = None
    archived_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str = ""   # the member (database login) who changed it last
    id: int | None = field(default=None)

    def rename(self, title: str, description: str | None, now: datetime) -> None:
        self.title = clean_required(title, "job title")
        if description is not None:
            self.description = description.strip()
        self.updated_at = now

    def snapshot(self) -> dict:
        return {"title": self.title, "description": self.description}

    def archive(self, milestones: Iterable[Milestone], now: datetime,
                disputed: Iterable[int] = ()) -> None:
        """Refuse while any milestone is unresolved or its charge is disputed; the refusal
        lists them."""
        disputed = set(disputed)
        unresolved = [f"{m.title} — {'Disputed' if m.id in disputed else m.unresolved_label}"
                      for m in milestones if not m.resolved or m.id in disputed]
        if unresolved:
            raise ArchiveRefused(self.title, unresolved)
        self.archived, self.archived_at = True, now

    def restore(self) -> None:
        """Back to the active list; nothing else about the job changes."""
        self.archived, self.archived_at = False, None


@dataclass(eq=False)
class Trainer:
    name: str
    email: str
    stripe_account_id: str | None = None
    created_at: datetime | None = None
    payouts_enabled: bool = False
    requirements_due: str = ""      # comma-separated Stripe requirement fields
    disabled_reason: str = ""
    account_checked_at: datetime | None = None
    do_not_email: bool = False      # the agency mails this trainer itself (mail outbox)
    id: int | None = field(default=None)

    @property
    def payout_ready(self) -> bool:
        return bool(self.stripe_account_id) and self.payouts_enabled

    def payout_readiness(self) -> str:
        """One line for people: ready, or what is missing."""
        if not self.stripe_account_id:
            return "No payout account yet: set up payouts for this trainer."
        if self.payouts_enabled:
            return "Payouts enabled."
        due = requirements_in_words(self.requirements_due)
        reason = f" ({self.disabled_reason})" if self.disabled_reason else ""
        return f"Payout setup incomplete{reason}" + (f": currently due {due}" if due else ".")


@dataclass(eq=False)
class Contract:
    job_id: int
    trainer_id: int
    hired_on: date
    created_at: datetime | None = None
    id: int | None = field(default=None)


@dataclass(eq=False)
class AuditEntry:
    """Who did what, when, with the state before and after (JSON text)."""

    at: datetime
    actor: str
    entity: str
    entity_id: int | None
    action: str
    before: str | None = None
    after: str | None = None
    id: int | None = field(default=None)
