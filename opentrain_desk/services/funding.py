"""Funding milestones: queue (outbox), record outcomes, reconcile, cancel.

The state change and the durable Stripe operation are committed together; a worker
sends the operation later with its stored idempotency key. Every outcome is audited
in the same transaction as the change it causes.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from ..domain.errors import DomainError
from ..domain.milestones import Action, Milestone, MilestoneStatus
from ..domain.operations import (ErrorKind, OperationKind, OperationStatus,
                                 StripeOperation)
from . import outcomes
from .notifications import notify_funding_failed
from .ports import GatewayError, PaymentResult
from .unit_of_work import UnitOfWork

WORKSPACE_ID = "workspace.id"


class NoPaymentMethod(DomainError):
    def __init__(self) -> None:
        super().__init__("Add a payment method before funding: Settings → Billing → "
                         "Add payment method.")


class StripeNotConnected(DomainError):
    def __init__(self) -> None:
        super().__init__("Connect Stripe first: Settings → Stripe → paste your secret key.")


#: A funding charged to a US bank account (ACH): Stripe settles it days later.
BANK_DEBIT = "bank debit"


def bank_methods_key(mode: str) -> str:
    """The saved payment methods that are US bank accounts (comma-separated ids)."""
    return f"stripe.{mode}.bank_payment_methods"


def customer_key(mode: str) -> str:
    return f"stripe.{mode}.customer_id"


def default_card_key(mode: str) -> str:
    return f"stripe.{mode}.default_payment_method"


def workspace_id(uow: UnitOfWork) -> str:
    """A stable id for this workspace (keyring entry name, Stripe metadata)."""
    value = uow.settings.get(WORKSPACE_ID)
    if value is None:
        value = uuid.uuid4().hex
        uow.settings.set(WORKSPACE_ID, value)
    return value


def _queue(uow: UnitOfWork, milestone: Milestone, mode: str | None,
           payment_method_id: str | None = None) -> StripeOperation:
    if mode is None:
        raise StripeNotConnected()
    from .subscriptions import require_plan
    require_plan(uow)
    customer = uow.settings.get(customer_key(mode))
    card = payment_method_id or uow.settings.get(default_card_key(mode))
    if not customer or not card:
        raise NoPaymentMethod()
    before = milestone.snapshot()
    milestone.apply(Action.START_FUNDING, uow.now)
    banks = (uow.settings.get(bank_methods_key(mode)) or "").split(",")
    operation = uow.operations.add(StripeOperation(
        kind=OperationKind.FUND_MILESTONE, amount_cents=milestone.amount_cents,
        milestone_id=milestone.id, customer_id=customer, payment_method_id=card,
        purpose=BANK_DEBIT if card in banks else "", created_at=uow.now,
        updated_at=uow.now))
    uow.audit("milestone", milestone.id, "funding queued", before,
              milestone.snapshot() | {"operation": operation.id})
    uow.audit("operation", None, "queued", after=operation.snapshot())
    return operation


def queue_funding(uow: UnitOfWork, milestone_id: int, mode: str | None,
                  payment_method_id: str | None = None) -> str:
    """Fund a Not Funded milestone: it becomes Funding and an operation is queued.

    Charges the default payment method unless another saved one is named."""
    with uow:
        milestone = uow.milestones.get(milestone_id, for_update=True)
        operation = _queue(uow, milestone, mode, payment_method_id)
        uow.commit()
        return operation.id


def queue_funding_in(uow: UnitOfWork, milestone: Milestone, mode: str | None) -> str:
    """For use inside another service's unit of work (the hire flow)."""
    return _queue(uow, milestone, mode).id


def cancel_funding(uow: UnitOfWork, milestone_id: int) -> None:
    """Cancel a queued funding that has not reached Stripe."""
    with uow:
        milestone = uow.milestones.get(milestone_id, for_update=True)
        operation = uow.operations.open_for_milestone(milestone_id, OperationKind.FUND_MILESTONE)
        if operation is None:
            raise DomainError("There is no queued funding for this milestone.")
        operation.cancel(uow.now)
        before = milestone.snapshot()
        milestone.apply(Action.CANCEL_FUNDING, uow.now, "Funding cancelled before it was sent.")
        uow.audit("milestone", milestone.id, "funding cancelled", before, milestone.snapshot())
        uow.audit("operation", None, "cancelled", after=operation.snapshot())
        uow.commit()


# -- worker side ----------------------------------------------------------------------

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


def record_payment(uow: UnitOfWork, operation_id: str, result: PaymentResult) -> None:
    """Apply what Stripe says about the PaymentIntent of a funding operation.

    Idempotent: recording the same outcome twice (two workers, a replayed key) changes
    nothing; an outcome that no longer applies is kept aside, never retried."""
    with uow:
        apply_payment(uow, operation_id, result)
        uow.commit()


