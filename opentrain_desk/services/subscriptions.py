"""Agency plans billed separately from milestones: subscribe, change, cancel, resume.

Every Stripe-affecting step is an outbox operation (same exactly-once rules as
funding). Sync mirrors the Stripe subscription's status and period, and each paid
Stripe invoice of the subscription becomes a Subscription invoice in Reports
(referencing Stripe's invoice, not replacing it)."""
from __future__ import annotations

from datetime import datetime, timezone

from ..domain.errors import DomainError
from ..domain.invoices import BillingType, InvoiceKind
from ..domain.operations import OperationKind, OperationStatus, StripeOperation
from ..domain.subscriptions import AccountType, Plan, PlanRequired, SubscriptionStatus
from . import invoicing
from .plan import account_type, require_plan, subscription_status
from .ports import PaymentGateway, SubscriptionInfo
from .unit_of_work import UnitOfWork, UnitOfWorkFactory
from .workspace_settings import ACCOUNT_TYPE, customer_key, default_card_key
from ..domain.roles import Capability
from .team import require

# The plan gate (account_type, require_plan) lives in .plan; still importable from here.
SUBSCRIPTION_KINDS = (OperationKind.SUBSCRIBE, OperationKind.CHANGE_PLAN,
                      OperationKind.CANCEL_SUBSCRIPTION, OperationKind.RESUME_SUBSCRIPTION)
#: Created in test mode / the sandbox on first use (live: the agency's own products).
DEFAULT_PLANS = (("Agency Starter", 4_900, "month"), ("Agency Pro", 14_900, "month"),
                 ("Recruiting Team", 9_900, "month"))


class SubscriptionError(DomainError):
    pass


# -- account type and the gate ------------------------------------------------------------

def set_account_type(uow: UnitOfWork, value: AccountType) -> None:
    with uow:
        require(uow, Capability.PLAN)
        before = account_type(uow)
        uow.settings.set(ACCOUNT_TYPE, value.name)
        uow.audit("company", None, "account type", {"type": before.value}, {"type": value.value})
        uow.commit()


def current(uow: UnitOfWork):
    """The workspace's subscription row (newest), or None."""
    return uow.subscriptions.current()


def status(uow: UnitOfWork) -> SubscriptionStatus:
    return subscription_status(uow)


def gate_message(factory: UnitOfWorkFactory) -> str | None:
    with factory() as uow:
        try:
            require_plan(uow)
        except PlanRequired as refused:
            return str(refused)
    return None


# -- plans (network) ------------------------------------------------------------------------

def available_plans(gateway: PaymentGateway) -> list[Plan]:
    plans = gateway.list_plans()
    if not plans and gateway.mode == "test":
        for spec in DEFAULT_PLANS:
            gateway.create_plan(*spec)
        plans = gateway.list_plans()
    return plans


# -- commands (queued) ------------------------------------------------------------------------

def _open_subscription_op(uow: UnitOfWork) -> StripeOperation | None:
    ops = uow.operations.with_status(OperationStatus.QUEUED, OperationStatus.SENDING)
    return next((op for op in ops if op.kind in SUBSCRIPTION_KINDS), None)


def _require_no_change_in_flight(uow: UnitOfWork) -> None:
    if _open_subscription_op(uow) is not None:
        raise SubscriptionError("A plan change is already on its way to Stripe; wait for it "
                                "(see the status line) before the next one.")


def _queue(uow: UnitOfWork, kind: OperationKind, mode: str, plan: Plan | None,
           amount: int = 0) -> str:
    _require_no_change_in_flight(uow)
    customer = uow.settings.get(customer_key(mode))
    if kind is OperationKind.SUBSCRIBE and not (customer and uow.settings.get(
            default_card_key(mode))):
        raise SubscriptionError("Add a payment method first (Settings → Billing): the plan "
                                "is charged to the default payment method.")
    operation = uow.operations.add(StripeOperation(
        kind=kind, amount_cents=amount, customer_id=customer or "",
        destination=plan.id if plan else "", created_at=uow.now, updated_at=uow.now))
    uow.audit("operation", None, "queued", after=operation.snapshot()
              | {"plan": plan.label if plan else None})
    return operation.id


def subscribe(uow: UnitOfWork, plan: Plan, mode: str) -> str:
    with uow:
        require(uow, Capability.PLAN)
        _require_no_change_in_flight(uow)
        row = current(uow)
        if row and SubscriptionStatus.from_stripe(row.status) not in (
                SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED,
                SubscriptionStatus.NONE):
            raise SubscriptionError("This workspace already has a plan: change it instead.")
        operation_id = _queue(uow, OperationKind.SUBSCRIBE, mode, plan, plan.amount_cents)
        uow.subscriptions.add(
            mode=mode, plan_id=plan.id, plan_name=plan.name, amount_cents=plan.amount_cents,
            interval=plan.interval, status="incomplete", updated_at=uow.now)
        uow.commit()
        return operation_id


