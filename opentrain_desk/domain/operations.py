"""Durable Stripe operations (the outbox): what was asked, what came back, exactly once."""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .errors import DomainError


class OperationKind(enum.Enum):
    FUND_MILESTONE = "fund milestone"
    PAYOUT = "pay out milestone"
    SUBSCRIBE = "subscribe to plan"
    CHANGE_PLAN = "change plan"
    CANCEL_SUBSCRIPTION = "cancel plan at period end"
    RESUME_SUBSCRIPTION = "resume plan"
    REFUND = "refund payment"  # destination: the PaymentIntent refunded


class RefundPurpose(enum.Enum):
    """What a refund operation is for (stored in ``StripeOperation.purpose``)."""

    CANCEL = "cancel"            # cancel & refund a funded milestone
    REMAINDER = "remainder"      # partial release: the part not released
    PAYOUT_FAILED = "payout failed"  # a failed payout refunded to the employer instead
    STRAY = "stray"              # Check against Stripe: a charge no milestone can take
    OUTSIDE = "outside"          # made outside the app (Stripe Dashboard), recorded by sync


class OperationStatus(enum.Enum):
    QUEUED = "queued"            # waiting to be sent (or re-sent with the same key)
    SENDING = "sending"          # a request may have left: outcome unknown until recorded
    SUCCEEDED = "succeeded"
    FAILED = "failed"            # final: Stripe said no
    NEEDS_ACTION = "needs action"  # e.g. 3-D Secure authentication required
    CANCELLED = "cancelled"      # cancelled before it was sent
    WAITING = "waiting"          # payout: held until the trainer's account can receive it
    #: Recording its outcome failed (a bug, or an outcome that no longer applies): kept
    #: aside with the reason and Stripe's object id; never sent again by itself.
    ATTENTION = "needs attention"

    @property
    def open(self) -> bool:
        return self in (OperationStatus.QUEUED, OperationStatus.SENDING,
                        OperationStatus.NEEDS_ACTION, OperationStatus.WAITING,
                        OperationStatus.ATTENTION)


class ErrorKind(enum.Enum):
    NETWORK = "network"        # could not connect: the request never left (offline)
    TIMEOUT = "timeout"        # sent, no answer: Stripe may have acted on it
    CONNECTION_LOST = "connection lost"  # sent, connection dropped: may have been acted on
    RATE_LIMITED = "rate limited"
    SERVER = "server"          # 5xx, lock_timeout
    DECLINED = "declined"      # card declined
    AUTH_REQUIRED = "authentication required"
    KEY_REJECTED = "key rejected"  # invalid / revoked key, missing permission
    INVALID = "invalid request"
    NOT_READY = "not ready"    # payout: the trainer's account cannot receive transfers yet
    BALANCE = "balance"        # payout: platform balance not available yet
    PROCESSING = "processing"  # funding: a bank debit Stripe settles days later

    @property
    def retryable(self) -> bool:
        return self in (ErrorKind.NETWORK, ErrorKind.TIMEOUT, ErrorKind.RATE_LIMITED,
                        ErrorKind.SERVER, ErrorKind.BALANCE, ErrorKind.CONNECTION_LOST)

    @property
    def outcome_unknown(self) -> bool:
        """The request may have reached Stripe and been acted on: only a lookup at Stripe
        (or a replay of the same idempotency key) can tell what happened."""
        return self in (ErrorKind.TIMEOUT, ErrorKind.SERVER, ErrorKind.CONNECTION_LOST)

    @property
    def offline(self) -> bool:
        return self in (ErrorKind.NETWORK, ErrorKind.TIMEOUT, ErrorKind.CONNECTION_LOST)


