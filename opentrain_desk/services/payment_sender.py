"""Stripe in a team: which seat sends the queued payments.

The Stripe key lives only in the OS keyring of the seats that hold it; every seat may
queue operations (the outbox is in the shared database), but only a seat with the key
whose member may ``SEND_PAYMENTS`` runs the worker that sends them. That worker records
a heartbeat (``workspace_settings`` ``payments.sender``: login, name, time) on its passes;
every seat's status bar reads it to say who is sending, or that nobody is (heartbeat
older than ``STALE``). Several senders at once are harmless: each operation is claimed
by one atomic conditional UPDATE (payments/outbox.py) — the heartbeat only informs.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.roles import Capability
from .team import NotAMember, current_member, is_team
from .unit_of_work import UnitOfWork, UnitOfWorkFactory
from .workspace_settings import PAYMENTS_SENDER

log = logging.getLogger(__name__)

#: A worker passes at least once a minute (its idle interval); three missed passes and
#: the seat is taken to be closed.
STALE = timedelta(minutes=3)
#: Write the heartbeat at most this often (a busy worker passes many times a minute).
BEAT_EVERY = timedelta(seconds=20)
NOBODY_TEXT = ("No seat is sending payments: a Finance or Owner seat with the Stripe key "
               "must be open")


@dataclass(frozen=True)
class Sender:
    login: str
    name: str
    at: datetime
    fresh: bool


def may_send(factory: UnitOfWorkFactory) -> bool:
    """This seat's member may run the payment worker (solo: always)."""
    try:
        with factory() as uow:
            if not is_team(uow):
                return True
            return current_member(uow).can(Capability.SEND_PAYMENTS)
    except NotAMember:
        return False


def beat(uow: UnitOfWork) -> None:
    """Record that this seat's worker is sending (inside ``with uow``)."""
    try:
        name = current_member(uow).name
    except NotAMember:
        name = uow.actor
    uow.settings.set(PAYMENTS_SENDER, json.dumps(
        {"login": uow.actor, "name": name, "at": uow.now.isoformat()}))


class Heartbeat:
    """Called after each worker pass; writes at most every ``BEAT_EVERY``."""

    def __init__(self, factory: UnitOfWorkFactory) -> None:
        self.factory = factory
        self._last: datetime | None = None

    def __call__(self) -> None:
        now = self.factory.clock()
        if self._last is not None and now - self._last < BEAT_EVERY:
            return
        try:
            with self.factory() as uow:
                beat(uow)
                uow.commit()
            self._last = now
        except Exception as error:  # noqa: BLE001 - informative only: never stop sending
            log.warning("payments heartbeat not recorded: %s", type(error).__name__)


def current(factory: UnitOfWorkFactory) -> Sender | None:
    """Who sends payments for this workspace (None: nobody ever did)."""
    with factory() as uow:
        raw = uow.settings.get(PAYMENTS_SENDER)
        now = uow.now
    if not raw:
        return None
    try:
        data = json.loads(raw)
        at = datetime.fromisoformat(data["at"])
        return Sender(data["login"], data.get("name") or data["login"], at,
                      now - at <= STALE)
    except (ValueError, KeyError, TypeError):
        return None


def status_text(sender: Sender | None, me: str, pending: int) -> str | None:
    """The status bar's words for a team seat; None when this seat itself is sending
    (then the worker's own state is shown)."""
    queued = f" · {pending} queued" if pending else ""
    if sender is None or not sender.fresh:
        return NOBODY_TEXT + queued
    if sender.login == me:
        return None
    return f"Payments sent by {sender.name}'s seat{queued}"
