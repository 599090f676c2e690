"""Approval and trainer payouts over Stripe Connect.

Approving marks the milestone Paid and queues a payout operation in the same
transaction. The payout (a Transfer to the trainer's connected account, funded by the
milestone's charge via ``source_transaction``) waits while the trainer's account cannot
receive transfers; nothing is sent until it can.
"""
from __future__ import annotations

from ..domain.errors import DomainError
from ..domain.invoices import InvoiceKind, InvoiceParty
from ..domain.milestones import Milestone, MilestoneStatus, PayoutStatus
from ..domain.money import Money
from ..domain.operations import (ErrorKind, OperationKind, OperationStatus, RefundPurpose,
                                 StripeOperation)
from . import invoicing, operations, refunds
from .conflicts import already_taken
from .notifications import message_trainer, notify, resolve, was_prompted_since, withdraw_unsent
from .outcomes import already_settled
from .ports import AccountInfo, GatewayError, PaymentGateway, TransferResult
from .unit_of_work import UnitOfWork, UnitOfWorkFactory
from ..domain.roles import Capability
from .team import require, require_in

#: Where Stripe sends the trainer after onboarding (Stripe requires https URLs).
ONBOARDING_RETURN_URL = "https://connect.stripe.com/express_login"


class PayoutError(DomainError):
    pass


def _context(uow: UnitOfWork, milestone: Milestone):
    contract = uow.contracts.get(milestone.contract_id)
    return contract, uow.jobs.get(contract.job_id), uow.trainers.get(contract.trainer_id)


def approve_milestone(uow: UnitOfWork, milestone_id: int,
                      release_cents: int | None = None, reason: str = "") -> str:
    """Approve & release: Paid now, payout queued (or waiting for the trainer's setup).

    ``release_cents`` below the milestone amount is a partial release: the transfer is for
    the released part and the remainder is refunded to the employer (both through the
    outbox, each exactly once). Raises IllegalTransition unless the milestone is Pending
    approval, so a second click or a second window cannot approve (and pay) twice."""
    with uow:
        require(uow, Capability.APPROVE)
        milestone = uow.milestones.get(milestone_id, for_update=True)
        if milestone.status is MilestoneStatus.PAID:  # another seat approved it first
            raise already_taken(uow, milestone, "paid")
        if uow.disputes.open_for_milestones([milestone.id]):
            raise DomainError(f"“{milestone.title}”'s charge is disputed: answer the dispute "
                              "first; nothing can be released while it is open.")
        release = _release_amount(milestone, release_cents,
                                  refunds.refunded_so_far(uow, milestone.payment_intent_id or ""))
        contract, job, trainer = _context(uow, milestone)
        before = milestone.snapshot()
        milestone.approve(uow.now, uow.actor)
        resolve(uow, milestone.id)  # "review and approve" is done
        operation = uow.operations.add(StripeOperation(
            kind=OperationKind.PAYOUT, amount_cents=release, milestone_id=milestone.id,
            destination=trainer.stripe_account_id or "", created_at=uow.now,
            updated_at=uow.now))
        amount = Money(release).format()
        if trainer.payout_ready:
            milestone.payout_status = PayoutStatus.NOT_STARTED
            message_trainer(uow, trainer.id, "payout started", f"{amount} approved for you",
                            f"Hi {trainer.name},\n\n“{milestone.title}” ({job.title}) was "
                            f"approved. {amount} is being sent to your Stripe account; we "
                            "will write again once it has been sent.",
                            event=f"payout:{operation.id}:started", amount=amount,
                            milestone=milestone.title, job=job.title)
        else:
            operation.wait_for_setup(uow.now, trainer.payout_readiness())
            milestone.payout_status = PayoutStatus.PENDING_SETUP
            _ask_for_setup(uow, trainer, milestone, job.title, amount,
                           event=f"payout:{operation.id}:setup")
        invoicing.issue(
            uow, InvoiceKind.TRAINER_PAYOUT,
            bill_to=InvoiceParty(trainer.name, (), trainer.email),
            project=job.title, description=f"Milestone payout: {milestone.title}"
            + (f" (partial release of {Money(milestone.amount_cents).format()})"
               if release < milestone.amount_cents else ""),
            amount_cents=release, payment_status=PAYOUT_PENDING,
            refs=(("Source charge", milestone.charge_id or "—"),
                  ("Transfer group", operations.transfer_group(contract.id, milestone.id))),
            job_id=job.id, contract_id=contract.id, milestone_id=milestone.id,
            operation_id=operation.id)
        extra = {}
        already = refunds.refunded_so_far(uow, milestone.payment_intent_id or "")
        if release + already < milestone.amount_cents:
            remainder = refunds.queue(
                uow, payment_intent_id=milestone.payment_intent_id or "",
                amount_cents=milestone.amount_cents - release - already,
                charged_cents=milestone.amount_cents, purpose=RefundPurpose.REMAINDER,
                reason=reason or "Partial release: the part not released",
                milestone_id=milestone.id)
            extra = {"released_cents": release, "refund_operation": remainder.id}
        uow.audit("milestone", milestone.id, "approved", before,
                  milestone.snapshot() | {"operation": operation.id} | extra)
        uow.audit("operation", None, "payout queued", after=operation.snapshot())
        uow.commit()
        return operation.id


