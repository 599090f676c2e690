"""The mail worker: sends queued messages to trainers, once each, off the GUI thread.

Per message (see ``services/mail.py`` for the states):
1. claim: ``queued`` → ``sending`` (attempt+1, stable Message-ID), committed;
2. render the kind's templates (a missing field: queued again with the reason, retried
   later, never sent half-filled) and hand the message to the SMTP server;
3. record the outcome: ``sent``; ``queued`` with backoff (server down or refusing for
   now, password or TLS refused: nothing else is tried until the next pass); ``failed``
   (the address refused for good, or too many attempts); ``unknown`` (dropped after the
   message was handed over: never re-sent by itself).

A message left ``sending`` longer than the lease (the app was killed mid-send) becomes
``unknown`` at the next pass.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Callable

from ..services import mail as mail_service
from ..services.ports import MailError, MailErrorKind, MailWorkerState, OutgoingMail
from ..services.unit_of_work import UnitOfWorkFactory
from ..worker_thread import LoopThread
from .templates import TemplateError

log = logging.getLogger(__name__)
SERVER_PROBLEMS = (MailErrorKind.DOWN, MailErrorKind.AUTH, MailErrorKind.TLS,
                   MailErrorKind.CONFIG)


class MailWorker(LoopThread):
    thread_name = "otd-mail"

    def __init__(self, factory: UnitOfWorkFactory, link,
                 on_change: Callable[[MailWorkerState], None] | None = None,
                 idle_interval: float = 60.0, lease: timedelta = timedelta(minutes=10),
                 after_claim: Callable[[mail_service.Claimed], None] | None = None) -> None:
        """``link`` is the workspace's ``mail.link.MailConnection`` (sender, rendering)."""
        self.factory, self.link = factory, link
        self._on_change = on_change or (lambda _state: None)
        self.idle_interval, self.lease = idle_interval, lease
        self.after_claim = after_claim  # tests: a hook between claim and send
        self.state = MailWorkerState()
        self._init_thread()
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.run_once()
            except Exception:  # noqa: BLE001 - the worker must survive and report
                log.exception("mail pass failed")
                wait = 30.0
            self._wake.wait(wait)
            self._wake.clear()

    # -- one pass --------------------------------------------------------------------------
    def run_once(self) -> float:
        """Send everything due. Returns the seconds to wait before the next pass."""
        with self._lock:
            mail_service.expire_stale(self.factory, self.lease)
            sender = self.link.sender()
            if sender is None:
                self._set(configured=False, online=None, last_error="")
                return self.idle_interval
            self._set(configured=True)
            sent_any = False
            while not self._stop.is_set():
                claimed = mail_service.claim_next(self.factory, self.link.domain())
                if claimed is None:
                    break
                if self.after_claim:
                    self.after_claim(claimed)
                problem = self._send_one(sender, claimed)
                if problem is None:
                    sent_any = True
                elif problem.kind in SERVER_PROBLEMS:
                    self._set(online=False, last_error=problem.message)
                    break
            else:
                return 0.0
            if sent_any:
                self._set(online=True, last_error="")
            return self._next_wait()

    def _send_one(self, sender, claimed: mail_service.Claimed) -> MailError | None:
        try:
            rendered, logo, logo_type = self.link.render(claimed.kind, claimed.fields)
        except TemplateError as error:
            mail_service.record_error(self.factory, claimed, None, str(error))
            log.warning("message %s not sent: %s", claimed.id, error)
            return None
        mail = OutgoingMail(claimed.message_id, claimed.to, rendered.subject or
                            claimed.subject, rendered.text, rendered.html, logo, logo_type)
        try:
            sender.send(mail)
        except MailError as error:
            status = mail_service.record_error(self.factory, claimed, error.kind,
                                               error.message)
            log.info("message %s: %s (%s)", claimed.id, status, error.kind.value)
            self._changed()
            return error
        except Exception as error:  # noqa: BLE001 - a bug must not leave it "sending"
            log.exception("message %s: unexpected error while sending", claimed.id)
            mail_service.record_error(self.factory, claimed, MailErrorKind.UNKNOWN,
                                      f"Unexpected error while sending ({type(error).__name__})"
                                      ": it may have been sent.")
            self._changed()
            return None
        mail_service.record_sent(self.factory, claimed)
        log.info("message %s e-mailed", claimed.id)
        self._changed()
        return None

    def _next_wait(self) -> float:
        queued, due = mail_service.counts(self.factory)
        self._set(queued=queued)
        if not queued:
            return self.idle_interval
        if due is None:
            return 0.0
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        due = due.replace(tzinfo=None) if due.tzinfo else due
        return max(0.5, min(self.idle_interval, (due - now).total_seconds()))

    def _set(self, **changes) -> None:
        state = replace(self.state, **changes)
        if state != self.state:
            self.state = state
            self._changed()

    def _changed(self) -> None:
        try:
            self._on_change(self.state)
        except Exception:  # noqa: BLE001
            log.exception("mail on_change failed")
