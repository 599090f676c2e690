"""Funding milestones: queue (outbox), record outcomes, cancel.

The state change and the durable Stripe operation are committed together; a worker
sends the operation later with its stored idempotency key. Every outcome is audited
in the same transaction as the change it causes.
"""
from __future__ import annotations

from ..domain.errors import DomainError
from ..domain.invoices import InvoiceKind
from ..domain.milestones import Action, Milestone, MilestoneStatus
from ..domain.operations import ErrorKind, OperationKind, OperationStatus, StripeOperation
from . import invoicing, operations, outcomes
from .conflicts import already_taken
from .notifications import notify_funding_failed
from .plan import require_plan
from .ports import GatewayError, PaymentResult
from .unit_of_work import UnitOfWork
from .workspace_settings import bank_methods_key, customer_key, default_card_key
from ..domain.roles import Capability
from .team import require


class NoPaymentMethod(DomainError):
    def __init__(self) -> None:
        super().__init__("Add a payment method before funding: Settings → Billing → "
                         "Add payment method.")


class StripeNotConnected(DomainError):
    def __init__(self) -> None:
        super().__init__("Connect Stripe first: Settings → Stripe → paste your secret key.")


#: A funding charged to a US bank account (ACH): Stripe settles it days later.
BANK_DEBIT = "bank debit"


def _queue(uow: UnitOfWork, milestone: Milestone, mode: str | None,
           payment_method_id: str | None = None) -> StripeOperation:
    if mode is None:
        raise StripeNotConnected()
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
        require(uow, Capability.FUND)
        milestone = uow.milestones.get(milestone_id, for_update=True)
        if milestone.status in (MilestoneStatus.FUNDING, MilestoneStatus.ACTIVE_FUNDED):
            raise already_taken(uow, milestone, "charged")  # another seat funded it first
        operation = _queue(uow, milestone, mode, payment_method_id)
        uow.commit()
        return operation.id


def queue_funding_in(uow: UnitOfWork, milestone: Milestone, mode: str | None) -> str:
    """For use inside another service's unit of work (the hire flow)."""
    return _queue(uow, milestone, mode).id


def cancel_funding(uow: UnitOfWork, milestone_id: int) -> None:
    """Cancel a queued funding that has not reached Stripe."""
    with uow:
        require(uow, Capability.FUND)
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


# -- outcomes (the outbox worker) -------------------------------------------------------

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
        milestone.status_note = operations.AUTHENTICATE
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
    """A failed charge of attempt ``attempt`` (see ``operations.record_error``): refused
    for good, the milestone is Not Funded again and the employer is told. Returns True
    when the operation will be retried."""
    return operations.record_error(uow, operation_id, error, attempt, _funding_error)


def _funding_error(uow: UnitOfWork, operation: StripeOperation, error: GatewayError) -> bool:
    milestone = operations.milestone_of(uow, operation)
    before = milestone.snapshot() if milestone else None
    retry = operations.apply_error(uow, operation, error)
    if milestone is not None:
        if operation.status is OperationStatus.NEEDS_ACTION:
            milestone.status_note = operations.AUTHENTICATE
        elif (operation.status is OperationStatus.FAILED
              and milestone.status is MilestoneStatus.FUNDING):
            milestone.apply(Action.FUNDING_FAILED, uow.now, error.message)
            notify_funding_failed(uow, milestone, error.message)
        if not retry:
            operations.audit_milestone(uow, operation, milestone, before)
    operations.audit_error(uow, operation, error)
    return retry