MAX_BACKOFF = timedelta(minutes=5)
#: After a timeout or 5xx, let a request still in flight land before reconciling.
SETTLE_TIME = timedelta(seconds=5)


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at five minutes."""
    return min(timedelta(seconds=2 ** max(0, attempts - 1)), MAX_BACKOFF)


class OperationStateError(DomainError):
    pass


@dataclass(eq=False)
class StripeOperation:
    kind: OperationKind
    amount_cents: int
    milestone_id: int | None = None
    customer_id: str = ""
    payment_method_id: str = ""
    destination: str = ""  # payouts: the connected account; subscriptions: the plan id
    status: OperationStatus = OperationStatus.QUEUED
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    idempotency_key: str = ""
    attempts: int = 0
    error_kind: ErrorKind | None = None
    last_error: str = ""
    stripe_object_id: str = ""
    charge_id: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    #: A request for it may have reached Stripe (an unknown outcome, or a crash while it
    #: was sending). Such an operation is never cancelled: only Stripe's answer to its own
    #: idempotency key settles it.
    maybe_sent: bool = False
    #: Set when its milestone was deleted: "#<id> <title>" (the history stays).
    milestone_ref: str = ""
    #: Optimistic version: every UPDATE is a compare-and-set on the version it was read in.
    version: int = 1
    #: Refunds: why the money goes back (see ``RefundPurpose``) and the person's reason.
    purpose: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if not self.idempotency_key:
            self.idempotency_key = f"otd-{self.kind.name.lower()}-{self.id}"

    def _require(self, *allowed: OperationStatus) -> None:
        if self.status not in allowed:
            raise OperationStateError(
                f"The {self.kind.value} operation is {self.status.value}; it cannot change now.")

    def mark_sending(self, now: datetime, lease: timedelta = timedelta(seconds=60)) -> None:
        """Committed BEFORE the request leaves, so a crash leaves a trace to reconcile.

        Nobody reconciles it before ``lease`` has passed (another instance sharing the
        workspace may still be waiting for Stripe's answer)."""
        self._require(OperationStatus.QUEUED)
        self.status, self.attempts, self.sent_at, self.updated_at = (
            OperationStatus.SENDING, self.attempts + 1, now, now)
        self.next_attempt_at = now + lease

    def retry_later(self, now: datetime, kind: ErrorKind, message: str) -> None:
        self._require(OperationStatus.SENDING, OperationStatus.QUEUED)
        self.status, self.error_kind, self.last_error = OperationStatus.QUEUED, kind, message
        self.next_attempt_at = now + backoff(self.attempts)
        self.updated_at = now

    def outcome_unknown(self, now: datetime, kind: ErrorKind, message: str) -> None:
        """Sent, but no reliable answer (timeout, 5xx, dropped connection): stays
        ``sending`` until a lookup at Stripe settles it."""
        self._require(OperationStatus.SENDING)
        self.error_kind, self.last_error, self.maybe_sent = kind, message, True
        self.next_attempt_at = now + max(backoff(self.attempts), SETTLE_TIME)
        self.updated_at = now

    @property
    def unknown_outcome(self) -> bool:
        return self.status is OperationStatus.SENDING

    def succeed(self, now: datetime, object_id: str, charge_id: str = "") -> None:
        self._require(OperationStatus.SENDING, OperationStatus.QUEUED,
                      OperationStatus.NEEDS_ACTION, OperationStatus.ATTENTION)
        self.status, self.stripe_object_id, self.charge_id = (
            OperationStatus.SUCCEEDED, object_id, charge_id)
        self.error_kind, self.last_error, self.updated_at = None, "", now

    def fail(self, now: datetime, kind: ErrorKind, message: str, object_id: str = "") -> None:
        self._require(OperationStatus.SENDING, OperationStatus.QUEUED,
                      OperationStatus.NEEDS_ACTION, OperationStatus.ATTENTION)
        self.status, self.error_kind, self.last_error = OperationStatus.FAILED, kind, message
        self.stripe_object_id = object_id or self.stripe_object_id
        self.updated_at = now

    def needs_action(self, now: datetime, object_id: str, message: str) -> None:
        self._require(OperationStatus.SENDING, OperationStatus.QUEUED,
                      OperationStatus.NEEDS_ACTION)
        self.status, self.stripe_object_id = OperationStatus.NEEDS_ACTION, object_id
        self.error_kind, self.last_error, self.updated_at = (
            ErrorKind.AUTH_REQUIRED, message, now)

    def wait_for_setup(self, now: datetime, message: str) -> None:
        """Park a payout: nothing is sent until the destination account is ready."""
        self._require(OperationStatus.QUEUED, OperationStatus.SENDING, OperationStatus.WAITING)
        self.status, self.error_kind, self.last_error = (OperationStatus.WAITING,
                                                         ErrorKind.NOT_READY, message)
        self.updated_at = now

    def release(self, now: datetime, destination: str) -> None:
        """The account is ready: queue the payout (again) for it."""
        self._require(OperationStatus.WAITING)
        self.status, self.destination, self.next_attempt_at = (OperationStatus.QUEUED,
                                                               destination, now)
        self.updated_at = now

    def requeue_unsent(self, now: datetime) -> None:
        """A lookup at Stripe found nothing: send again with the SAME idempotency key
        (Stripe replays the first request's result if it did arrive after all)."""
        self._require(OperationStatus.SENDING)
        self.status, self.maybe_sent, self.updated_at = OperationStatus.QUEUED, True, now
        self.next_attempt_at = max(now, self.next_attempt_at or now)

    def failed_later(self, now: datetime, message: str) -> None:
        """Stripe reported a success that it undid later (a refund that failed days after)."""
        self._require(OperationStatus.SUCCEEDED)
        self.status, self.error_kind, self.last_error, self.updated_at = (
            OperationStatus.FAILED, ErrorKind.DECLINED, message, now)

    def needs_attention(self, now: datetime, reason: str, object_id: str = "") -> None:
        """Recording failed: keep the operation aside (never re-sent) with the reason."""
        self.status, self.last_error, self.updated_at = OperationStatus.ATTENTION, reason, now
        self.stripe_object_id = object_id or self.stripe_object_id

    @property
    def cancellable(self) -> bool:
        return cancellable(self.status, self.maybe_sent)

    def cancel(self, now: datetime) -> None:
        if self.status is not OperationStatus.QUEUED:
            raise OperationStateError(
                "Only a queued operation that has not been sent can be cancelled"
                + (": this one may already have reached Stripe." if self.status is
                   OperationStatus.SENDING else f" (this one is {self.status.value})."))
        if self.maybe_sent:
            raise OperationStateError(
                "This payment may already have reached Stripe: it is being checked with "
                "Stripe and cannot be cancelled until Stripe answers.")
        self.status, self.updated_at = OperationStatus.CANCELLED, now

    def snapshot(self) -> dict:
        return {"operation": self.id, "kind": self.kind.value, "status": self.status.value,
                "amount_cents": self.amount_cents, "attempts": self.attempts,
                "stripe_object": self.stripe_object_id or None,
                "error": self.last_error or None} | (
                    {"maybe_sent": True} if self.maybe_sent else {})


def cancellable(status: OperationStatus | None, maybe_sent: bool) -> bool:
    """Only an operation that is queued and cannot have reached Stripe may be cancelled."""
    return status is OperationStatus.QUEUED and not maybe_sent
