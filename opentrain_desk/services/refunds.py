"""Money that goes back to the employer: cancel & refund, the unreleased part of a
partial release, a failed payout refunded instead, a stray charge.

Every refund is an outbox operation (idempotency key + lookup of the PaymentIntent's
refunds by ``metadata.operation_id`` after a lost answer or a crash), and every refund
that succeeds issues a credit note naming the invoice it corrects.
"""
from __future__ import annotations

from ..domain.errors import DomainError, IllegalTransition
from ..domain.invoices import InvoiceKind
from ..domain.milestones import Action, Milestone, MilestoneStatus, PayoutStatus
from ..domain.money import Money
from ..domain.operations import (ErrorKind, OperationKind, OperationStatus, RefundPurpose,
                                 StripeOperation)
from . import invoicing, operations, outcomes
from .notifications import message_trainer, notify
from .ports import GatewayError, RefundResult
from .unit_of_work import UnitOfWork
from ..domain.roles import Capability
from .team import require

#: What a refund of each purpose corrects: the funding (employer) or the payout invoice.
CORRECTS = {RefundPurpose.CANCEL: InvoiceKind.EMPLOYER_FUNDING,
            RefundPurpose.REMAINDER: InvoiceKind.EMPLOYER_FUNDING,
            RefundPurpose.PAYOUT_FAILED: InvoiceKind.TRAINER_PAYOUT}


def refunded_so_far(uow: UnitOfWork, payment_intent_id: str) -> int:
    """Cents refunded or on their way back for a charge (failed refunds do not count)."""
    return sum(op.amount_cents for op in uow.operations.refunds_of(payment_intent_id)
               if op.status not in (OperationStatus.FAILED, OperationStatus.CANCELLED))


