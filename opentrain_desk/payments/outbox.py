"""The outbox worker: sends queued Stripe operations exactly once, off the GUI thread.

Protocol per operation:
1. claim: in one committed transaction the operation becomes ``sending`` (attempt+1);
2. send: one HTTP request with the operation's stored idempotency key;
3. record: the outcome and the state change it causes, in one transaction.

An answer that never arrived (timeout, a connection dropped after sending, a 5xx, a
crash between 1 and 3) is an UNKNOWN outcome, not a failure: the operation stays
``sending`` and is flagged ``maybe_sent`` until a lookup at Stripe (list by customer /
transfer group, match ``metadata.operation_id``) settles it. Found: recorded. Not found:
re-queued and sent again with the SAME idempotency key, so Stripe replays the first
request's result if it arrived after all. Such an operation is never cancelled.

Every status change is a compare-and-set on the state it was read in (optimistic
versions; ``record_error``/``requeue_unsent`` also check the attempt), and recording is
idempotent: two workers on one workspace, or a replayed key, record an outcome once. An
operation whose recording fails is set aside (``needs attention``) with the reason and
the worker goes on with the others. Each kind's handler records its answers and its
failed calls through that kind's use case (funding, payouts, refunds, subscriptions).
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Callable

from ..domain.errors import ConcurrentChange, DomainError
from ..domain.operations import ErrorKind, OperationKind, OperationStatus, StripeOperation
from ..redaction import redact
from ..services import operations, payouts, stripe_events, subscriptions
from ..services.ports import GatewayError, PaymentGateway, WorkerState
from ..services.unit_of_work import UnitOfWorkFactory
from ..services.workspace_settings import workspace_id
from ..worker_thread import LoopThread
from .handlers import (FundingHandler, Handler, PayoutHandler, RefundHandler,
                       SubscriptionHandler, _object_id)

log = logging.getLogger(__name__)
RECONCILE_WINDOW = timedelta(minutes=15)


class OutboxWorker(LoopThread):
    thread_name = "otd-outbox"

    def __init__(self, factory: UnitOfWorkFactory,
                 gateway: Callable[[], PaymentGateway | None],
                 on_change: Callable[[WorkerState], None] | None = None,
                 idle_interval: float = 60.0,
                 lease: timedelta = timedelta(seconds=60), senders: int = 4,
                 after_send: Callable[[operations.Claimed, object], None] | None = None,
                 may_send: Callable[[], bool] | None = None,
                 after_pass: Callable[[], None] | None = None) -> None:
        """Team workspaces: ``may_send()`` is asked before each pass (this seat holds the
        key and its member may send payments; else it only queues) and ``after_pass()``
        records the seat's heartbeat (services/payment_sender.py)."""
        self.factory = factory
        self._may_send, self._after_pass = may_send, after_pass
        self._gateway = gateway
        self._on_change = on_change or (lambda _state: None)
        self.idle_interval = idle_interval
        self.lease = lease
        self.senders = max(1, senders)
        self._workspace: str | None = None
        self.after_send = after_send
        self.handlers: dict[OperationKind, Handler] = {
            OperationKind.FUND_MILESTONE: FundingHandler(),
            OperationKind.PAYOUT: PayoutHandler(factory),
            OperationKind.REFUND: RefundHandler()}
        for kind in subscriptions.SUBSCRIPTION_KINDS:
            self.handlers[kind] = SubscriptionHandler(factory)
        self.state = WorkerState()
        self._init_thread()
        self._sync_requested = threading.Event()
        self._lock = threading.Lock()  # one pass at a time (worker thread or run_once)
        self._state_lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------
    def sync_now(self) -> None:
        self._sync_requested.set()
        self._wake.set()

    def _loop(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                wait = self.run_once(reconcile=first or self._sync_requested.is_set())
                first = False
            except Exception:  # noqa: BLE001 - the worker must survive and report
                log.exception("outbox pass failed")
                wait = 5.0
            self._wake.wait(wait)
            self._wake.clear()

    # -- one pass --------------------------------------------------------------------------
    def run_once(self, reconcile: bool = True) -> float:
        """Reconcile (optional), then send everything due. Returns seconds to wait."""
        with self._lock:
            gateway = self._gateway()
            if gateway is None:
                self._set(connected=False, online=None)
                return self.idle_interval
            if self._may_send is not None and not self._may_send():
                self._set(sending=False, online=None)
                return self.idle_interval
            self._set(connected=True, busy=True, sending=True)
            try:
                # unknown outcomes are always settled before anything new is sent
                if reconcile:
                    self._sync_requested.clear()
                    operations.retry_now(self.factory())
                    self._check_waiting_payouts(gateway)
                    self._sync_subscriptions(gateway)
                    self._sync_events(gateway)
                settled = self.reconcile(gateway, refresh_pending=reconcile)
                sent = self._drain(gateway)
                if reconcile and not (settled or sent):
                    gateway.verify_key()  # a sync with nothing to do still checks Stripe
                    self._set(online=True, key_rejected=False, last_error="")
            except GatewayError as error:  # reconcile could not reach Stripe
                self._note_error(error)
            finally:
                self._set(busy=False)
                if self._after_pass is not None:
                    self._after_pass()
            return self._next_wait()

    def _workspace_id(self) -> str:
        if self._workspace is None:
            with self.factory() as uow:
                self._workspace = workspace_id(uow)
                uow.commit()
        return self._workspace

    def _drain(self, gateway: PaymentGateway) -> int:
        """Send everything due, ``senders`` requests in flight at a time; returns how
        many operations were attempted."""
        if self.senders == 1:
            return self._drain_one(gateway)
        with ThreadPoolExecutor(self.senders, thread_name_prefix="otd-send") as pool:
            futures = [pool.submit(self._drain_one, gateway) for _ in range(self.senders)]
            return sum(future.result() for future in futures)

    def _drain_one(self, gateway: PaymentGateway) -> int:
        attempted = 0
        while not self._stop.is_set():
            outcome = self._send_next(gateway)
            if outcome is None:
                break
            attempted += 1
            if not outcome:
                break
        return attempted

    def _send_next(self, gateway: PaymentGateway) -> bool | None:
        """None: nothing due; True: go on; False: back off (retryable error)."""
        op = operations.claim_next(self.factory(), tuple(self.handlers), self.lease,
                                self._workspace_id())
        if op is None:
            return None
        self._changed()
        handler = self.handlers[op.kind]
        try:
            result = handler.send(gateway, op)
        except GatewayError as error:
            if self.after_send:
                self.after_send(op, error)
            retried = self._settle(op.id, partial(handler.record_error, self.factory, op.id,
                                                  error, op.attempts), error.object_id)
            self._note_error(error)
            return not retried  # stop the pass after a retryable error: back off
        except Exception as exc:  # noqa: BLE001 - a bug in one handler never stops the others
            self._set_aside(op.id, "Sending it failed inside the app", exc)
            return True
        if self.after_send:
            self.after_send(op, result)
        self._settle(op.id, partial(handler.record, self.factory, op.id, result),
                     _object_id(result))
        self._set(online=True, key_rejected=False, last_error="")
        return True

    def _settle(self, op_id: str, record: Callable[[], object], object_id: str = ""):
        """Record an outcome; a lost compare-and-set is re-read and re-applied (recording
        is idempotent), any other failure sets the operation aside with the reason and
        Stripe's object id (so Check against Stripe can adopt it)."""
        for _try in range(3):
            try:
                return record()
            except ConcurrentChange:
                continue  # another worker moved it first: re-read and decide again
            except Exception as exc:  # noqa: BLE001 - one bad operation never blocks others
                self._set_aside(op_id, "Recording Stripe's answer failed", exc, object_id)
                return False
        self._set_aside(op_id, "Recording Stripe's answer kept colliding", None, object_id)
        return False

    def _set_aside(self, op_id: str, what: str, exc: BaseException | None,
                   object_id: str = "") -> None:
        detail = redact(f"{type(exc).__name__}: {exc}") if exc is not None else ""
        log.error("operation %s needs attention: %s %s", op_id, what, detail,
                  exc_info=exc is not None and not isinstance(exc, DomainError))
        reason = f"{what}: {exc}" if isinstance(exc, DomainError) else (
            f"{what} ({detail[:200]}). Details are in the log." if detail else what)
        try:
            operations.mark_attention(self.factory(), op_id, redact(reason), object_id)
        except Exception:  # noqa: BLE001 - the database itself failed: the pass reports it
            log.exception("could not set operation %s aside", op_id)
        self._changed()

    def reconcile(self, gateway: PaymentGateway, refresh_pending: bool = True) -> int:
        """Settle operations whose outcome is unknown (``sending``) and, with
        ``refresh_pending``, those waiting at Stripe (``needs action``).

        The list is only a hint: every change it leads to is a compare-and-set on the
        state the operation was read in, so a list read before another worker acted
        cannot put a settled operation back in the queue."""
        statuses = [OperationStatus.SENDING]
        if refresh_pending:
            statuses.append(OperationStatus.NEEDS_ACTION)
        with self.factory() as uow:
            pending = uow.operations.with_status(*statuses)
            now = uow.now
        # unknown outcomes only once their lease / settle time has passed
        pending = [op for op in pending if op.kind in self.handlers and (
            op.status is not OperationStatus.SENDING
            or op.next_attempt_at is None or op.next_attempt_at <= now)]
        settled = 0
        for op in pending:
            try:
                settled += self._reconcile_one(gateway, op)
            except ConcurrentChange:
                continue  # another worker settled or re-sent it meanwhile: its move stands
            except GatewayError as error:
                if error.kind.offline or error.kind in (ErrorKind.KEY_REJECTED,
                                                        ErrorKind.RATE_LIMITED,
                                                        ErrorKind.SERVER):
                    raise  # Stripe unreachable: the whole pass waits
                self._set_aside(op.id, "Checking it at Stripe failed", DomainError(
                    error.message))
            except Exception as exc:  # noqa: BLE001 - one bad operation never blocks others
                self._set_aside(op.id, "Checking it at Stripe failed", exc)
        if pending:
            self._set(online=True)
        if settled:
            self._changed()
        return settled

    def _reconcile_one(self, gateway: PaymentGateway, op: StripeOperation) -> int:
        handler = self.handlers[op.kind]
        if op.status is OperationStatus.SENDING:
            since = int(((op.sent_at or op.created_at) - RECONCILE_WINDOW).timestamp())
            found = handler.find(gateway, op, since)
            if found is None:
                operations.requeue_unsent(self.factory(), op.id, op.attempts)
            else:
                self._settle(op.id, partial(handler.record, self.factory, op.id, found),
                             _object_id(found))
            return 1
        if op.stripe_object_id:
            result = handler.refresh(gateway, op)
            if result is not None and result.status not in ("requires_action", "processing"):
                self._settle(op.id, partial(handler.record, self.factory, op.id, result),
                             _object_id(result))
                return 1
        return 0

    def _sync_subscriptions(self, gateway: PaymentGateway) -> None:
        try:
            subscriptions.sync(self.factory, gateway)
        except GatewayError as error:
            if error.kind.offline or error.kind is ErrorKind.KEY_REJECTED:
                raise
            log.warning("plan sync failed: %s", error.message)
        except Exception:  # noqa: BLE001 - the plan mirror never stops payments
            log.exception("plan sync failed")

    def _sync_events(self, gateway: PaymentGateway) -> None:
        """What happened at Stripe outside the app (refunds, disputes, reversals, bank
        debits settling) reaches the books; one bad event never stops payments."""
        try:
            report = stripe_events.sync(self.factory, gateway)
        except GatewayError as error:  # offline: caught up on a later sync; send anyway
            self._note_error(error)
            log.warning("event sync failed: %s", error.message)
            return
        except Exception:  # noqa: BLE001 - the event sync never stops payments
            log.exception("event sync failed")
            return
        if report.applied:
            log.info("stripe events applied: %s", report.outcomes)
            self._changed()

    def _check_waiting_payouts(self, gateway: PaymentGateway) -> None:
        """Payouts held for a trainer's setup go out once the account is ready."""
        for trainer_id in payouts.trainers_waiting(self.factory):
            try:
                payouts.refresh_account(self.factory, gateway, trainer_id)
            except payouts.PayoutError as error:
                log.warning("could not check trainer %s's payout account: %s", trainer_id,
                            error)

    # -- state -------------------------------------------------------------------------------
    def _next_wait(self) -> float:
        with self.factory() as uow:
            due = uow.operations.earliest_due()
        if due is None:
            return self.idle_interval
        seconds = (due - datetime.now(timezone.utc)).total_seconds()
        return max(0.05, min(seconds, self.idle_interval))

    def _note_error(self, error: GatewayError) -> None:
        offline = error.kind.offline
        self._set(online=False if offline else True,
                  key_rejected=error.kind is ErrorKind.KEY_REJECTED, last_error=error.message)

    def _set(self, **changes) -> None:
        with self._state_lock:  # several senders report concurrently
            new = replace(self.state, **changes)
            changed, self.state = new != self.state, new
        if changed:
            self._changed()

    def _changed(self) -> None:
        try:
            self._on_change(self.state)
        except Exception:  # noqa: BLE001 - a listener must not stop payments
            log.exception("outbox listener failed")
