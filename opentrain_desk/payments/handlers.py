"""One handler per operation kind: how the outbox worker sends it, records its answer and
its failed calls (through that kind's use case), and finds it at Stripe after an unknown
outcome (by ``metadata.operation_id`` within the customer / transfer group)."""
from __future__ import annotations

from typing import Protocol

from ..domain.operations import OperationKind, StripeOperation
from ..services import funding, operations, payouts, refunds, subscriptions
from ..services.ports import GatewayError, PaymentGateway
from ..services.unit_of_work import UnitOfWorkFactory


class Handler(Protocol):
    """How one kind of operation is sent, recorded and reconciled."""

    def send(self, gateway: PaymentGateway, op: operations.Claimed): ...

    def record(self, factory: UnitOfWorkFactory, op_id: str, result) -> None: ...

    def record_error(self, factory: UnitOfWorkFactory, op_id: str, error: GatewayError,
                     attempt: int) -> bool: ...

    def find(self, gateway: PaymentGateway, op: StripeOperation, since: int): ...

    def refresh(self, gateway: PaymentGateway, op: StripeOperation): ...


class FundingHandler:
    def send(self, gateway, op):
        return gateway.charge(amount_cents=op.amount_cents, customer_id=op.customer_id,
                              payment_method_id=op.payment_method_id, metadata=op.metadata,
                              idempotency_key=op.idempotency_key,
                              bank_debit=op.purpose == funding.BANK_DEBIT)

    def record(self, factory, op_id, result) -> None:
        funding.record_payment(factory(), op_id, result)

    def record_error(self, factory, op_id, error, attempt) -> bool:
        return funding.record_error(factory(), op_id, error, attempt)

    def find(self, gateway, op, since):
        return gateway.find_payment(op.customer_id, op.id, since)

    def refresh(self, gateway, op):
        return gateway.retrieve_payment(op.stripe_object_id)


class PayoutHandler:
    """Transfers to trainers' connected accounts, funded by the milestone's charge."""

    def __init__(self, factory: UnitOfWorkFactory) -> None:
        self.factory = factory

    def send(self, gateway, op):
        if op.purpose == payouts.RETRY:  # a failed payout retried: never pay twice
            existing = gateway.find_transfer(op.transfer_group, None)
            if existing is not None:
                return existing
        return gateway.transfer(amount_cents=op.amount_cents, destination=op.destination,
                                source_transaction=op.charge_id,
                                transfer_group=op.transfer_group, metadata=op.metadata,
                                idempotency_key=op.idempotency_key)

    def record(self, factory, op_id, result) -> None:
        payouts.record_transfer(factory(), op_id, result)

    def record_error(self, factory, op_id, error, attempt) -> bool:
        return payouts.record_error(factory(), op_id, error, attempt)

    def find(self, gateway, op, since):
        with self.factory() as uow:
            milestone = uow.milestones.get(op.milestone_id)
        group = operations.transfer_group(milestone.contract_id, milestone.id)
        return gateway.find_transfer(group, op.id)

    def refresh(self, gateway, op):
        return None  # transfers never wait at Stripe


class RefundHandler:
    """Refunds of a charge (Check against Stripe; later: cancel & refund)."""

    def send(self, gateway, op):
        return gateway.refund(payment_intent_id=op.destination, amount_cents=op.amount_cents,
                              metadata=op.metadata, idempotency_key=op.idempotency_key)

    def record(self, factory, op_id, result) -> None:
        refunds.record_refund(factory(), op_id, result)

    def record_error(self, factory, op_id, error, attempt) -> bool:
        return refunds.record_error(factory(), op_id, error, attempt)

    def find(self, gateway, op, since):
        return gateway.find_refund(op.destination, op.id)

    def refresh(self, gateway, op):
        return None


class SubscriptionHandler:
    """Subscribe / change plan / cancel at period end / resume."""

    def __init__(self, factory: UnitOfWorkFactory) -> None:
        self.factory = factory

    def send(self, gateway, op):
        kind = op.kind
        if kind is OperationKind.SUBSCRIBE:
            info = gateway.create_subscription(op.customer_id, op.destination, op.metadata,
                                               op.idempotency_key)
        else:
            sub_id = subscriptions.subscription_id(self.factory)
            changes = {OperationKind.CHANGE_PLAN: {"plan_id": op.destination},
                       OperationKind.CANCEL_SUBSCRIPTION: {"cancel_at_period_end": True},
                       OperationKind.RESUME_SUBSCRIPTION: {"cancel_at_period_end": False}}
            info = gateway.update_subscription(sub_id, op.idempotency_key, **changes[kind])
        return info, {plan.id: plan for plan in gateway.list_plans()}

    def record(self, factory, op_id, result) -> None:
        info, plans = result if isinstance(result, tuple) else (result, None)
        subscriptions.record_subscription(factory(), op_id, info, plans)

    def record_error(self, factory, op_id, error, attempt) -> bool:
        return operations.record_error(factory(), op_id, error, attempt)

    def find(self, gateway, op, since):
        if op.kind is OperationKind.SUBSCRIBE:
            return gateway.find_subscription(op.customer_id, op.id)
        return None  # updates set a state: sending them again is harmless

    def refresh(self, gateway, op):
        return None


def _object_id(result) -> str:
    """Stripe's id in a handler's result (PaymentIntent, Transfer, subscription)."""
    result = result[0] if isinstance(result, tuple) else result
    return getattr(result, "id", "") or getattr(result, "payment_intent_id", "") or ""
