"""Recording Stripe's answers exactly once: shared by every kind of operation.

An answer may arrive twice (two workers, a lookup after a lost answer, a replayed
idempotency key) or late (the milestone moved on). Recording is idempotent, and an
answer that no longer applies is kept aside for a person, never retried.
"""
from __future__ import annotations

from ..domain.money import Money
from ..domain.operations import ErrorKind, OperationStatus, StripeOperation
from .unit_of_work import UnitOfWork


def already_settled(uow: UnitOfWork, operation: StripeOperation, object_id: str,
                     money_moved: bool) -> bool:
    """True when there is nothing (more) to record for this operation: it was settled
    before (by another worker, or this outcome was recorded already)."""
    if operation.status in (OperationStatus.QUEUED, OperationStatus.SENDING,
                            OperationStatus.NEEDS_ACTION, OperationStatus.WAITING):
        return False
    if money_moved and operation.stripe_object_id != object_id and (
            operation.status is not OperationStatus.ATTENTION):
        # Stripe moved money for an operation the books had settled otherwise
        operation.needs_attention(uow.now, f"Stripe reports {object_id} for this "
                                  f"{operation.kind.value} operation, which was already "
                                  f"{operation.status.value}: check against Stripe.",
                                  object_id)
        uow.audit("operation", None, "outcome no longer applies", after=operation.snapshot())
    return True


def no_longer_applies(uow: UnitOfWork, operation: StripeOperation, result, why: str) -> None:
    """Stripe's answer arrived after the milestone moved on: record it as such (kept aside
    for a person when money moved), never retried."""
    object_id = getattr(result, "payment_intent_id", "") or getattr(result, "id", "")
    money = getattr(result, "succeeded", True)
    if money:
        operation.needs_attention(
            uow.now, f"Stripe answered {object_id} ({Money(operation.amount_cents).format()})"
            f" but {why}: Check against Stripe to adopt or refund it.", object_id)
    else:
        operation.fail(uow.now, ErrorKind.DECLINED, f"Stripe answered after {why}.",
                       object_id)
    uow.audit("operation", None, "outcome no longer applies", after=operation.snapshot())