def apply_payment(uow: UnitOfWork, operation_id: str, result: PaymentResult) -> str:
    """``record_payment`` inside the caller's transaction (the event sync records the
    event id in the same one); returns what it did."""
    operation = uow.operations.get(operation_id, for_update=True)
    if outcomes.already_settled(uow, operation, result.payment_intent_id, result.succeeded):
        return "already recorded"
    milestone = (uow.milestones.get(operation.milestone_id, for_update=True)
                 if operation.milestone_id is not None else None)
    if milestone is None or milestone.status is not MilestoneStatus.FUNDING:
        state = milestone.status.label if milestone else "deleted"
        outcomes.no_longer_applies(uow, operation, result, f"the milestone is {state}")
        return "no longer applies"
    before = milestone.snapshot()
    if result.succeeded:
        operation.succeed(uow.now, result.payment_intent_id, result.charge_id)
        milestone.apply(Action.FUNDING_SUCCEEDED, uow.now)
        milestone.payment_intent_id, milestone.charge_id = (result.payment_intent_id,
                                                            result.charge_id)
        issue_funding_invoice(uow, milestone, operation, result)
        action = "funded"
    elif result.needs_action:
        operation.needs_action(uow.now, result.payment_intent_id,
                               "Your bank asks you to authenticate this payment.")
        milestone.status_note = "Action needed: authenticate the payment (3-D Secure)."
        milestone.payment_intent_id = result.payment_intent_id
        action = "funding needs action"
    elif result.status in ("processing", "requires_confirmation", "requires_capture"):
        operation.needs_action(uow.now, result.payment_intent_id,
                               f"Stripe is still processing the payment ({result.status}).")
        if result.status == "processing":  # a bank debit: settles in a few business days
            operation.error_kind = ErrorKind.PROCESSING
            milestone.status_note = ("Bank debit processing: Stripe usually settles it "
                                     "within 4 business days.")
        action = "funding pending at Stripe"
    else:
        reason = result.failure_message or "The payment could not be completed."
        operation.fail(uow.now, ErrorKind.DECLINED, reason, result.payment_intent_id)
        milestone.apply(Action.FUNDING_FAILED, uow.now, reason)
        notify_funding_failed(uow, milestone, reason)
        action = "funding failed"
    uow.audit("milestone", milestone.id, action, before, milestone.snapshot()
              | {"payment_intent": result.payment_intent_id or None,
                 "charge": result.charge_id or None})
    uow.audit("operation", None, result.status, after=operation.snapshot())
    return action


def issue_funding_invoice(uow: UnitOfWork, milestone: Milestone,
                           operation: StripeOperation, result: PaymentResult) -> None:
    """Every successful funding produces an employer invoice, in the same transaction."""
    from ..domain.invoices import InvoiceKind
    from . import invoicing
    labels = uow.contracts.labels(milestone.contract_id)
    company = invoicing.company_party(uow)  # the agency issues it and is billed
    invoicing.issue(
        uow, InvoiceKind.EMPLOYER_FUNDING, issuer=company, bill_to=company,
        project=labels.job_title,
        description=f"Milestone funding: {milestone.title} — trainer {labels.trainer_name}",
        amount_cents=operation.amount_cents, payment_status="Paid",
        refs=(("PaymentIntent", result.payment_intent_id), ("Charge", result.charge_id)),
        job_id=labels.job_id, contract_id=milestone.contract_id, milestone_id=milestone.id,
        operation_id=operation.id)


def record_error(uow: UnitOfWork, operation_id: str, error: GatewayError,
                 attempt: int | None = None) -> bool:
    """Apply a failed call of attempt ``attempt``. Returns True when the operation will
    be retried. An error for an attempt that is no longer the operation's current one
    (another worker moved it on) changes nothing."""
    from .payouts import record_payout_error
    from .refunds import left_of_charge, refund_failed
    with uow:
        operation = uow.operations.get(operation_id, for_update=True)
        if operation.status is not OperationStatus.SENDING or (
                attempt is not None and operation.attempts != attempt):
            return False
        milestone = (uow.milestones.get(operation.milestone_id, for_update=True)
                     if operation.milestone_id is not None else None)
        before = milestone.snapshot() if milestone else None
        payout = operation.kind is OperationKind.PAYOUT
        if (payout and milestone and error.kind is ErrorKind.BALANCE
                and left_of_charge(uow, milestone) < operation.amount_cents):
            # the charge funding it was refunded or lost to a dispute: waiting won't help
            error = GatewayError(ErrorKind.INVALID, "The milestone's charge has not enough "
                                 "left to pay this out (refunded or disputed at Stripe).",
                                 error.code)
        retry = error.kind.retryable or error.kind is ErrorKind.KEY_REJECTED
        if error.kind.outcome_unknown:
            operation.outcome_unknown(uow.now, error.kind, error.message)
        elif retry:
            operation.retry_later(uow.now, error.kind, error.message)
        elif error.kind is ErrorKind.AUTH_REQUIRED and error.object_id:
            operation.needs_action(uow.now, error.object_id, error.message)
            if milestone:
                milestone.status_note = "Action needed: authenticate the payment (3-D Secure)."
        elif not (payout and error.kind is ErrorKind.NOT_READY):
            operation.fail(uow.now, error.kind, error.message, error.object_id)
            if operation.kind is OperationKind.REFUND:
                refund_failed(uow, operation, error.message)
            elif milestone and not payout and milestone.status is MilestoneStatus.FUNDING:
                milestone.apply(Action.FUNDING_FAILED, uow.now, error.message)
                notify_funding_failed(uow, milestone, error.message)
        if payout and milestone:
            record_payout_error(uow, operation, milestone, error)
        if milestone and (payout or not retry):
            uow.audit("milestone", milestone.id, f"{operation.kind.value}: "
                      f"{operation.status.value}", before, milestone.snapshot())
        uow.audit("operation", None, f"error: {error.kind.value}", after=operation.snapshot())
        uow.commit()
        return retry


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