def queue(uow: UnitOfWork, *, payment_intent_id: str, amount_cents: int, charged_cents: int,
          purpose: RefundPurpose, reason: str, milestone_id: int | None = None
          ) -> StripeOperation:
    """Inside the caller's unit of work: validate and queue one refund operation."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the money is refunded (the trainer and the audit log see "
                          "it).")
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise DomainError("The refund must be a positive amount.")
    if not payment_intent_id:
        raise DomainError("There is no charge to refund.")
    left = charged_cents - refunded_so_far(uow, payment_intent_id)
    if amount_cents > left:
        raise DomainError(f"At most {Money(max(left, 0)).format()} of this charge can be "
                          f"refunded ({Money(charged_cents).format()} charged, "
                          f"{Money(charged_cents - left).format()} refunded already).")
    operation = uow.operations.add(StripeOperation(
        kind=OperationKind.REFUND, amount_cents=amount_cents, milestone_id=milestone_id,
        destination=payment_intent_id, purpose=purpose.value, note=reason[:2000],
        created_at=uow.now, updated_at=uow.now))
    uow.audit("operation", None, "refund queued", after=operation.snapshot() | {
        "payment_intent": payment_intent_id, "purpose": purpose.value, "reason": reason})
    return operation


def _context(uow: UnitOfWork, milestone: Milestone):
    contract = uow.contracts.get(milestone.contract_id)
    return contract, uow.jobs.get(contract.job_id), uow.trainers.get(contract.trainer_id)


def cancel_and_refund(uow: UnitOfWork, milestone_id: int, amount_cents: int, reason: str,
                      trainer_agreed: bool = False) -> str:
    """End a funded milestone and give the unreleased money back: Refunding until Stripe
    answers, then Refunded. From Pending approval only once the trainer agreed."""
    with uow:
        require(uow, Capability.REFUND)
        milestone = uow.milestones.get(milestone_id, for_update=True)
        if milestone.status is MilestoneStatus.PENDING_APPROVAL and not trainer_agreed:
            raise DomainError("The trainer has submitted this milestone: request changes "
                              "first, or record that the trainer agreed to the cancellation.")
        if milestone.status not in (MilestoneStatus.ACTIVE_FUNDED,
                                    MilestoneStatus.PENDING_APPROVAL):
            raise IllegalTransition(milestone.status.label, Action.REFUND.verb)
        operation = queue(uow, payment_intent_id=milestone.payment_intent_id or "",
                          amount_cents=amount_cents, charged_cents=_charged(uow, milestone),
                          purpose=RefundPurpose.CANCEL, reason=reason,
                          milestone_id=milestone.id)
        before = milestone.snapshot()
        milestone.apply(Action.REFUND, uow.now, f"Cancelled: {reason.strip()}")
        uow.audit("milestone", milestone.id, "cancel & refund", before, milestone.snapshot()
                  | {"operation": operation.id, "refund_cents": amount_cents,
                     "trainer_agreed": trainer_agreed})
        contract, job, trainer = _context(uow, milestone)
        message_trainer(uow, trainer.id, "milestone cancelled",
                        f"“{milestone.title}” was cancelled",
                        trainer_notice(trainer.name, milestone.title, job.title, reason),
                        event=f"refund:{operation.id}:cancelled", milestone=milestone.title,
                        job=job.title, reason=reason.strip())
        uow.commit()
        return operation.id


def trainer_notice(trainer: str, milestone: str, job: str, reason: str) -> str:
    """What the trainer is told when a milestone is cancelled (shown in the dialog too)."""
    where = f" ({job})" if job else ""
    return (f"Hi {trainer},\n\n“{milestone}”{where} was cancelled and its funds returned "
            f"to the agency.\nReason: {reason.strip()}\n\nNo payment will be made for it.")


def left_of_charge(uow: UnitOfWork, milestone: Milestone) -> int:
    """What of the milestone's charge is still with the agency at Stripe: the charge less
    refunds (in the app or recorded from Stripe) and lost disputes."""
    intent = milestone.payment_intent_id or ""
    lost = sum(row.amount_cents for row in uow.disputes.lost_for(intent))
    return _charged(uow, milestone) - refunded_so_far(uow, intent) - lost


def _charged(uow: UnitOfWork, milestone: Milestone) -> int:
    for operation in uow.operations.for_milestone(milestone.id):
        if (operation.kind is OperationKind.FUND_MILESTONE and operation.status is
                OperationStatus.SUCCEEDED and operation.stripe_object_id ==
                milestone.payment_intent_id):
            return operation.amount_cents
    return milestone.amount_cents


# -- outcomes (the outbox worker) ---------------------------------------------------------

def record_refund(uow: UnitOfWork, operation_id: str, result: RefundResult) -> None:
    with uow:
        apply_refund(uow, operation_id, result)
        uow.commit()


def apply_refund(uow: UnitOfWork, operation_id: str, result: RefundResult) -> str:
    """``record_refund`` inside the caller's transaction; returns what it did."""
    operation = uow.operations.get(operation_id, for_update=True)
    if outcomes.already_settled(uow, operation, result.id, result.succeeded):
        return "already recorded"
    if result.succeeded:
        operation.succeed(uow.now, result.id)
        _refunded(uow, operation, result.id)
    else:
        operation.fail(uow.now, ErrorKind.DECLINED,
                       f"Stripe did not refund it ({result.status}).", result.id)
        refund_failed(uow, operation, operation.last_error)
    uow.audit("operation", None, f"refund {result.status}",
              after=operation.snapshot() | {"payment_intent": result.payment_intent_id})
    return f"refund {result.status}"


