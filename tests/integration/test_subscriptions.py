"""Agency plans against the emulator: subscribe, renew, failing card, cancel, resume."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.domain.subscriptions import AccountType, PlanRequired, SubscriptionStatus
from opentrain_desk.payments.outbox import OutboxWorker
from opentrain_desk.persistence.orm import invoices
from opentrain_desk.services import billing, funding, subscriptions
from opentrain_desk.services import jobs as services


def worker(factory, gateway):
    return OutboxWorker(factory, lambda: gateway, lease=timedelta(0), senders=1)


def agency(factory, gateway, card="pm_card_visa"):
    subscriptions.set_account_type(factory(), AccountType.AGENCY)
    billing.add_test_card(factory, gateway, card)
    return subscriptions.available_plans(gateway)


def state(factory):
    with factory() as uow:
        return subscriptions.current(uow), subscriptions.status(uow)


def sub_invoices(factory):
    with factory.engine.connect() as conn:
        return conn.execute(sa.select(invoices).where(invoices.c.kind == "SUB")
                            .order_by(invoices.c.id)).all()


def test_plans_are_created_once_in_test_mode(gateway):
    first = subscriptions.available_plans(gateway)
    assert [p.label for p in first] == ["Agency Starter — $49.00 / month",
                                        "Recruiting Team — $99.00 / month",
                                        "Agency Pro — $149.00 / month"]
    assert subscriptions.available_plans(gateway) == first


def test_agency_without_plan_cannot_hire_or_fund_but_direct_employer_can(factory, gateway):
    job = services.create_job(factory(), "J")
    draft = MilestoneDraft("M", Money(1000))
    services.hire_trainer(factory(), job, "A", "a@example.com", draft)  # Direct: fine
    agency(factory, gateway)
    with pytest.raises(PlanRequired, match="Agency accounts need an active plan"):
        services.hire_trainer(factory(), job, "B", "b@example.com", draft)
    with factory() as uow:
        milestone_id = uow.milestones.for_job(job)[0].id
    with pytest.raises(PlanRequired):
        funding.queue_funding(factory(), milestone_id, "test")


def test_subscribe_renew_and_invoices(factory, gateway, sandbox):
    plans = agency(factory, gateway)
    subscriptions.subscribe(factory(), plans[0], "test")
    w = worker(factory, gateway)
    w.run_once()
    row, status = state(factory)
    assert status is SubscriptionStatus.ACTIVE and row.plan_name == "Agency Starter"
    assert row.current_period_end > row.current_period_start
    w.run_once(reconcile=True)  # sync mirrors Stripe's paid invoice into Reports
    [first] = sub_invoices(factory)
    assert first.billing_type == "Subscription" and first.amount_cents == 4900
    assert first.external_ref.startswith("in_") and first.number.startswith("SUB-")
    sandbox.renew_subscription(row.stripe_subscription_id)
    w.run_once(reconcile=True)
    renewed, status = state(factory)
    assert status is SubscriptionStatus.ACTIVE
    assert renewed.current_period_start == row.current_period_end
    assert len(sub_invoices(factory)) == 2
    w.run_once(reconcile=True)
    assert len(sub_invoices(factory)) == 2  # each Stripe invoice mirrored once
    job = services.create_job(factory(), "J")
    services.hire_trainer(factory(), job, "A", "a@example.com", MilestoneDraft("M", Money(100)))


def test_failing_card_makes_the_plan_past_due_and_gates_hiring(factory, gateway, sandbox):
    plans = agency(factory, gateway)
    subscriptions.subscribe(factory(), plans[0], "test")
    w = worker(factory, gateway)
    w.run_once()
    row, _ = state(factory)
    failing = billing.add_test_card(factory, gateway, "pm_card_chargeCustomerFail")
    billing.set_default(factory, gateway, failing.id)
    sandbox.renew_subscription(row.stripe_subscription_id)
    w.run_once(reconcile=True)
    _, status = state(factory)
    assert status is SubscriptionStatus.PAST_DUE
    job = services.create_job(factory(), "J")
    with pytest.raises(PlanRequired, match="plan is past due"):
        services.hire_trainer(factory(), job, "A", "a@example.com",
                              MilestoneDraft("M", Money(100)))


def test_change_cancel_at_period_end_and_resume(factory, gateway, sandbox):
    plans = agency(factory, gateway)
    subscriptions.subscribe(factory(), plans[0], "test")
    w = worker(factory, gateway)
    w.run_once()
    subscriptions.change_plan(factory(), plans[2], "test")
    w.run_once()
    row, _ = state(factory)
    assert row.plan_name == "Agency Pro" and row.amount_cents == 14900
    subscriptions.cancel_at_period_end(factory(), "test")
    w.run_once()
    row, status = state(factory)
    assert row.cancel_at_period_end and status is SubscriptionStatus.ACTIVE
    subscriptions.resume(factory(), "test")
    w.run_once()
    row, _ = state(factory)
    assert not row.cancel_at_period_end
    subscriptions.cancel_at_period_end(factory(), "test")
    w.run_once()
    sandbox.renew_subscription(row.stripe_subscription_id)  # the period ends
    w.run_once(reconcile=True)
    _, status = state(factory)
    assert status is SubscriptionStatus.CANCELED


def test_one_plan_change_at_a_time_and_no_double_subscription(factory, gateway):
    plans = agency(factory, gateway)
    subscriptions.subscribe(factory(), plans[0], "test")
    with pytest.raises(subscriptions.SubscriptionError, match="already on its way"):
        subscriptions.subscribe(factory(), plans[1], "test")
    worker(factory, gateway).run_once()
    with pytest.raises(subscriptions.SubscriptionError, match="already has a plan"):
        subscriptions.subscribe(factory(), plans[1], "test")
    assert len(gateway.v1.subscriptions.list({"status": "all"}).data) == 1
