"""Check against Stripe: every difference between the books and Stripe, and what to do.

Read-only until a person chooses an action: adopt a charge into the books (with its
invoice), or refund it through the outbox (exactly once, like every money movement).
Stripe is read with list endpoints (search lags writes) and matched on our own ids.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from ..domain.errors import DomainError
from ..domain.milestones import Action, MilestoneStatus, PayoutStatus
from ..domain.money import Money
from ..domain.operations import OperationKind, OperationStatus, RefundPurpose, StripeOperation
from . import refunds
from .funding import issue_funding_invoice
from .ports import PaymentGateway, PaymentResult, StripePayment, TransferResult
from .unit_of_work import UnitOfWork, UnitOfWorkFactory
from .workspace_settings import STRIPE_MODE, customer_key, workspace_id
from ..domain.roles import Capability
from .team import require, require_in

FUNDED = (MilestoneStatus.ACTIVE_FUNDED, MilestoneStatus.PENDING_APPROVAL, MilestoneStatus.PAID)
IN_FLIGHT = (OperationStatus.QUEUED, OperationStatus.SENDING, OperationStatus.NEEDS_ACTION)


class Problem(enum.Enum):
    UNRECORDED_CHARGE = "Charge at Stripe, not in the books"
    MISSING_CHARGE = "Funded milestone without its charge"
    CHARGE_AMOUNT = "Charge amount differs"
    UNRECORDED_TRANSFER = "Transfer at Stripe, not in the books"
    MISSING_TRANSFER = "Paid-out milestone without its transfer"
    TRANSFER_DIFFERS = "Transfer amount or account differs"


class Remedy(enum.Enum):
    ADOPT = "Adopt into the books"
    REFUND = "Refund through the app"


@dataclass(frozen=True)
class Difference:
    problem: Problem
    stripe_id: str
    milestone_id: int | None
    label: str                 # job / milestone, or what Stripe says it is
    books_cents: int | None
    stripe_cents: int | None
    what_to_do: str
    remedies: tuple[Remedy, ...] = ()

    def csv_row(self) -> list:
        return [self.problem.value, self.stripe_id, self.milestone_id or "", self.label,
                _plain(self.books_cents), _plain(self.stripe_cents), self.what_to_do,
                " / ".join(r.value for r in self.remedies)]


CSV_HEADER = ("Difference", "Stripe id", "Milestone id", "Job / milestone", "Books (USD)",
              "Stripe (USD)", "What to do", "Actions")


def _plain(cents: int | None) -> str:
    return "" if cents is None else Money(cents).plain()


@dataclass(frozen=True)
class _Books:
    workspace: str
    customer: str | None
    milestones: dict        # id -> (status, payout, amount, pi, label)
    operations: list[StripeOperation]
    trainer_accounts: dict  # milestone id -> connected account
    lost_disputes: set = frozenset()  # charges taken back by a lost dispute


def _read_books(factory: UnitOfWorkFactory) -> _Books:
    with factory() as uow:
        space = workspace_id(uow)
        mode = uow.settings.get(STRIPE_MODE) or "test"
        customer = uow.settings.get(customer_key(mode))
        milestones, accounts = uow.milestones.books_for_check()
        ops = uow.operations.with_status(*OperationStatus)
        lost = uow.disputes.lost_intents()
        uow.commit()
    return _Books(space, customer, milestones, ops, accounts, lost)


def check(factory: UnitOfWorkFactory, gateway: PaymentGateway) -> list[Difference]:
    """Every difference between the books and Stripe (reads only)."""
    books = _read_books(factory)
    payments = gateway.list_payments(books.customer) if books.customer else []
    transfers = [t for t in gateway.list_transfers() if _ours(t, books)]
    return (_charge_differences(books, payments)
            + _transfer_differences(books, transfers))


def _ours(transfer: TransferResult, books: _Books) -> bool:
    return (transfer.metadata.get("workspace_id") == books.workspace
            or transfer.destination in set(books.trainer_accounts.values()))


def _charge_differences(books: _Books, payments: list[StripePayment]) -> list[Difference]:
    found = []
    by_pi = {m[3]: (m_id, m) for m_id, m in books.milestones.items() if m[3]}
    refunding = {op.destination for op in books.operations if op.kind is OperationKind.REFUND
                 and op.status not in (OperationStatus.FAILED, OperationStatus.CANCELLED)}
    in_flight = {op.id for op in books.operations if op.status in IN_FLIGHT}
    charged = {p.id: p for p in payments if p.status == "succeeded" and not p.invoice_id}
    for payment in charged.values():
        if payment.id in by_pi:
            m_id, (status, _payout, amount, _pi, label) = by_pi[payment.id]
            if status in FUNDED and payment.amount != amount:
                found.append(Difference(
                    Problem.CHARGE_AMOUNT, payment.id, m_id, label, amount, payment.amount,
                    "The charge and the milestone amount differ: refund the charge and "
                    "fund the milestone again, or correct it with Stripe support.",
                    (Remedy.REFUND,)))
            if status in FUNDED:
                continue
        if (payment.id in refunding or payment.amount_refunded >= payment.amount
                or payment.id in books.lost_disputes):
            continue
        if payment.metadata.get("operation_id") in in_flight:
            continue  # the payment worker is settling it right now
        found.append(_unrecorded_charge(books, payment))
    for m_id, (status, _payout, amount, pi, label) in books.milestones.items():
        if status in FUNDED and pi and pi not in charged and not pi.startswith("pi_demo"):
            found.append(Difference(
                Problem.MISSING_CHARGE, pi, m_id, label, amount, None,
                "The books say this milestone is funded, but Stripe has no succeeded charge "
                "for it. Check the payment in the Stripe Dashboard before releasing money."))
    return found


def _unrecorded_charge(books: _Books, payment: StripePayment) -> Difference:
    m_id = _milestone_of(books, payment.metadata)
    milestone = books.milestones.get(m_id) if m_id is not None else None
    label = milestone[4] if milestone else (payment.metadata.get("milestone_id") and
                                            "milestone no longer in the books"
                                            or "not made by this app")
    adoptable = (milestone is not None and milestone[0] in (MilestoneStatus.NOT_FUNDED,
                                                            MilestoneStatus.FUNDING)
                 and milestone[2] == payment.amount)
    if adoptable:
        advice = ("Stripe charged for this milestone but the books do not show it. Adopt it "
                  "(the milestone becomes Active & Funded with its invoice) or refund it.")
    else:
        advice = ("Stripe holds this charge but no milestone of the books can take it (a "
                  "duplicate, another amount, or not made by this app). Refund it, unless "
                  "it was made on purpose in the Stripe Dashboard.")
    return Difference(Problem.UNRECORDED_CHARGE, payment.id, m_id, label, None,
                      payment.amount, advice,
                      (Remedy.ADOPT, Remedy.REFUND) if adoptable else (Remedy.REFUND,))


def _milestone_of(books: _Books, metadata: dict) -> int | None:
    if metadata.get("workspace_id") != books.workspace:
        return None
    try:
        m_id = int(metadata.get("milestone_id", ""))
    except ValueError:
        return None
    return m_id if m_id in books.milestones else None


def _transfer_differences(books: _Books, transfers: list[TransferResult]) -> list[Difference]:
    found = []
    paid = {op.stripe_object_id: op for op in books.operations
            if op.kind is OperationKind.PAYOUT and op.status is OperationStatus.SUCCEEDED}
    in_flight = {op.id for op in books.operations if op.status in IN_FLIGHT}
    seen = set()
    for transfer in transfers:
        seen.add(transfer.id)
        op = paid.get(transfer.id)
        m_id = op.milestone_id if op else _milestone_of(books, transfer.metadata)
        label = books.milestones[m_id][4] if m_id in books.milestones else "not in the books"
        if op is not None:
            if transfer.amount != op.amount_cents or transfer.destination != op.destination:
                found.append(Difference(
                    Problem.TRANSFER_DIFFERS, transfer.id, m_id, label, op.amount_cents,
                    transfer.amount, f"The books sent {Money(op.amount_cents).format()} to "
                    f"{op.destination}; Stripe shows {Money(transfer.amount).format()} to "
                    f"{transfer.destination}. Review it in the Stripe Dashboard."))
            continue
        if transfer.metadata.get("operation_id") in in_flight:
            continue
        found.append(Difference(
            Problem.UNRECORDED_TRANSFER, transfer.id, m_id, label, None, transfer.amount,
            "Stripe sent this transfer to a trainer but the books do not show it. Released "
            "funds are not reversible in the app: if it was not intended, reverse it in the "
            "Stripe Dashboard (Connect → Transfers)."))
    for op in paid.values():
        milestone = books.milestones.get(op.milestone_id)
        if op.stripe_object_id not in seen and milestone and (
                milestone[1] is PayoutStatus.PAID_OUT):
            found.append(Difference(
                Problem.MISSING_TRANSFER, op.stripe_object_id, op.milestone_id, milestone[4],
                op.amount_cents, None, "The books say this payout reached the trainer, but "
                "Stripe has no such transfer. Check it in the Stripe Dashboard."))
    return found


# -- actions (each one unit of work; money moves only through the outbox) ------------------

def adopt_charge(factory: UnitOfWorkFactory, gateway: PaymentGateway, payment_intent_id: str
                 ) -> int:
    """Take a charge Stripe made for a milestone into the books: Active & Funded, with its
    invoice and an audit entry. Returns the milestone id."""
    require_in(factory, Capability.FUND)
    result = gateway.retrieve_payment(payment_intent_id)
    if not result.succeeded:
        raise DomainError(f"Stripe says {payment_intent_id} is {result.status}, not paid: "
                          "there is nothing to adopt.")
    with factory() as uow:
        m_id = _adoptable_milestone(uow, result)
        milestone = uow.milestones.get(m_id, for_update=True)
        if milestone.status not in (MilestoneStatus.NOT_FUNDED, MilestoneStatus.FUNDING):
            raise DomainError(f"“{milestone.title}” is {milestone.status.label} already: "
                              "refund this charge instead.")
        if milestone.amount_cents != result.amount:
            raise DomainError("The charge and the milestone amount differ: refund it instead.")
        operation = _operation_for(uow, result, milestone)
        before = milestone.snapshot()
        operation.succeed(uow.now, result.payment_intent_id, result.charge_id)
        milestone.apply(Action.ADOPT_CHARGE, uow.now)
        milestone.payment_intent_id, milestone.charge_id = (result.payment_intent_id,
                                                            result.charge_id)
        issue_funding_invoice(uow, milestone, operation, result)
        uow.audit("milestone", milestone.id, "funding adopted from Stripe", before,
                  milestone.snapshot() | {"payment_intent": result.payment_intent_id})
        uow.audit("operation", None, "adopted", after=operation.snapshot())
        uow.commit()
        return milestone.id


def _adoptable_milestone(uow: UnitOfWork, result: PaymentResult) -> int:
    if result.metadata.get("workspace_id") != workspace_id(uow):
        raise DomainError("This charge was not made by this workspace: it cannot be adopted. "
                          "Refund it, or leave it if it was made on purpose.")
    try:
        return int(result.metadata["milestone_id"])
    except (KeyError, ValueError):
        raise DomainError("This charge names no milestone: refund it instead.") from None


def _operation_for(uow: UnitOfWork, result: PaymentResult, milestone) -> StripeOperation:
    """The funding operation that made the charge, if it can still take it; else a new
    record of the adopted charge (the cancelled one keeps its history)."""
    op_id = result.metadata.get("operation_id")
    for operation in uow.operations.for_milestone(milestone.id):
        if operation.kind is OperationKind.FUND_MILESTONE and operation.status.open and (
                operation.id == op_id or operation.status is not OperationStatus.ATTENTION):
            return operation
    return uow.operations.add(StripeOperation(
        kind=OperationKind.FUND_MILESTONE, amount_cents=milestone.amount_cents,
        milestone_id=milestone.id, status=OperationStatus.QUEUED, maybe_sent=True,
        created_at=uow.now, updated_at=uow.now))


def queue_refund(uow: UnitOfWork, payment_intent_id: str, amount_cents: int,
                 reason: str) -> str:
    """Refund a charge no milestone can take, through the outbox (idempotency key + lookup
    by metadata). Refusing a second refund of the same charge is part of the amount check."""
    with uow:
        require(uow, Capability.REFUND)
        for operation in uow.operations.refunds_of(payment_intent_id):
            if operation.status not in (OperationStatus.FAILED, OperationStatus.CANCELLED):
                raise DomainError(f"A refund of {payment_intent_id} is already "
                                  f"{operation.status.value}.")
        operation = refunds.queue(uow, payment_intent_id=payment_intent_id,
                                  amount_cents=amount_cents, charged_cents=amount_cents,
                                  purpose=RefundPurpose.STRAY, reason=reason)
        uow.commit()
        return operation.id