def record_outside_refund(uow: UnitOfWork, result: RefundResult) -> str:
    """A refund made outside the app (the Stripe Dashboard): recorded once, with a credit
    note; the milestone becomes Refunded when its whole charge went back."""
    if uow.operations.by_stripe_object(result.id) is not None:
        return "already recorded"
    if not result.succeeded:
        return f"refund {result.status}: no money moved"
    milestone = uow.milestones.by_payment_intent(result.payment_intent_id)
    if milestone is None:
        return "not in these books"
    operation = uow.operations.add(StripeOperation(
        kind=OperationKind.REFUND, amount_cents=result.amount, milestone_id=milestone.id,
        destination=result.payment_intent_id, purpose=RefundPurpose.OUTSIDE.value,
        note="Refunded outside the app (Stripe Dashboard)", status=OperationStatus.SUCCEEDED,
        stripe_object_id=result.id, maybe_sent=True, created_at=uow.now, updated_at=uow.now))
    refunded_all = refunded_so_far(uow, result.payment_intent_id) >= _charged(uow, milestone)
    before = milestone.snapshot()
    note = f"{Money(result.amount).format()} refunded in the Stripe Dashboard ({result.id})."
    if refunded_all and milestone.status in (MilestoneStatus.ACTIVE_FUNDED,
                                             MilestoneStatus.PENDING_APPROVAL,
                                             MilestoneStatus.REFUNDING):
        milestone.apply(Action.REFUNDED_AT_STRIPE, uow.now, note)
    else:
        milestone.status_note = note
    number = invoicing.issue_credit_note(uow, milestone.id, InvoiceKind.EMPLOYER_FUNDING,
                                         result.amount, "Refunded in the Stripe Dashboard",
                                         result.id, operation.id)
    uow.audit("milestone", milestone.id, "refunded at Stripe", before, milestone.snapshot()
              | {"refund": result.id, "refund_cents": result.amount, "credit_note": number})
    contract, job, _trainer = _context(uow, milestone)
    notify(uow, "refunded", f"{Money(result.amount).format()} refunded at Stripe",
           f"“{milestone.title}” ({job.title}) was refunded in the Stripe Dashboard "
           f"({result.id}); credit note {number}. Whoever manages the Stripe account should "
           "confirm it was intended.", job_id=job.id, contract_id=contract.id,
           milestone_id=milestone.id)
    return "outside refund recorded"


def _refunded(uow: UnitOfWork, operation: StripeOperation, refund_id: str) -> None:
    purpose = RefundPurpose(operation.purpose or RefundPurpose.STRAY.value)
    for stray in uow.operations.with_status(OperationStatus.ATTENTION):
        if stray.stripe_object_id == operation.destination:
            stray.fail(uow.now, ErrorKind.DECLINED, f"Charged after the books had settled it; "
                       f"refunded ({refund_id}).", stray.stripe_object_id)
    if operation.milestone_id is None or purpose is RefundPurpose.STRAY:
        return
    milestone = uow.milestones.get(operation.milestone_id, for_update=True)
    before = milestone.snapshot()
    if purpose is RefundPurpose.CANCEL and milestone.status is MilestoneStatus.REFUNDING:
        milestone.apply(Action.REFUND_SUCCEEDED, uow.now, milestone.status_note)
    elif purpose is RefundPurpose.PAYOUT_FAILED:
        milestone.payout_status = PayoutStatus.REFUNDED
        invoicing.set_payment_status(uow, milestone.id, InvoiceKind.TRAINER_PAYOUT,
                                     "Refunded to employer")
    number = invoicing.issue_credit_note(uow, milestone.id, CORRECTS[purpose],
                                         operation.amount_cents, operation.note, refund_id,
                                         operation.id)
    uow.audit("milestone", milestone.id, "refunded", before, milestone.snapshot()
              | {"refund": refund_id, "refund_cents": operation.amount_cents,
                 "credit_note": number})
    contract, job, _trainer = _context(uow, milestone)
    notify(uow, "refunded", f"{Money(operation.amount_cents).format()} refunded",
           f"“{milestone.title}” ({job.title}) — refund {refund_id}, credit note {number}.",
           job_id=job.id, contract_id=contract.id, milestone_id=milestone.id)


