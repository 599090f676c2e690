"""Outgoing mail to trainers: the settings, and the outbox's use cases.

A message owed to a trainer is written by its event's transaction
(``notifications.message_trainer``) as

* ``queued`` when e-mail is set up (Settings → E-mail has a server): the mail worker
  (``mail/outbox.py``) sends it;
* ``draft`` when it is not: the mail-client way (open in e-mail, mark as sent);
* ``withheld`` when the trainer is marked "do not e-mail".

The worker claims a queued message with a compare-and-set (``queued`` → ``sending``,
committed before the first byte goes out), then records ``sent``, ``queued`` again with
a later ``next_attempt_at`` (server down, refused for now, password refused), ``failed``
(refused for good, or too many attempts) or ``unknown`` (the connection dropped after
the message was handed over, or the app stopped while sending). An ``unknown`` message is
never re-sent automatically: only a person's Re-send queues it again, with the same
Message-ID. Why: see the README, "Mail to trainers".
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from ..domain.errors import ValidationError
from . import workspace_settings as keys
from .ports import MailErrorKind
from .unit_of_work import UnitOfWork, UnitOfWorkFactory

STATUS_TEXT = {"draft": "not sent yet", "queued": "queued", "sending": "sending",
               "sent": "sent", "failed": "failed", "unknown": "may have been sent",
               "withheld": "not e-mailed (do not e-mail)", "withdrawn": "withdrawn"}
RESENDABLE = ("failed", "unknown", "draft", "withheld")
MAX_ATTEMPTS = 8
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
DO_NOT_EMAIL = "Not e-mailed: the trainer is marked “do not e-mail”."


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min… at most an hour between tries."""
    return min(FIRST_BACKOFF * 2 ** max(0, attempts - 1), MAX_BACKOFF)


# -- settings ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MailConfig:
    host: str = ""
    port: int = 587
    security: str = "starttls"
    user: str = ""
    sender_name: str = ""
    sender_address: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.host and self.sender_address)

    def cleaned(self) -> MailConfig:
        host, user = self.host.strip(), self.user.strip()
        name, address = self.sender_name.strip(), self.sender_address.strip()
        if self.security not in ("starttls", "tls", "none"):
            raise ValidationError("Choose STARTTLS, TLS or None for the connection security.")
        if not 0 < int(self.port) < 65536:
            raise ValidationError("The SMTP port is a number from 1 to 65535 (usually 587 "
                                  "for STARTTLS, 465 for TLS).")
        if host and (" " in host or len(host) > 253):
            raise ValidationError("The SMTP server is a host name such as smtp.example.com.")
        if address and ("@" not in address or " " in address or len(address) > 254):
            raise ValidationError("The sender address needs an @, e.g. payouts@example.com.")
        if host and not address:
            raise ValidationError("Enter the sender address the trainers will see.")
        if len(name) > 200 or len(user) > 254:
            raise ValidationError("The sender name or user name is too long.")
        return MailConfig(host, int(self.port), self.security, user, name, address)


def read_config(uow: UnitOfWork) -> MailConfig:
    values = uow.settings.get_many(tuple(keys.MAIL_KEYS.values()))
    raw = {name: values.get(key) or "" for name, key in keys.MAIL_KEYS.items()}
    return MailConfig(raw["host"], int(raw["port"] or 587), raw["security"] or "starttls",
                      raw["user"], raw["sender_name"], raw["sender_address"])


def load_config(factory: UnitOfWorkFactory) -> MailConfig:
    with factory() as uow:
        return read_config(uow)


def save_config(factory: UnitOfWorkFactory, config: MailConfig) -> MailConfig:
    """Store the settings (not the password: that goes to the keyring), audited."""
    config = config.cleaned()
    with factory() as uow:
        before = read_config(uow)
        for name, key in keys.MAIL_KEYS.items():
            uow.settings.set(key, str(getattr(config, name)))
        if before != config:
            uow.audit("mail", None, "settings saved", asdict(before), asdict(config))
        keys.workspace_id(uow)
        uow.commit()
    return config


def password_name(workspace: str) -> str:
    """The keyring entry of this workspace's SMTP password."""
    return f"smtp:{workspace}"


# -- the outbox's use cases ----------------------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    """A message this worker may now send (it is ``sending`` and committed)."""

    id: int
    kind: str
    to: str
    subject: str
    fields: dict
    message_id: str
    attempts: int


def message_id_for(message_id: int, workspace: str, domain: str) -> str:
    return f"<otd-msg-{message_id}.{workspace}@{domain or 'opentrain-desk.invalid'}>"