def _require_subscription(uow: UnitOfWork):
    row = current(uow)
    if row is None or not row.stripe_subscription_id:
        raise SubscriptionError("There is no plan to change yet.")
    return row


def change_plan(uow: UnitOfWork, plan: Plan, mode: str) -> str:
    with uow:
        require(uow, Capability.PLAN)
        row = _require_subscription(uow)
        if row.plan_id == plan.id:
            raise SubscriptionError(f"You are already on {plan.name}.")
        operation_id = _queue(uow, OperationKind.CHANGE_PLAN, mode, plan, plan.amount_cents)
        uow.commit()
        return operation_id


def cancel_at_period_end(uow: UnitOfWork, mode: str) -> str:
    with uow:
        require(uow, Capability.PLAN)
        _require_subscription(uow)
        operation_id = _queue(uow, OperationKind.CANCEL_SUBSCRIPTION, mode, None)
        uow.commit()
        return operation_id


def resume(uow: UnitOfWork, mode: str) -> str:
    with uow:
        require(uow, Capability.PLAN)
        row = _require_subscription(uow)
        if not row.cancel_at_period_end:
            raise SubscriptionError("The plan is not set to cancel.")
        operation_id = _queue(uow, OperationKind.RESUME_SUBSCRIPTION, mode, None)
        uow.commit()
        return operation_id


# -- outcomes ---------------------------------------------------------------------------------

def subscription_id(factory: UnitOfWorkFactory) -> str | None:
    with factory() as uow:
        row = current(uow)
        return row.stripe_subscription_id if row else None


def record_subscription(uow: UnitOfWork, operation_id: str, info: SubscriptionInfo,
                        plans: dict[str, Plan] | None = None) -> None:
    """Mirror Stripe's subscription after one of our operations (or a sync)."""
    with uow:
        operation = uow.operations.get(operation_id, for_update=True)
        if operation.status is not OperationStatus.SUCCEEDED:
            operation.succeed(uow.now, info.id)
        _mirror(uow, info, plans)
        uow.audit("operation", None, f"subscription {info.status}", after=operation.snapshot())
        uow.commit()


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, timezone.utc) if value else None


def _mirror(uow: UnitOfWork, info: SubscriptionInfo, plans: dict[str, Plan] | None) -> None:
    row = current(uow)
    values = dict(stripe_subscription_id=info.id, status=info.status,
                  current_period_start=_ts(info.current_period_start),
                  current_period_end=_ts(info.current_period_end),
                  cancel_at_period_end=info.cancel_at_period_end, updated_at=uow.now)
    plan = (plans or {}).get(info.plan_id)
    if plan is not None:
        values |= dict(plan_id=plan.id, plan_name=plan.name, amount_cents=plan.amount_cents,
                       interval=plan.interval)
    if row is None:
        uow.subscriptions.add(
            mode="test", plan_id=info.plan_id, plan_name=plan.name if plan else info.plan_id,
            amount_cents=plan.amount_cents if plan else 0,
            interval=plan.interval if plan else "month", **values)
    else:
        if row.status != info.status:
            uow.audit("subscription", row.id, "status", {"status": row.status},
                      {"status": info.status})
        uow.subscriptions.update(row.id, **values)


def sync(factory: UnitOfWorkFactory, gateway: PaymentGateway) -> SubscriptionInfo | None:
    """Pick up renewals, failures and cancellations from Stripe; issue invoices for paid
    Stripe invoices not seen yet."""
    sub_id = subscription_id(factory)
    if not sub_id:
        return None
    info = gateway.retrieve_subscription(sub_id)
    plans = {plan.id: plan for plan in gateway.list_plans()}
    stripe_invoices = gateway.subscription_invoices(sub_id)
    with factory() as uow:
        _mirror(uow, info, plans)
        row = current(uow)
        for invoice in stripe_invoices:
            if invoice.status == "paid" and invoice.amount_cents > 0:
                _issue_once(uow, row, invoice)
        uow.commit()
    return info


def _issue_once(uow: UnitOfWork, row, invoice) -> None:
    if uow.invoices.has_external_ref(invoice.id):
        return
    period = ""
    if invoice.period_start and invoice.period_end:
        period = (f" ({_ts(invoice.period_start):%b %d, %Y} – "
                  f"{_ts(invoice.period_end):%b %d, %Y})")
    invoicing.issue(
        uow, InvoiceKind.SUBSCRIPTION, bill_to=invoicing.company_party(uow),
        project="OpenTrain Desk plan", description=f"{row.plan_name} subscription{period}",
        amount_cents=invoice.amount_cents, payment_status="Paid",
        refs=(("Stripe invoice", invoice.id), ("Subscription", row.stripe_subscription_id)),
        billing_type=BillingType.SUBSCRIPTION, external_ref=invoice.id)
