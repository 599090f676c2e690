"""The outbox's side of every Stripe operation, whatever its kind: claim the next due
one, keep a failed call's outcome, re-queue, set aside, retry now.

What a failed call means for the books (a milestone's funding failed, a payout waits for
the trainer's setup, a refund was refused) belongs to each use case: ``funding``,
``payouts`` and ``refunds`` pass their own consequences to :func:`record_error`, and the
outbox worker calls the recorder of the operation's kind. Every status change here is a
compare-and-set on the attempt that was sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from ..domain.milestones import Milestone
from ..domain.operations import ErrorKind, OperationKind, OperationStatus, StripeOperation
from .ports import GatewayError
from .unit_of_work import UnitOfWork
from .workspace_settings import workspace_id


@dataclass(frozen=True)
class Claimed:
    """What the worker needs to send one operation (read inside the claiming tx)."""

    id: str
    kind: OperationKind
    idempotency_key: str
    amount_cents: int
    customer_id: str
    payment_method_id: str
    destination: str
    metadata: dict
    attempts: int
    charge_id: str = ""
    transfer_group: str = ""
    purpose: str = ""


def transfer_group(contract_id: int, milestone_id: int) -> str:
    """Stripe transfer_group of a milestone's payout (also used to reconcile it)."""
    return f"contract-{contract_id}-milestone-{milestone_id}"


def claim_next(uow: UnitOfWork, kinds: tuple[OperationKind, ...],
               lease: timedelta = timedelta(seconds=60),
               workspace: str | None = None) -> Claimed | None:
    """Mark the next due operation as sending and COMMIT before any request leaves."""
    with uow:
        operation_id = uow.operations.claim_due(uow.now, kinds, lease)
        if operation_id is None:
            return None
        row = uow.operations.claim_details(operation_id)
        metadata = {"workspace_id": workspace or workspace_id(uow), "operation_id": row.id}
        group = ""
        if row.mid is not None:
            metadata |= {"milestone_id": str(row.mid), "contract_id": str(row.cid),
                         "job_id": str(row.job_id)}
            group = transfer_group(row.cid, row.mid)
        uow.commit()
        return Claimed(row.id, row.kind, row.idempotency_key, row.amount_cents,
                       row.customer_id, row.payment_method_id, row.destination, metadata,
                       row.attempts, row.charge_id or "", group, row.purpose or "")


# -- a failed call ------------------------------------------------------------------------

#: What a kind of operation makes of a failed call, inside the recording transaction:
#: updates the operation (usually with :func:`apply_error`) and what depends on it, audits
#: (:func:`audit_error`), and returns whether the operation will be retried.
Consequences = Callable[[UnitOfWork, StripeOperation, GatewayError], bool]


def apply_error(uow: UnitOfWork, operation: StripeOperation, error: GatewayError) -> bool:
    """The operation's own state after a failed call; returns True when it will be retried.

    Outcome unknown (timeout, 5xx): stays sending until a lookup; retryable: queued again
    after a back-off; authentication required: needs action; anything else: failed."""
    retry = error.kind.retryable or error.kind is ErrorKind.KEY_REJECTED
    if error.kind.outcome_unknown:
        operation.outcome_unknown(uow.now, error.kind, error.message)
    elif retry:
        operation.retry_later(uow.now, error.kind, error.message)
    elif error.kind is ErrorKind.AUTH_REQUIRED and error.object_id:
        operation.needs_action(uow.now, error.object_id, error.message)
    else:
        operation.fail(uow.now, error.kind, error.message, error.object_id)
    return retry


def audit_error(uow: UnitOfWork, operation: StripeOperation, error: GatewayError) -> None:
    uow.audit("operation", None, f"error: {error.kind.value}", after=operation.snapshot())


def plain_error(uow: UnitOfWork, operation: StripeOperation, error: GatewayError) -> bool:
    """Consequences of a failed call for an operation nothing else depends on (the
    subscription operations)."""
    retry = apply_error(uow, operation, error)
    audit_error(uow, operation, error)
    return retry


def record_error(uow: UnitOfWork, operation_id: str, error: GatewayError,
                 attempt: int | None = None, consequences: Consequences = plain_error
                 ) -> bool:
    """Apply a failed call of attempt ``attempt``. Returns True when the operation will
    be retried. An error for an attempt that is no longer the operation's current one
    (another worker moved it on) changes nothing."""
    with uow:
        operation = uow.operations.get(operation_id, for_update=True)
        if operation.status is not OperationStatus.SENDING or (
                attempt is not None and operation.attempts != attempt):
            return False
        retry = consequences(uow, operation, error)
        uow.commit()
        return retry


def milestone_of(uow: UnitOfWork, operation: StripeOperation) -> Milestone | None:
    """The operation's milestone, locked for the change (None once deleted/detached)."""
    if operation.milestone_id is None:
        return None
    return uow.milestones.get(operation.milestone_id, for_update=True)


AUTHENTICATE = "Action needed: authenticate the payment (3-D Secure)."


def audit_milestone(uow: UnitOfWork, operation: StripeOperation, milestone: Milestone,
                    before: dict) -> None:
    uow.audit("milestone", milestone.id, f"{operation.kind.value}: "
              f"{operation.status.value}", before, milestone.snapshot())


# -- other outcomes -----------------------------------------------------------------------

def requeue_unsent(uow: UnitOfWork, operation_id: str, attempt: int | None = None) -> bool:
    """A lookup at Stripe found nothing for attempt ``attempt``: send again with the same
    idempotency key. Compare-and-set: only while that attempt is still the operation's
    current, unsettled one. Returns whether it was re-queued."""
    with uow:
        operation = uow.operations.get(operation_id, for_update=True)
        if operation.status is not OperationStatus.SENDING or (
                attempt is not None and operation.attempts != attempt):
            return False
        operation.requeue_unsent(uow.now)
        uow.audit("operation", None, "reconciled: not at Stripe, re-queued",
                  after=operation.snapshot())
        uow.commit()
        return True


def mark_attention(uow: UnitOfWork, operation_id: str, reason: str,
                   object_id: str = "") -> None:
    """Recording an operation's outcome failed: keep it aside with the reason (shown in
    the app and the log) so the worker goes on with the others."""
    with uow:
        operation = uow.operations.get(operation_id, for_update=True)
        if operation.status in (OperationStatus.SUCCEEDED, OperationStatus.CANCELLED):
            return
        operation.needs_attention(uow.now, reason, object_id)
        uow.audit("operation", None, "needs attention", after=operation.snapshot())
        uow.commit()


def retry_now(uow: UnitOfWork) -> int:
    """"Sync now": queued operations waiting out a back-off become due immediately."""
    with uow:
        waiting = [op for op in uow.operations.with_status(OperationStatus.QUEUED)
                   if op.next_attempt_at is not None and op.next_attempt_at > uow.now]
        for op in waiting:
            op.next_attempt_at = uow.now
        uow.commit()
        return len(waiting)