PAYOUT_PENDING = "Payout pending"


def _release_amount(milestone: Milestone, release_cents: int | None,
                    refunded: int = 0) -> int:
    """What approving releases: by default the milestone amount, less whatever of its
    charge was refunded already (e.g. in the Stripe Dashboard)."""
    left = milestone.amount_cents - refunded
    if left <= 0:
        raise DomainError("The whole charge of this milestone was refunded: there is nothing "
                          "left to release.")
    if release_cents is None:
        return left
    if isinstance(release_cents, bool) or not isinstance(release_cents, int) or \
            release_cents <= 0:
        raise DomainError("Release a positive amount (to release nothing, cancel & refund "
                          "the milestone instead).")
    if release_cents > milestone.amount_cents:
        raise DomainError(f"At most the milestone amount "
                          f"({Money(milestone.amount_cents).format()}) can be released.")
    if release_cents > left:
        raise DomainError(f"Only {Money(left).format()} of this milestone's charge is left "
                          f"({Money(refunded).format()} was refunded).")
    return release_cents


def retry_payout(uow: UnitOfWork, milestone_id: int) -> str:
    """A failed payout, once the trainer's account is fixed: a new transfer operation.
    Before sending, the worker looks for a transfer of this milestone already at Stripe,
    so a retry never pays twice."""
    with uow:
        require(uow, Capability.APPROVE)
        milestone = uow.milestones.get(milestone_id, for_update=True)
        failed = _failed_payout(uow, milestone)
        contract, job, trainer = _context(uow, milestone)
        operation = uow.operations.add(StripeOperation(
            kind=OperationKind.PAYOUT, amount_cents=failed.amount_cents,
            milestone_id=milestone.id, destination=trainer.stripe_account_id or "",
            purpose=RETRY, created_at=uow.now, updated_at=uow.now))
        before = milestone.snapshot()
        if trainer.payout_ready:
            milestone.payout_status = PayoutStatus.PENDING_RETRY
        else:
            operation.wait_for_setup(uow.now, trainer.payout_readiness())
            milestone.payout_status = PayoutStatus.PENDING_SETUP
            _ask_for_setup(uow, trainer, milestone, job.title,
                           Money(failed.amount_cents).format())
        invoicing.set_payment_status(uow, milestone.id, InvoiceKind.TRAINER_PAYOUT,
                                     PAYOUT_PENDING)
        uow.audit("milestone", milestone.id, "payout retried", before,
                  milestone.snapshot() | {"operation": operation.id, "failed": failed.id})
        uow.commit()
        return operation.id


RETRY = "retry"


