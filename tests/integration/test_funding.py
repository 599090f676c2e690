"""Funding through the outbox against the real emulator over HTTP."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.errors import ConcurrentChange
from opentrain_desk.domain.milestones import MilestoneDraft, MilestoneStatus
from opentrain_desk.domain.money import Money
from opentrain_desk.domain.operations import ErrorKind, OperationStatus
from opentrain_desk.payments.outbox import OutboxWorker
from opentrain_desk.persistence.orm import audit_log, stripe_operations
from opentrain_desk.services import billing, funding
from opentrain_desk.services import jobs as services
from opentrain_desk.services.funding import NoPaymentMethod
from opentrain_desk.services.workspace_settings import customer_key


def hire(factory, n=1, amount="1,250.00"):
    job_id = services.create_job(factory(), "Code review RLHF")
    hired = services.hire_trainer(factory(), job_id, "Ana Lima", "ana@example.com",
                                  MilestoneDraft("Batch 1", Money.parse(amount)))
    ids = [hired.milestone_id] + [
        services.add_milestone(factory(), hired.contract_id,
                               MilestoneDraft(f"Batch {i}", Money.parse(amount)))
        for i in range(2, n + 1)]
    return ids


def with_card(factory, gateway, card="pm_card_visa"):
    billing.add_test_card(factory, gateway, card)


def worker(factory, gateway, **kw):
    return OutboxWorker(factory, lambda: gateway, lease=timedelta(0), **kw)


def milestone(factory, milestone_id):
    with factory() as uow:
        return uow.milestones.get(milestone_id)


def operations(factory):
    with factory.engine.connect() as conn:
        return conn.execute(sa.select(stripe_operations)).all()


def intents(gateway, factory):
    with factory() as uow:
        customer = uow.settings.get(customer_key("test"))
    return list(gateway.v1.payment_intents.list({"customer": customer,
                                                 "limit": 100}).auto_paging_iter())


def test_funding_succeeds_once_with_references_and_audit(factory, gateway):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    op_id = funding.queue_funding(factory(), m_id, "test")
    assert milestone(factory, m_id).status is MilestoneStatus.FUNDING
    worker(factory, gateway).run_once()
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.ACTIVE_FUNDED
    assert m.payment_intent_id.startswith("pi_") and m.charge_id.startswith("ch_")
    [pi] = intents(gateway, factory)
    assert pi.amount == 125000 and pi.currency == "usd" and pi.status == "succeeded"
    assert pi.metadata["operation_id"] == op_id
    assert pi.metadata["milestone_id"] == str(m_id)
    assert {"job_id", "contract_id", "workspace_id"} <= set(pi.metadata.to_dict())
    with factory.engine.connect() as conn:
        actions = [r.action for r in conn.execute(
            sa.select(audit_log.c.action).where(audit_log.c.entity == "milestone"))]
    assert actions[-2:] == ["funding queued", "funded"]
    # nothing left to do: a second pass sends nothing
    worker(factory, gateway).run_once()
    assert len(intents(gateway, factory)) == 1


def test_two_clicks_on_fund_make_one_payment(factory, gateway):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    funding.queue_funding(factory(), m_id, "test")
    with pytest.raises(ConcurrentChange, match="Changed by owner@agency at .*is Funding now"):
        funding.queue_funding(factory(), m_id, "test")
    worker(factory, gateway).run_once()
    assert len(operations(factory)) == 1 and len(intents(gateway, factory)) == 1


def test_no_payment_method_is_a_clear_prompt(factory, gateway):
    [m_id] = hire(factory)
    with pytest.raises(NoPaymentMethod, match="Add a payment method"):
        funding.queue_funding(factory(), m_id, "test")
    assert milestone(factory, m_id).status is MilestoneStatus.NOT_FUNDED


def test_listing_cards_creates_no_stripe_customer(factory, gateway):
    assert billing.list_cards(factory, gateway) == []  # Settings opened on a new workspace
    assert gateway.v1.customers.list().data == []
    card = billing.add_test_card(factory, gateway, "pm_card_visa")
    assert [c.id for c in billing.list_cards(factory, gateway)] == [card.id]
    assert len(gateway.v1.customers.list().data) == 1


def test_declined_card_returns_to_not_funded_with_the_reason(factory, gateway):
    [m_id] = hire(factory)
    with_card(factory, gateway, "pm_card_chargeCustomerFail")
    funding.queue_funding(factory(), m_id, "test")
    worker(factory, gateway).run_once()
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.NOT_FUNDED
    assert "declined" in m.status_note.lower()
    [op] = operations(factory)
    assert op.status == OperationStatus.FAILED and op.error_kind == ErrorKind.DECLINED


def test_3ds_needs_action_then_completes_after_authentication(factory, gateway, sandbox):
    [m_id] = hire(factory)
    with_card(factory, gateway, "pm_card_authenticationRequired")
    funding.queue_funding(factory(), m_id, "test")
    w = worker(factory, gateway)
    w.run_once()
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.FUNDING and "Action needed" in m.status_note
    [op] = operations(factory)
    assert op.status == OperationStatus.NEEDS_ACTION
    pi = gateway.v1.payment_intents.retrieve(op.stripe_object_id)
    import requests
    requests.post(f"{sandbox.base_url}/v1/payment_intents/{pi.id}/_authenticate",
                  data={"client_secret": pi.client_secret, "success": "true"},
                  headers={"Authorization": f"Bearer {sandbox.api_key}"}, timeout=5)
    w.run_once(reconcile=True)  # "Sync now"
    assert milestone(factory, m_id).status is MilestoneStatus.ACTIVE_FUNDED
    assert len(intents(gateway, factory)) == 1


def test_stripe_down_mid_queue_then_everything_succeeds_once(factory, gateway, sandbox):
    ids = hire(factory, n=3)
    with_card(factory, gateway)
    sandbox.stop()
    for m_id in ids:
        funding.queue_funding(factory(), m_id, "test")
    w = worker(factory, gateway)
    w.run_once()
    assert w.state.online is False
    ops = operations(factory)
    assert all(op.status == OperationStatus.QUEUED for op in ops)
    assert any(op.error_kind == ErrorKind.NETWORK for op in ops)
    # a queued funding that never reached Stripe can be cancelled
    funding.cancel_funding(factory(), ids[2])
    assert milestone(factory, ids[2]).status is MilestoneStatus.NOT_FUNDED
    sandbox.start()
    with factory() as uow:  # retry times have passed
        for op in uow.operations.with_status(OperationStatus.QUEUED):
            op.next_attempt_at = None
        uow.commit()
    w.run_once()
    assert w.state.online is True
    assert [milestone(factory, i).status for i in ids] == [
        MilestoneStatus.ACTIVE_FUNDED, MilestoneStatus.ACTIVE_FUNDED, MilestoneStatus.NOT_FUNDED]
    assert len(intents(gateway, factory)) == 2


@pytest.mark.parametrize("status, code", [(500, None), (503, None), (429, "lock_timeout"),
                                          (429, "rate_limit")])
def test_server_errors_are_retried_with_the_same_key(factory, gateway, sandbox, status, code):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    funding.queue_funding(factory(), m_id, "test")
    sandbox.inject_fault("/v1/payment_intents", status=status, count=1, code=code,
                         method="POST")
    keys = []
    w = worker(factory, gateway, after_send=lambda op, _r: keys.append(op.idempotency_key))
    w.run_once()
    assert milestone(factory, m_id).status is MilestoneStatus.FUNDING
    with factory() as uow:
        for op in uow.operations.with_status(OperationStatus.QUEUED, OperationStatus.SENDING):
            op.next_attempt_at = None
        uow.commit()
    w.run_once()
    assert milestone(factory, m_id).status is MilestoneStatus.ACTIVE_FUNDED
    assert len(keys) == 2 and keys[0] == keys[1]
    assert len(intents(gateway, factory)) == 1


def test_timeout_is_reconciled_not_resent(factory, sandbox):
    from opentrain_desk.payments.stripe_gateway import StripeGateway
    slow = StripeGateway(sandbox.api_key, base_url=sandbox.base_url, timeout=0.5, mode="test")
    [m_id] = hire(factory)
    billing.add_test_card(factory, slow, "pm_card_visa")
    funding.queue_funding(factory(), m_id, "test")
    sandbox.inject_fault("/v1/payment_intents", delay=1.0, count=1, method="POST")
    w = worker(factory, slow)
    w.run_once()
    [op] = operations(factory)
    assert op.status == OperationStatus.SENDING and op.error_kind == ErrorKind.TIMEOUT
    with factory() as uow:  # let the settle time pass
        uow.operations.get(op.id).next_attempt_at = None
        uow.commit()
    import time
    time.sleep(1.0)  # the emulator finishes the delayed request it already received
    w.run_once()
    assert milestone(factory, m_id).status is MilestoneStatus.ACTIVE_FUNDED
    assert len(intents(slow, factory)) == 1  # found by metadata, not charged again