def record_error(uow: UnitOfWork, operation_id: str, error: GatewayError,
                 attempt: int | None = None) -> bool:
    """A failed refund call of attempt ``attempt`` (see ``operations.record_error``):
    refused for good, the milestone gets its money's state back (``refund_failed``).
    Returns True when the operation will be retried."""
    return operations.record_error(uow, operation_id, error, attempt, _refund_error)


def _refund_error(uow: UnitOfWork, operation: StripeOperation, error: GatewayError) -> bool:
    milestone = operations.milestone_of(uow, operation)
    before = milestone.snapshot() if milestone else None
    retry = operations.apply_error(uow, operation, error)
    if operation.status is OperationStatus.FAILED:
        refund_failed(uow, operation, error.message)
    if milestone is not None:
        if operation.status is OperationStatus.NEEDS_ACTION:
            milestone.status_note = operations.AUTHENTICATE
        if not retry:
            operations.audit_milestone(uow, operation, milestone, before)
    operations.audit_error(uow, operation, error)
    return retry


def refund_failed(uow: UnitOfWork, operation: StripeOperation, reason: str) -> None:
    """Stripe refused the refund: a cancelled milestone is Active & Funded again, with the
    reason; other refunds keep their milestone as it was and say why."""
    if operation.milestone_id is None:
        return
    milestone = uow.milestones.get(operation.milestone_id, for_update=True)
    before = milestone.snapshot()
    if milestone.status is MilestoneStatus.REFUNDING:
        milestone.apply(Action.REFUND_FAILED, uow.now, f"Refund failed: {reason}")
    else:
        milestone.status_note = f"Refund of {Money(operation.amount_cents).format()} failed: " \
                                f"{reason}"
    uow.audit("milestone", milestone.id, "refund failed", before, milestone.snapshot())
    contract, job, _trainer = _context(uow, milestone)
    notify(uow, "refund failed", f"Refund of {Money(operation.amount_cents).format()} failed",
           f"“{milestone.title}” ({job.title}): {reason}", job_id=job.id,
           contract_id=contract.id, milestone_id=milestone.id)


def refund_failed_later(uow: UnitOfWork, operation: StripeOperation,
                        result: RefundResult) -> str:
    """A refund Stripe reported done, failed days later: the money is with the agency
    again. The credit note stands as issued; an employer invoice re-states the amount."""
    operation.failed_later(uow.now, f"The refund {result.id} failed at Stripe after it was "
                                    "reported done.")
    if operation.milestone_id is None:
        return "refund failed later"
    milestone = uow.milestones.get(operation.milestone_id, for_update=True)
    before = milestone.snapshot()
    note = f"Refund of {Money(operation.amount_cents).format()} failed at Stripe ({result.id})."
    if milestone.status is MilestoneStatus.REFUNDED:
        milestone.apply(Action.REFUND_FAILED, uow.now, note)
    else:
        milestone.status_note = note
    contract, job, _trainer = _context(uow, milestone)
    invoicing.issue(uow, InvoiceKind.EMPLOYER_FUNDING, bill_to=invoicing.company_party(uow),
                    project=job.title, description=f"Refund {result.id} of “{milestone.title}” "
                    "failed at Stripe: the amount credited is charged again",
                    amount_cents=operation.amount_cents, payment_status="Paid",
                    refs=(("Failed refund", result.id),), job_id=job.id,
                    contract_id=contract.id, milestone_id=milestone.id,
                    operation_id=operation.id)
    uow.audit("milestone", milestone.id, "refund failed later", before, milestone.snapshot()
              | {"refund": result.id})
    notify(uow, "refund failed", f"Refund of {Money(operation.amount_cents).format()} failed",
           f"“{milestone.title}” ({job.title}): Stripe could not return the money ({result.id}); "
           "it is with the agency again.", job_id=job.id, contract_id=contract.id,
           milestone_id=milestone.id)
    return "refund failed later"