def refund_failed_payout(uow: UnitOfWork, milestone_id: int, reason: str) -> str:
    """A failed payout's money goes back to the employer instead (with a credit note
    against the payout invoice once Stripe refunds it)."""
    with uow:
        require(uow, Capability.REFUND)
        milestone = uow.milestones.get(milestone_id, for_update=True)
        failed = _failed_payout(uow, milestone)
        operation = refunds.queue(uow, payment_intent_id=milestone.payment_intent_id or "",
                                  amount_cents=failed.amount_cents,
                                  charged_cents=milestone.amount_cents,
                                  purpose=RefundPurpose.PAYOUT_FAILED, reason=reason,
                                  milestone_id=milestone.id)
        before = milestone.snapshot()
        milestone.status_note = f"Refund to the employer queued: {reason.strip()}"
        uow.audit("milestone", milestone.id, "payout refunded to employer", before,
                  milestone.snapshot() | {"operation": operation.id})
        uow.commit()
        return operation.id


def _failed_payout(uow: UnitOfWork, milestone: Milestone) -> StripeOperation:
    if milestone.payout_status is not PayoutStatus.FAILED:
        raise DomainError(f"“{milestone.title}”'s payout is {milestone.payout_status.label}, "
                          "not Failed: there is nothing to retry or refund.")
    payouts_ = [op for op in uow.operations.for_milestone(milestone.id)
                if op.kind is OperationKind.PAYOUT]
    if any(op.status.open for op in payouts_):
        raise DomainError("A payout for this milestone is already on its way.")
    if any(op.kind is OperationKind.REFUND and op.status.open
           for op in uow.operations.for_milestone(milestone.id)):
        raise DomainError("A refund for this milestone is already on its way.")
    return payouts_[-1]


SETUP_PROMPTS = ("setup needed", "onboarding link")


def _ask_for_setup(uow: UnitOfWork, trainer, milestone: Milestone, job_title: str,
                   amount: str, link: str = "", event: str | None = None) -> None:
    message_trainer(uow, trainer.id, "setup needed", "Finish your payout setup to get paid",
                    f"Hi {trainer.name},\n\n“{milestone.title}” ({job_title}) was approved: "
                    f"{amount} is waiting for you. Please finish your Stripe payout setup"
                    + (f" here: {link}" if link else " (we will send you a link).")
                    + "\nThe payment is sent as soon as your account is ready.", link,
                    event=event, amount=amount, milestone=milestone.title, job=job_title)


# -- trainer accounts (network: call off the GUI thread) ---------------------------------

def ensure_account(factory: UnitOfWorkFactory, gateway: PaymentGateway,
                   trainer_id: int) -> str:
    with factory() as uow:
        trainer = uow.trainers.get(trainer_id)
        if trainer.stripe_account_id:
            return trainer.stripe_account_id
        email = trainer.email
    try:
        account_id = gateway.create_account(email, {"trainer_id": str(trainer_id)})
    except GatewayError as error:
        raise PayoutError(error.message) from None
    with factory() as uow:
        trainer = uow.trainers.get(trainer_id, for_update=True)
        trainer.stripe_account_id = account_id
        uow.audit("trainer", trainer_id, "payout account created", after={"account": account_id})
        for operation in _waiting(uow, trainer_id):
            operation.destination = account_id
        uow.commit()
    return account_id


def onboarding_link(factory: UnitOfWorkFactory, gateway: PaymentGateway,
                    trainer_id: int) -> str:
    """A Stripe-hosted onboarding link; also logged as a message to the trainer."""
    require_in(factory, Capability.APPROVE)
    account_id = ensure_account(factory, gateway, trainer_id)
    try:
        url = gateway.onboarding_link(account_id, ONBOARDING_RETURN_URL, ONBOARDING_RETURN_URL)
    except GatewayError as error:
        raise PayoutError(error.message) from None
    with factory() as uow:
        trainer = uow.trainers.get(trainer_id)
        message_trainer(uow, trainer_id, "onboarding link", "Set up your payouts",
                        f"Hi {trainer.name},\n\nTo receive payments for your milestones, "
                        f"please set up your payout account with Stripe:\n{url}\n\n"
                        "The link expires after a few minutes; ask us for a new one if "
                        "needed.", url)
        uow.commit()
    return url