def expire_stale(factory: UnitOfWorkFactory, lease: timedelta) -> list[int]:
    """Messages left ``sending`` by a worker that stopped (crash, kill, power cut): it may
    have handed them over, so they become ``unknown``, never sent again by themselves."""
    with factory() as uow:
        ids = uow.messages.stale_sending(uow.now - lease)
        for message_id in ids:
            if uow.messages.set_status(message_id, ("sending",), status="unknown",
                                       last_error="The app stopped while sending this "
                                       "message: it may have been sent. Check with the "
                                       "trainer, then Re-send if needed."):
                uow.audit("message", message_id, "outcome unknown (interrupted)")
        uow.commit()
    return ids


def claim_next(factory: UnitOfWorkFactory, domain: str) -> Claimed | None:
    """The oldest due queued message, now ``sending``; None when nothing is due."""
    with factory() as uow:
        workspace = keys.workspace_id(uow)
        for message_id in uow.messages.due(uow.now):
            row = uow.messages.get(message_id)
            if uow.messages.trainer_do_not_email(row.trainer_id):
                uow.messages.set_status(message_id, ("queued",), status="withheld",
                                        last_error=DO_NOT_EMAIL)
                continue
            stable = row.message_id or message_id_for(row.id, workspace, domain)
            if uow.messages.set_status(message_id, ("queued",), status="sending",
                                       attempts=row.attempts + 1, claimed_at=uow.now,
                                       message_id=stable):
                uow.commit()
                return Claimed(row.id, row.kind, row.to_address, row.subject,
                               _fields(row), stable, row.attempts + 1)
        uow.commit()
    return None


def _fields(row) -> dict:
    try:
        data = json.loads(row.data or "{}")
    except ValueError:
        data = {}
    return {"subject": row.subject, "body": row.body, "link": row.link, **data}


def record_sent(factory: UnitOfWorkFactory, claimed: Claimed) -> None:
    with factory() as uow:
        if uow.messages.set_status(claimed.id, ("sending",), status="sent", sent_at=uow.now,
                                   last_error="", next_attempt_at=None):
            uow.audit("message", claimed.id, "e-mailed", after={"to": claimed.to,
                                                               "message_id": claimed.message_id})
        uow.commit()


def record_error(factory: UnitOfWorkFactory, claimed: Claimed, kind: MailErrorKind | None,
                 reason: str) -> str:
    """The outcome of a failed send; returns the new status. ``kind`` None: a template
    problem (queued again, retried later, never sent half-filled)."""
    with factory() as uow:
        if kind is MailErrorKind.UNKNOWN:
            status, values = "unknown", {}
        elif kind is MailErrorKind.REJECTED or (
                kind is not None and claimed.attempts >= MAX_ATTEMPTS):
            status, values = "failed", {}
            if kind is not MailErrorKind.REJECTED:
                reason += f" Gave up after {claimed.attempts} attempts: Re-send to try again."
        else:
            status = "queued"
            values = {"next_attempt_at": uow.now + backoff(claimed.attempts)}
        if uow.messages.set_status(claimed.id, ("sending",), status=status,
                                   last_error=reason[:2000], **values):
            uow.audit("message", claimed.id, f"e-mail {status}", after={"reason": reason})
        uow.commit()
    return status


def resend(factory: UnitOfWorkFactory, message_id: int) -> None:
    """A person's Re-send: queued again now, with the same Message-ID."""
    with factory() as uow:
        row = uow.messages.get(message_id)
        if row is None:
            raise ValidationError("That message no longer exists.")
        if not read_config(uow).configured:
            raise ValidationError("E-mail is not set up: enter the server in Settings → "
                                  "E-mail first, or open the message in your e-mail app.")
        if uow.messages.trainer_do_not_email(row.trainer_id):
            raise ValidationError("This trainer is marked “do not e-mail”: clear that "
                                  "first, or open the message in your e-mail app.")
        if not uow.messages.set_status(message_id, RESENDABLE, status="queued",
                                       next_attempt_at=None, last_error="",
                                       attempts=0 if row.status != "unknown" else row.attempts):
            raise ValidationError(f"This message is {STATUS_TEXT.get(row.status, row.status)}"
                                  ": there is nothing to re-send.")
        uow.audit("message", message_id, "re-send requested", {"status": row.status})
        uow.commit()


def set_do_not_email(factory: UnitOfWorkFactory, trainer_id: int, value: bool) -> None:
    with factory() as uow:
        trainer = uow.trainers.get(trainer_id, for_update=True)
        if bool(trainer.do_not_email) == value:
            return
        trainer.do_not_email = value
        if value:
            uow.messages.withhold_queued(trainer_id, DO_NOT_EMAIL)
        uow.audit("trainer", trainer_id, "do not e-mail" if value else "e-mail allowed")
        uow.commit()


def counts(factory: UnitOfWorkFactory) -> tuple[int, datetime | None]:
    """Queued messages, and when the earliest retry is due."""
    with factory() as uow:
        return uow.messages.count_status("queued"), uow.messages.next_due_at()