def refresh_account(factory: UnitOfWorkFactory, gateway: PaymentGateway,
                    trainer_id: int) -> AccountInfo | None:
    """Read the account's readiness; when ready, waiting payouts are queued."""
    with factory() as uow:
        account_id = uow.trainers.get(trainer_id).stripe_account_id
    if not account_id:
        return None
    try:
        info = gateway.retrieve_account(account_id)
    except GatewayError as error:
        raise PayoutError(error.message) from None
    with factory() as uow:
        trainer = uow.trainers.get(trainer_id, for_update=True)
        was_ready = trainer.payouts_enabled
        trainer.payouts_enabled = info.payouts_enabled
        trainer.requirements_due = ",".join(info.past_due + info.currently_due)
        trainer.disabled_reason = info.disabled_reason
        trainer.account_checked_at = uow.now
        if info.payouts_enabled and not was_ready:
            uow.audit("trainer", trainer_id, "payouts enabled", after={"account": account_id})
        if info.payouts_enabled:
            _release_waiting(uow, trainer)
            withdraw_unsent(uow, trainer_id, SETUP_PROMPTS)
        uow.commit()
    return info


def _waiting(uow: UnitOfWork, trainer_id: int) -> list[StripeOperation]:
    waiting = []
    for operation in uow.operations.with_status(OperationStatus.WAITING):
        milestone = uow.milestones.get(operation.milestone_id)
        if uow.contracts.get(milestone.contract_id).trainer_id == trainer_id:
            waiting.append(operation)
    return waiting


def _release_waiting(uow: UnitOfWork, trainer) -> None:
    for operation in _waiting(uow, trainer.id):
        operation.release(uow.now, trainer.stripe_account_id)
        milestone = uow.milestones.get(operation.milestone_id, for_update=True)
        milestone.payout_status = PayoutStatus.NOT_STARTED
        uow.audit("operation", None, "payout released", after=operation.snapshot())


def trainers_waiting(factory: UnitOfWorkFactory) -> list[int]:
    """Trainers with payouts held for their setup (checked on every sync)."""
    with factory() as uow:
        ids = {uow.contracts.get(uow.milestones.get(op.milestone_id).contract_id).trainer_id
               for op in uow.operations.with_status(OperationStatus.WAITING)}
    return sorted(ids)


# -- outcomes (the outbox worker) -----------------------------------------------------------

def record_transfer(uow: UnitOfWork, operation_id: str, result: TransferResult) -> None:
    """Idempotent: a transfer recorded already (another worker, a replayed key) changes
    nothing; one for an operation settled otherwise is kept aside for a person."""
    with uow:
        operation = uow.operations.get(operation_id, for_update=True)
        if already_settled(uow, operation, result.id, True):
            uow.commit()
            return
        milestone = uow.milestones.get(operation.milestone_id, for_update=True)
        contract, job, trainer = _context(uow, milestone)
        operation.succeed(uow.now, result.id)
        before = milestone.snapshot()
        milestone.payout_status = PayoutStatus.PAID_OUT
        amount = Money(operation.amount_cents).format()
        uow.audit("milestone", milestone.id, "paid out", before,
                  milestone.snapshot() | {"transfer": result.id})
        uow.audit("operation", None, "succeeded", after=operation.snapshot())
        notify(uow, "paid out", f"{amount} paid out to {trainer.name}",
               f"“{milestone.title}” ({job.title}) — transfer {result.id}.",
               job_id=job.id, contract_id=contract.id, milestone_id=milestone.id)
        invoicing.set_payment_status(uow, milestone.id, InvoiceKind.TRAINER_PAYOUT,
                                     "Paid out")
        after_setup = milestone.approved_at and was_prompted_since(
            uow, trainer.id, "setup needed", milestone.approved_at)
        message_trainer(uow, trainer.id, "payment sent", f"Payment of {amount} sent",
                        f"Hi {trainer.name},\n\n"
                        + ("Your payout setup is complete: " if after_setup else "")
                        + f"{amount} for “{milestone.title}” ({job.title}) has been sent "
                        f"to your Stripe account (transfer {result.id}).",
                        event=f"payout:{operation.id}:sent", amount=amount,
                        milestone=milestone.title, job=job.title, transfer=result.id)
        uow.commit()


def record_error(uow: UnitOfWork, operation_id: str, error: GatewayError,
                 attempt: int | None = None) -> bool:
    """A failed transfer of attempt ``attempt`` (see ``operations.record_error``): the
    payout waits for the trainer's setup, is retried, or failed (employer and trainer are
    told). Returns True when the operation will be retried."""
    return operations.record_error(uow, operation_id, error, attempt, _payout_error)


def _payout_error(uow: UnitOfWork, operation: StripeOperation, error: GatewayError) -> bool:
    milestone = operations.milestone_of(uow, operation)
    before = milestone.snapshot() if milestone else None
    if (milestone and error.kind is ErrorKind.BALANCE
            and refunds.left_of_charge(uow, milestone) < operation.amount_cents):
        # the charge funding it was refunded or lost to a dispute: waiting won't help
        error = GatewayError(ErrorKind.INVALID, "The milestone's charge has not enough "
                             "left to pay this out (refunded or disputed at Stripe).",
                             error.code)
    retry = False
    if error.kind is not ErrorKind.NOT_READY:  # not ready: parked below, never failed
        retry = operations.apply_error(uow, operation, error)
    if milestone is not None:
        if operation.status is OperationStatus.NEEDS_ACTION:
            milestone.status_note = operations.AUTHENTICATE
        _payout_outcome(uow, operation, milestone, error)
        operations.audit_milestone(uow, operation, milestone, before)
    operations.audit_error(uow, operation, error)
    return retry


def _payout_outcome(uow: UnitOfWork, operation: StripeOperation, milestone: Milestone,
                    error: GatewayError) -> None:
    """What the failed transfer means for the milestone's payout and the trainer."""
    contract, job, trainer = _context(uow, milestone)
    amount = Money(operation.amount_cents).format()
    if error.kind is ErrorKind.NOT_READY:
        operation.wait_for_setup(uow.now, error.message)
        milestone.payout_status = PayoutStatus.PENDING_SETUP
        trainer.payouts_enabled = False
        _ask_for_setup(uow, trainer, milestone, job.title, amount,
                       event=f"payout:{operation.id}:setup:{operation.attempts}")
    elif operation.status is OperationStatus.FAILED:
        milestone.payout_status = PayoutStatus.FAILED
        notify(uow, "payout failed", f"Payout of {amount} to {trainer.name} failed",
               f"{error.message}\nRetry it once the trainer's payout account is fixed, or "
               "refund the money to the employer instead (milestone actions).",
               job_id=job.id, contract_id=contract.id, milestone_id=milestone.id)
        invoicing.set_payment_status(uow, milestone.id, InvoiceKind.TRAINER_PAYOUT,
                                     "Payout failed")
        message_trainer(uow, trainer.id, "payout failed", f"Your payment of {amount} could "
                        "not be sent", f"Hi {trainer.name},\n\nStripe could not send {amount} "
                        f"for “{milestone.title}” ({job.title}) to your account: "
                        f"{error.message}\nWe will retry once your payout account is in "
                        "order, or get back to you.",
                        event=f"payout:{operation.id}:failed:{operation.attempts}",
                        amount=amount, milestone=milestone.title, job=job.title,
                        reason=error.message)
    else:
        milestone.payout_status = PayoutStatus.PENDING_RETRY
